"""Layer 3 of tenant isolation: PostgreSQL row-level security, forced even for the table owner.

Run after every migration (migrations/env.py): each table with a `tenant_id` column gets RLS with
FORCE and one policy; the application role (not the owner, no BYPASSRLS) gets only the rights it needs.
"""
from __future__ import annotations

import sqlalchemy as sa

POLICY = "tenant_isolation"
TENANT_EXPR = "NULLIF(current_setting('app.tenant_id', true), '')::int"
APPEND_ONLY = ("audit_entry",)


def tenant_tables(connection) -> list[str]:
    rows = connection.execute(sa.text(
        "SELECT table_name FROM information_schema.columns "
        "WHERE table_schema = 'public' AND column_name = 'tenant_id' ORDER BY table_name"
    ))
    return [r[0] for r in rows]


def _has_policy(connection, table: str) -> bool:
    return connection.execute(
        sa.text("SELECT 1 FROM pg_policies WHERE schemaname = 'public' AND tablename = :t AND policyname = :p"),
        {"t": table, "p": POLICY},
    ).first() is not None


def _role_exists(connection, role: str) -> bool:
    return connection.execute(sa.text("SELECT 1 FROM pg_roles WHERE rolname = :r"), {"r": role}).first() is not None


def ensure(connection, app_role: str) -> list[str]:
    """Idempotent: enable and force RLS with a policy on every tenant table, then grant the app role."""
    if connection.dialect.name != "postgresql":
        return []
    tables = tenant_tables(connection)
    for table in tables:
        connection.execute(sa.text(f'ALTER TABLE "{table}" ENABLE ROW LEVEL SECURITY'))
        connection.execute(sa.text(f'ALTER TABLE "{table}" FORCE ROW LEVEL SECURITY'))
        if not _has_policy(connection, table):
            connection.execute(sa.text(
                f'CREATE POLICY {POLICY} ON "{table}" '
                f"USING (tenant_id = {TENANT_EXPR}) WITH CHECK (tenant_id = {TENANT_EXPR})"
            ))
    _append_only_triggers(connection)
    if _role_exists(connection, app_role):
        _grant(connection, app_role)
    return tables


def _append_only_triggers(connection) -> None:
    connection.execute(sa.text(
        "CREATE OR REPLACE FUNCTION saas_refuse_change() RETURNS trigger LANGUAGE plpgsql AS $$ "
        "BEGIN RAISE EXCEPTION 'table % is append-only', TG_TABLE_NAME; END $$"
    ))
    existing = {r[0] for r in connection.execute(sa.text("SELECT tablename FROM pg_tables WHERE schemaname='public'"))}
    for table in APPEND_ONLY:
        if table in existing:
            connection.execute(sa.text(f'DROP TRIGGER IF EXISTS append_only ON "{table}"'))
            connection.execute(sa.text(
                f'CREATE TRIGGER append_only BEFORE UPDATE OR DELETE ON "{table}" '
                "FOR EACH ROW EXECUTE FUNCTION saas_refuse_change()"
            ))


def _grant(connection, role: str) -> None:
    connection.execute(sa.text(f'GRANT USAGE ON SCHEMA public TO "{role}"'))
    connection.execute(sa.text(f'GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO "{role}"'))
    connection.execute(sa.text(f'GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA public TO "{role}"'))
    existing = {r[0] for r in connection.execute(sa.text("SELECT tablename FROM pg_tables WHERE schemaname='public'"))}
    for table in set(APPEND_ONLY) & existing:
        connection.execute(sa.text(f'REVOKE UPDATE, DELETE, TRUNCATE ON "{table}" FROM "{role}"'))
    connection.execute(sa.text(f'REVOKE ALL ON alembic_version FROM "{role}"'))


def set_tenant_sql() -> str:
    return "SELECT set_config('app.tenant_id', :tid, true)"
