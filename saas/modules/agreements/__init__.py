"""agreements feature."""
