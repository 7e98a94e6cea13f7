"""SQLite, the embedded default, has no row security: the database hands any tenant's rows to raw SQL.

So on SQLite the ORM layer alone keeps tenants apart, and these tests show that it does for every
tenant table. tests/test_isolation_postgres.py holds the database-level tests for PostgreSQL.
"""
import pytest
import sqlalchemy as sa
from flask_migrate import upgrade

from saas import create_app
from saas.core import tenancy
from saas.extensions import db
from saas.testing.core import database_only, make_settings
from saas.testing.isolation import BINDS, synthetic_row, tenant_scoped_mappers, tenant_tables

A, B = 2_000_001, 2_000_002   # tenant ids used only in this module's own databases

pytestmark = database_only("sqlite", "what SQLite, without row security, does with raw SQL")


@pytest.fixture(scope="module")
def seeded_app(tmp_path_factory, pg_server, redis_server):
    """Own database files with one row of tenants A and B in every tenant table, written by raw SQL."""
    app = create_app(make_settings(tmp_path_factory, pg_server, redis_server, name="saas_isolation"))
    with app.app_context():
        upgrade()
        for bind in BINDS:
            with db.engines[bind].begin() as conn:
                for table in tenant_tables(bind):
                    conn.execute(table.insert(), [synthetic_row(table, A), synthetic_row(table, B)])
        yield app
        db.session.remove()
        tenancy.set_tenant(None)


def test_raw_sql_on_sqlite_sees_every_tenant(seeded_app):
    """The reason the ORM layer must fail closed here: nothing below it separates tenants."""
    seen = {}
    for bind in BINDS:
        with db.engines[bind].connect() as conn:
            for table in tenant_tables(bind):
                seen[table.name] = sorted(conn.execute(sa.select(table.c.tenant_id)).scalars())
    assert seen and set(map(tuple, seen.values())) == {(A, B)}


@pytest.mark.parametrize("tenant_id", [A, B])
def test_orm_returns_only_the_current_tenants_rows_of_every_tenant_model(seeded_app, tenant_id):
    tenancy.set_tenant(tenant_id)
    try:
        seen = {m.class_.__name__: [row.tenant_id for row in db.session.scalars(sa.select(m.class_))]
                for m in tenant_scoped_mappers()}
    finally:
        db.session.rollback()
        tenancy.set_tenant(None)
    assert seen == {m.class_.__name__: [tenant_id] for m in tenant_scoped_mappers()}


def test_orm_bulk_update_and_delete_touch_only_the_current_tenant(seeded_app):
    tenancy.set_tenant(A)
    try:
        counts = {}
        for mapper in tenant_scoped_mappers():
            model = mapper.class_
            updated = db.session.execute(sa.update(model).values(tenant_id=model.tenant_id)).rowcount
            deleted = db.session.execute(sa.delete(model)).rowcount
            counts[model.__name__] = (updated, deleted)
    finally:
        db.session.rollback()
        tenancy.set_tenant(None)
    assert counts == {m.class_.__name__: (1, 1) for m in tenant_scoped_mappers()}
