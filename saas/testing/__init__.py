"""The test suite's pytest plugin (`saas.testing.plugin`), its fixtures and helpers.

Used only by the tests (the repository's conftest.py loads the plugin); the application never imports it.
"""
