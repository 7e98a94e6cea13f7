"""companies feature."""
