"""seals feature."""
