"""The project's pytest plugin: every fixture, the markers, and the choice of database.

The repository's conftest.py loads it (`pytest_plugins = ["saas.testing.plugin"]`), so the tests under
tests/ and beside each sector plugin (plugins/<sector>/tests/) share one set of fixtures.

Markers (declared in pyproject.toml):
- `slow`: starts something: an RQ worker or another subprocess, a live HTTP server, a browser.
  `make test-fast` leaves them out (`-m "not slow"`). A test that uses one of SLOW_FIXTURES, or is marked
  `browser`, is marked `slow` here, so a new worker or browser test lands in the right lane by itself.
- `browser`: runs headless Chromium.
- one database only: `saas.testing.core.database_only("postgresql", why)`, a skipif with its reason.
"""
from __future__ import annotations

import pkgutil

import pytest

import saas.testing

# The helper modules (records, signing, ...) get pytest's assert messages too, as the fixture modules do
# by being plugins: registered before any of them is imported (this module and the package already are).
pytest.register_assert_rewrite(*(f"saas.testing.{m.name}" for m in pkgutil.iter_modules(saas.testing.__path__)
                                 if m.name != "plugin"))

from saas.testing.core import DB_KIND  # noqa: E402

pytest_plugins = [
    "saas.testing.core",
    "saas.testing.fixtures_web",
    "saas.testing.fixtures_jobs",
    "saas.testing.fixtures_api",
    "saas.testing.fixtures_crypto",
    "saas.testing.fixtures_demo",
    "saas.testing.fixtures_plugins",
]

# Fixtures that start a process, a server or a browser: their tests are slow.
SLOW_FIXTURES = frozenset({"run_worker", "worker_env", "live_server"})


def pytest_report_header(config):
    return f"saas database: {DB_KIND}"


@pytest.hookimpl(tryfirst=True)  # before `-m` deselects by marker
def pytest_collection_modifyitems(config, items):
    for item in items:
        if item.get_closest_marker("slow") is None and (
                item.get_closest_marker("browser") is not None or SLOW_FIXTURES.intersection(item.fixturenames)):
            item.add_marker(pytest.mark.slow)
        if "demo_app" in item.fixturenames:
            # One xdist worker seeds the demo tenants (`--dist loadgroup`), not each of them.
            item.add_marker(pytest.mark.xdist_group("demo_app"))
