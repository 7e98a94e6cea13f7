"""Helpers for the isolation tests: find every tenant table and write a row into it without the app.

Rows are made from the table definition alone (types, NOT NULL, CHECK ... IN (...)), so a table a
feature adds later is covered without touching these tests.
"""
from __future__ import annotations

import re
import uuid
from datetime import date, datetime, timezone

import sqlalchemy as sa

from saas.core.tenancy import TenantScoped
from saas.extensions import db

BINDS = (None, "keys")
_CHECK_IN = re.compile(r"\(?(\w+)\)?\s+IN\s*\(\s*'([^']*)'", re.IGNORECASE)


def tenant_tables(bind: str | None) -> list[sa.Table]:
    """Tables of one database (None: main, "keys": key store) that have a tenant_id column."""
    tables = db.metadatas[bind].sorted_tables
    return [t for t in tables if "tenant_id" in t.c]


def tenant_scoped_mappers() -> list:
    return [m for m in db.Model.registry.mappers if issubclass(m.class_, TenantScoped)]


def allowed_values(table: sa.Table) -> dict[str, str]:
    """First allowed value of columns restricted by `CHECK (col IN ('a', ...))`."""
    found = {}
    for constraint in table.constraints:
        if isinstance(constraint, sa.CheckConstraint):
            match = _CHECK_IN.search(str(constraint.sqltext))
            if match:
                found.setdefault(match.group(1), match.group(2))
    return found


def _value_for(column: sa.Column):
    if isinstance(column.type, sa.JSON):
        return {}
    python_type = column.type.python_type
    if python_type is str:
        length = getattr(column.type, "length", None) or 32
        return uuid.uuid4().hex[:length]
    if python_type is bool:
        return False
    if python_type is int:
        return uuid.uuid4().int % 1_000_000 + 1
    if python_type is float:
        return 1.0
    if python_type is bytes:
        return b"\x01" + uuid.uuid4().bytes
    if python_type is uuid.UUID:
        return uuid.uuid4()
    if python_type is datetime:
        return datetime(2024, 1, 1, tzinfo=timezone.utc)
    if python_type is date:
        return date(2024, 1, 1)
    raise TypeError(f"no test value for {column.table.name}.{column.name} ({column.type})")


def _needs_value(table: sa.Table, column: sa.Column) -> bool:
    if column is table.autoincrement_column or column.server_default is not None or column.default is not None:
        return False  # the database or SQLAlchemy's Core insert fills it
    return column.primary_key or not column.nullable


def synthetic_row(table: sa.Table, tenant_id: int) -> dict:
    """Values for every column the database requires, with `tenant_id` set."""
    checked = allowed_values(table)
    row = {}
    for column in table.columns:
        if column.name == "tenant_id":
            row[column.name] = tenant_id
        elif column.name in checked:
            row[column.name] = checked[column.name]
        elif _needs_value(table, column):
            row[column.name] = _value_for(column)
    return row
