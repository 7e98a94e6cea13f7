"""Statements over thousands of rows at once (retention sweeps, bulk erasure): a few statements per batch,
never one per row.

On PostgreSQL ids travel as one array parameter (`= ANY(:ids)`) and new rows as one array per column
(`INSERT ... SELECT * FROM unnest(...)`): an IN list or a multi-row VALUES has a placeholder per value,
which SQLAlchemy compiles and psycopg parses again for every batch, and psycopg runs an executemany as one
statement per row. The arrays are sent as array literals built here: psycopg's own list adaptation checks
every element with a regular expression, which cost more than the rest of a sweep's Python.
SQLite gets the plain IN list and executemany, which its driver runs in C.
All of it goes through the session, so the tenant filter, the tenant of the transaction and row-level
security apply as to any other statement.
"""
from __future__ import annotations

import json
from collections.abc import Sequence

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql

from saas.extensions import db


def _dialect(model=None):
    return db.session.get_bind(mapper=sa.inspect(model) if model is not None else None).dialect


def id_in(column, ids: Sequence):
    """`column IN (ids)`, as one array on PostgreSQL. The array is written into the statement as a constant
    (`= ANY('{...}'::uuid[])`), not bound: under row-level security a condition may only drive an index
    scan when it is leakproof, and the cast of a bound text parameter is not (a prepared statement's
    generic plan would then read every row of the tenant); a constant is cast once, while planning."""
    if _dialect(getattr(column, "class_", None)).name == "postgresql":
        literal = sa.bindparam(None, array_literal(ids, column.type), type_=sa.Text, literal_execute=True)
        return column == sa.any_(sa.cast(literal, postgresql.ARRAY(column.type)))
    return column.in_(ids)


def insert_rows(model, rows: list[dict], *, skip_existing: bool = False, connection=None) -> None:
    """Insert plain rows (dicts with the same keys) of a mapped class in one statement (PostgreSQL) or
    one executemany. Column defaults are not applied: give every value. `skip_existing` leaves out rows
    that would break a unique constraint (ON CONFLICT DO NOTHING / INSERT OR IGNORE) instead of failing.
    `connection` runs it there instead of through the session (inside a flush, where the session may not)."""
    if not rows:
        return
    table, mapper = model.__table__, sa.inspect(model)
    dialect = connection.dialect if connection is not None else _dialect(model)

    def execute(statement, params):
        if connection is not None:
            return connection.execute(statement, params)
        return db.session.execute(statement, params, bind_arguments={"mapper": mapper})

    if dialect.name != "postgresql":
        execute(sa.insert(table).prefix_with("OR IGNORE") if skip_existing else sa.insert(table), rows)
        return
    columns = list(rows[0])
    casts = ", ".join(f"CAST(:{name} AS {table.c[name].type.compile(dialect=dialect)}[])" for name in columns)
    names = ", ".join(f'"{name}"' for name in columns)
    params = {name: array_literal([row[name] for row in rows], table.c[name].type) for name in columns}
    conflict = " ON CONFLICT DO NOTHING" if skip_existing else ""
    execute(sa.text(f'INSERT INTO "{table.name}" ({names}) SELECT * FROM unnest({casts}){conflict}'), params)


def array_literal(values: Sequence, column_type=None) -> str:
    """A PostgreSQL array literal ('{a,"b c",NULL}') of plain values of one column type (a UUID column
    when None). The text of each value is made by one converter per column, chosen once; values that
    repeat (a policy name, the decision time) are converted once."""
    convert = _converter(column_type)
    if column_type is not None and not isinstance(column_type, (sa.Uuid, sa.JSON)):
        convert = _remembering(convert)
    return "{" + ",".join(["NULL" if value is None else convert(value) for value in values]) + "}"


def _remembering(convert):
    seen: dict = {}

    def converted(value):
        text = seen.get(value)
        if text is None:
            text = seen[value] = convert(value)
        return text

    return converted


def _quote(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _converter(column_type):
    """Values that never need quoting in an array literal (digits, hex, ISO dates) are written as they are."""
    if column_type is None or isinstance(column_type, sa.Uuid):
        return lambda value: value.hex
    if isinstance(column_type, sa.Boolean):
        return lambda value: "t" if value else "f"
    if isinstance(column_type, sa.Integer):
        return str
    if isinstance(column_type, (sa.DateTime, sa.Date)):
        return lambda value: value.isoformat()
    if isinstance(column_type, sa.JSON):
        return lambda value: _quote(json.dumps(value, separators=(",", ":")))
    if isinstance(column_type, sa.LargeBinary):
        return lambda value: _quote("\\x" + value.hex())
    return lambda value: _quote(str(value))


CHUNK = 5000   # ids per statement (an array on PostgreSQL; SQLite allows 32,766 parameters)


def chunks(ids: Sequence, size: int = CHUNK):
    for start in range(0, len(ids), size):
        yield ids[start:start + size]


def forget_loaded(model, ids, *, expunge: bool = False) -> None:
    """Loaded objects of rows changed by a bulk statement: expired (read again) or, when deleted, dropped."""
    wanted = set(ids)
    for key, obj in list(db.session.identity_map.items()):
        if key[0] is model and key[1][0] in wanted:   # by identity key: reading an expired row would load it
            if expunge:
                db.session.expunge(obj)
            else:
                db.session.expire(obj)
