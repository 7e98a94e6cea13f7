"""Layer 3 of tenant isolation, in the database itself: PostgreSQL row-level security.

Raw SQL, run as the application role the app connects with, must keep tenants apart in every table
that has a `tenant_id`, in both databases (data and key store), whatever the ORM does. These tests
exist only on PostgreSQL; tests/test_isolation_sqlite.py states what SQLite (no row security) does.
"""
import pytest
import sqlalchemy as sa
from flask_migrate import upgrade
from sqlalchemy.orm import Session
from sqlalchemy.pool import NullPool

from saas import create_app
from saas.core import rls, tenancy
from saas.extensions import db
from saas.testing.core import database_only, make_settings
from saas.testing.isolation import BINDS, synthetic_row, tenant_tables

A, B = 2_000_001, 2_000_002   # tenant ids used only in this module's own databases
ROWS_EACH = 1   # some tables hold one row per tenant (their key is the tenant id)

pytestmark = database_only("postgresql", "row-level security is PostgreSQL's")


def _superuser_engine(pg_server, app_url: str) -> sa.Engine:
    database = sa.engine.make_url(app_url).database
    return sa.create_engine(sa.engine.make_url(pg_server.admin_url).set(database=database), poolclass=NullPool)


def _seed(pg_server, settings) -> None:
    """ROWS_EACH rows of tenants A and B in every tenant table, written past RLS by a superuser.
    Replica mode skips foreign-key triggers: the rows need no parents to prove isolation."""
    for bind, url in ((None, settings.database_url), ("keys", settings.keys_database_url)):
        engine = _superuser_engine(pg_server, url)
        with engine.begin() as conn:
            conn.exec_driver_sql("SET LOCAL session_replication_role = replica")
            for table in tenant_tables(bind):
                rows = [synthetic_row(table, tenant) for tenant in (A, B) for _ in range(ROWS_EACH)]
                conn.execute(table.insert(), rows)
        engine.dispose()


@pytest.fixture(scope="module")
def rls_app(tmp_path_factory, pg_server, redis_server):
    """Own databases, migrated as in production, so the seeded rows touch no other test."""
    settings = make_settings(tmp_path_factory, pg_server, redis_server, name="saas_isolation")
    app = create_app(settings)
    with app.app_context():
        upgrade()
        _seed(pg_server, settings)
        yield app
        db.session.remove()
        for engine in db.engines.values():
            engine.dispose()


def _set_tenant(conn, tenant_id) -> None:
    conn.execute(sa.text(rls.set_tenant_sql()), {"tid": "" if tenant_id is None else str(tenant_id)})


def _refusal(conn, statement, params=None) -> str | None:
    """Run a statement in a savepoint: the database's refusal, or None when it ran."""
    try:
        with conn.begin_nested():
            conn.execute(statement, params)
    except sa.exc.DBAPIError as exc:
        return str(exc.orig)
    return None


def _all_tenant_tables():
    return [(bind, table) for bind in BINDS for table in tenant_tables(bind)]


def test_both_databases_have_tenant_tables(rls_app):
    names = {bind: {t.name for t in tenant_tables(bind)} for bind in BINDS}
    assert "data_subject" in names[None]
    assert {"subject_key", "tenant_key"} <= names["keys"]


def test_every_table_with_tenant_id_has_forced_rls_and_a_tenant_policy(rls_app):
    problems = []
    for bind in BINDS:
        with db.engines[bind].connect() as conn:
            in_database = set(rls.tenant_tables(conn))
            modelled = {t.name for t in tenant_tables(bind)}
            if in_database != modelled:
                problems.append(f"{bind or 'main'}: tenant tables differ from the models: {in_database ^ modelled}")
            for table in sorted(in_database):
                enabled, forced = conn.execute(sa.text(
                    "SELECT c.relrowsecurity, c.relforcerowsecurity FROM pg_class c "
                    "JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = 'public' AND c.relname = :t"
                ), {"t": table}).one()
                policies = conn.execute(sa.text(
                    "SELECT cmd, roles, qual, with_check FROM pg_policies "
                    "WHERE schemaname = 'public' AND tablename = :t"
                ), {"t": table}).all()
                if not (enabled and forced):
                    problems.append(f"{table}: row security enabled={enabled} forced={forced}")
                if not any(_is_tenant_policy(*policy) for policy in policies):
                    problems.append(f"{table}: no tenant policy for all commands in {policies}")
    assert not problems


def _is_tenant_policy(cmd, roles, qual, with_check) -> bool:
    setting = "current_setting('app.tenant_id'::text, true)"
    return (cmd == "ALL" and list(roles) == ["public"]
            and all(expr and "tenant_id =" in expr and setting in expr for expr in (qual, with_check)))


def test_app_role_is_neither_owner_nor_superuser_nor_bypassrls(rls_app):
    settings = rls_app.extensions["saas.settings"]
    for bind in BINDS:
        with db.engines[bind].connect() as conn:
            role, superuser, bypass = conn.execute(sa.text(
                "SELECT rolname, rolsuper, rolbypassrls FROM pg_roles WHERE rolname = current_user"
            )).one()
            assert (role, superuser, bypass) == (settings.app_role, False, False)
            owned = conn.execute(sa.text(
                "SELECT tablename FROM pg_tables WHERE schemaname = 'public' "
                "AND pg_has_role(current_user, tableowner, 'USAGE')"
            )).scalars().all()
            assert owned == [], f"the app role owns (or can act as the owner of) {owned}"


@pytest.mark.parametrize("tenant_id", [A, B])
def test_app_role_sees_only_the_tenant_it_set_in_every_table(rls_app, tenant_id):
    seen = {}
    for bind, table in _all_tenant_tables():
        with db.engines[bind].connect() as conn, conn.begin():
            _set_tenant(conn, tenant_id)
            seen[table.name] = sorted(conn.execute(sa.select(table.c.tenant_id)).scalars())
    assert seen == {table.name: [tenant_id] * ROWS_EACH for _, table in _all_tenant_tables()}


@pytest.mark.parametrize("setting", [None, "unset"])
def test_app_role_sees_nothing_without_a_tenant(rls_app, setting):
    counts = {}
    for bind, table in _all_tenant_tables():
        with db.engines[bind].connect() as conn, conn.begin():
            if setting is None:
                _set_tenant(conn, None)   # set to empty, as the app does between tenants
            counts[table.name] = conn.execute(sa.select(sa.func.count()).select_from(table)).scalar()
    assert counts == {table.name: 0 for _, table in _all_tenant_tables()}


def test_app_role_cannot_insert_a_row_of_another_tenant(rls_app):
    refused = {}
    for bind, table in _all_tenant_tables():
        with db.engines[bind].connect() as conn, conn.begin():
            _set_tenant(conn, A)
            refused[table.name] = _refusal(conn, table.insert(), synthetic_row(table, B))
    not_refused = [name for name, why in refused.items() if "violates row-level security policy" not in (why or "")]
    assert not not_refused, {name: refused[name] for name in not_refused}


def test_app_role_cannot_move_its_rows_into_another_tenant(rls_app):
    refused = {}
    for bind, table in _all_tenant_tables():
        with db.engines[bind].connect() as conn, conn.begin():
            _set_tenant(conn, A)
            refused[table.name] = _refusal(conn, sa.update(table).values(tenant_id=B))
    expected = {name: ("permission denied" if name in rls.APPEND_ONLY else "violates row-level security policy")
                for name in refused}
    wrong = {name: why for name, why in refused.items() if expected[name] not in (why or "")}
    assert not wrong


def test_app_role_cannot_change_or_delete_another_tenants_rows(rls_app):
    touched = {}
    for bind, table in _all_tenant_tables():
        if table.name in rls.APPEND_ONLY:
            continue  # no UPDATE or DELETE for anyone: the test above shows it
        with db.engines[bind].connect() as conn, conn.begin():
            _set_tenant(conn, A)
            others = table.c.tenant_id == B
            updated = conn.execute(sa.update(table).where(others).values(tenant_id=A)).rowcount
            deleted = conn.execute(sa.delete(table).where(others)).rowcount
            touched[table.name] = (updated, deleted)
            conn.rollback()
    assert touched and set(touched.values()) == {(0, 0)}, touched


def test_tenant_setting_lasts_one_transaction_on_a_pooled_connection(rls_app):
    """The app sets the tenant with set_config(..., is_local => true): after commit the same
    connection, back in the pool, knows no tenant and sees no rows."""
    with db.engines[None].connect() as conn:
        with tenancy.tenant_context(A), Session(bind=conn) as session:
            setting = session.execute(sa.text("SELECT current_setting('app.tenant_id', true)")).scalar()
            visible = session.execute(sa.text("SELECT count(*) FROM data_subject")).scalar()
            session.commit()
        assert (setting, visible) == (str(A), ROWS_EACH)
        with conn.begin():
            after = conn.execute(sa.text("SELECT current_setting('app.tenant_id', true)")).scalar()
            visible_after = conn.execute(sa.text("SELECT count(*) FROM data_subject")).scalar()
        assert (after or "", visible_after) == ("", 0)
