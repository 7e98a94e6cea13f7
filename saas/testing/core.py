"""The core fixtures: real PostgreSQL (RLS, non-owner app role) or SQLite, a real Redis, the app.

SAAS_TEST_DB=sqlite|postgresql picks the database; `make test` runs both. Under pytest-xdist every worker
is a session of its own: it starts its own throwaway PostgreSQL and Redis (or, with SAAS_TEST_PG_ADMIN_URL /
SAAS_TEST_REDIS_URL, uses its own databases and Redis database on the running servers; see `services`).
"""
from __future__ import annotations

import os
import uuid

import pytest

from saas import create_app
from saas.config import Settings
from saas.core import clock, tenancy
from saas.extensions import db
from saas.testing import services

DATABASES = {"sqlite": "SQLite", "postgresql": "PostgreSQL"}
DB_KIND = os.environ.get("SAAS_TEST_DB", "sqlite")
if DB_KIND not in DATABASES:
    raise RuntimeError(f"SAAS_TEST_DB must be sqlite or postgresql, not {DB_KIND!r}")


def database_only(kind: str, why: str) -> pytest.MarkDecorator:
    """Mark a test (or a module, as `pytestmark`) that exists for one database only: the other database's
    run reports it as skipped, with `why`, instead of not seeing it at all."""
    if kind not in DATABASES:
        raise ValueError(f"no such test database: {kind!r}")
    return pytest.mark.skipif(DB_KIND != kind, reason=f"{DATABASES[kind]} only: {why}")


@pytest.fixture(scope="session")
def redis_server():
    server = services.start_redis()
    yield server
    server.stop()


@pytest.fixture(scope="session")
def pg_server():
    if DB_KIND != "postgresql":
        yield None
        return
    server = services.start_postgres()
    yield server
    server.stop()


def make_settings(tmp_path_factory, pg_server, redis_server, name="saas_test") -> Settings:
    instance = tmp_path_factory.mktemp("instance")
    urls = services.create_databases(pg_server, services.per_worker(name)) if pg_server else {}
    return Settings.from_env(
        env="testing", testing=True, instance_path=instance, redis_url=redis_server.url,
        master_key="", master_key_file=str(instance / "master.key"),
        argon2_time_cost=1, argon2_memory_cost=1024, **urls,
    )


@pytest.fixture(scope="session")
def settings(tmp_path_factory, pg_server, redis_server) -> Settings:
    return make_settings(tmp_path_factory, pg_server, redis_server)


@pytest.fixture(scope="session")
def app(settings):
    from flask_migrate import upgrade

    application = create_app(settings)
    application.config["WTF_CSRF_ENABLED"] = True
    with application.app_context():
        upgrade()
    return application


@pytest.fixture()
def ctx(app):
    """An app context with a clean tenant and clock; the session is closed afterwards."""
    with app.app_context():
        tenancy.set_tenant(None)
        yield app
        db.session.rollback()
        db.session.close()
        tenancy.set_tenant(None)
        clock.set_now(None)


@pytest.fixture()
def make_tenant(ctx):
    from saas.modules.tenants import operations

    def _make(slug: str | None = None, **fields):
        slug = slug or f"t-{uuid.uuid4().hex[:8]}"
        fields.setdefault("name", slug.title())
        fields.setdefault("plugins", [])
        tenancy.set_tenant(None)
        tenant, _ = operations.upsert(slug, **fields)
        db.session.commit()
        return tenant

    return _make


@pytest.fixture()
def as_tenant(ctx):
    """Switch the context to a tenant between transactions, as requests and jobs do."""

    def _as(tenant):
        db.session.commit()
        tenancy.set_tenant(tenant.id if tenant is not None else None)

    yield _as
