"""Fixtures for the crypto tests."""
