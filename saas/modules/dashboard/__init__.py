"""The tenant dashboard: counts only, never personal data."""
