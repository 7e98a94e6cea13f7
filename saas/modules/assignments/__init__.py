"""assignments feature."""
