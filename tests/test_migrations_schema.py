"""The migrations build exactly the models' schema, in both databases, and can be undone and redone."""
import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from flask_migrate import downgrade, upgrade
from sqlalchemy.pool import NullPool

from saas import create_app
from saas.extensions import db
from saas.testing.core import database_only, make_settings


BINDS = (None, "keys")


@pytest.fixture(scope="module")
def fresh_app(tmp_path_factory, pg_server, redis_server):
    """Own, empty databases: these tests take the schema down to nothing."""
    app = create_app(make_settings(tmp_path_factory, pg_server, redis_server, name="saas_migrations"))
    with app.app_context():
        yield app
        db.session.remove()
        for engine in db.engines.values():
            engine.dispose()


def _owner_url(app, bind) -> str:
    settings = app.extensions["saas.settings"]
    return settings.keys_database_owner_url if bind == "keys" else settings.database_owner_url


def schema_differences(app, bind) -> list:
    """What alembic's autogenerate would still change to make the database match the models."""
    engine = sa.create_engine(_owner_url(app, bind), poolclass=NullPool)
    try:
        with engine.connect() as conn:
            options = {"compare_type": True, "compare_server_default": True}
            return compare_metadata(MigrationContext.configure(conn, opts=options), db.metadatas[bind])
    finally:
        engine.dispose()


def table_names(app, bind) -> set[str]:
    engine = sa.create_engine(_owner_url(app, bind), poolclass=NullPool)
    try:
        return set(sa.inspect(engine).get_table_names()) - {"alembic_version"}
    finally:
        engine.dispose()


def test_upgrade_gives_exactly_the_models_schema(fresh_app):
    upgrade()
    for bind in BINDS:
        assert table_names(fresh_app, bind) == set(db.metadatas[bind].tables)
        assert schema_differences(fresh_app, bind) == []


def test_downgrade_to_base_then_upgrade_again(fresh_app):
    upgrade()
    downgrade(revision="base")
    assert {bind: table_names(fresh_app, bind) for bind in BINDS} == {None: set(), "keys": set()}
    upgrade()
    for bind in BINDS:
        assert schema_differences(fresh_app, bind) == []


@database_only("postgresql", "row-level security is PostgreSQL's")
def test_upgrade_after_downgrade_restores_row_security(fresh_app):
    from saas.core import rls

    upgrade()
    downgrade(revision="base")
    upgrade()
    for bind in BINDS:
        engine = sa.create_engine(_owner_url(fresh_app, bind), poolclass=NullPool)
        with engine.connect() as conn:
            tables = rls.tenant_tables(conn)
            secured = conn.execute(sa.text(
                "SELECT c.relname FROM pg_class c JOIN pg_policies p ON p.tablename = c.relname "
                "WHERE c.relrowsecurity AND c.relforcerowsecurity AND p.policyname = :p"
            ), {"p": rls.POLICY}).scalars().all()
        engine.dispose()
        assert tables and sorted(secured) == tables
