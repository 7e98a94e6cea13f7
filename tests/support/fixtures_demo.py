"""Fixtures for the demo tests."""
