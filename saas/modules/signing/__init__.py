"""signing feature."""
