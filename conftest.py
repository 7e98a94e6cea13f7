"""Loads the project's pytest plugin for every test: tests/ and plugins/<sector>/tests/ alike."""
pytest_plugins = ["saas.testing.plugin"]
