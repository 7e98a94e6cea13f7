"""Ready for a distributed PostgreSQL (Citus, docs/scaling.md): every tenant table is distributed by
`tenant_id`, and Citus requires the distribution column in every primary key, unique constraint and
foreign key of such a table.

A tenant table is any table with a `tenant_id` column (the same rule `saas.core.rls` uses for row-level
security); every other table must be named below as a reference table, with its reason. The checks walk
the metadata of both databases (data and key store) and, on PostgreSQL, the live catalog after the
migration, so a table a feature adds later is checked without touching this file. A failure names the
table and the constraint.
"""
from __future__ import annotations

import uuid

import pytest
import sqlalchemy as sa
from sqlalchemy.pool import NullPool

from saas.core.models import UuidPk, tenant_fk
from saas.core.tenancy import TenantScoped
from saas.extensions import db
from saas.testing.core import database_only
from saas.testing.isolation import BINDS, synthetic_row

# Platform tables: Citus reference tables (a copy on every node), so any tenant table may refer to them.
REFERENCE_TABLES = {
    None: {
        "tenant": "the tenants themselves: read by every request and job to find and configure its tenant",
        "user_account": "one login for memberships in several tenants",
        "recovery_code": "a user's two-factor recovery codes: belong to the login, not to a tenant",
        "password_reset": "a login's password reset links: belong to the login, not to a tenant",
    },
    "keys": {
        "platform_certificate": "the platform's root CA, which issues every tenant's seal certificate",
    },
}


# ---- the rules, over any list of tables (metadata or reflected catalog) ---------------------------------

def _columns(names) -> str:
    return "(" + ", ".join(names) + ")"


def key_problems(table: str, primary_key: list[str], uniques: list[tuple[str, list[str]]],
                 foreign_keys: list[dict], tenant_tables: set[str]) -> list[str]:
    """What keeps one tenant table from being distributed by tenant_id.
    `uniques`: (name, columns); `foreign_keys`: {name, columns, referred_table, referred_columns, ondelete}."""
    problems = []
    if "tenant_id" not in primary_key:
        problems.append(f"{table}: primary key {_columns(primary_key)} lacks tenant_id")
    for name, columns in uniques:
        if "tenant_id" not in columns:
            problems.append(f"{table}: unique {name} {_columns(columns)} lacks tenant_id")
    for fk in foreign_keys:
        if fk["referred_table"] not in tenant_tables:
            continue   # to a reference table: allowed
        pairs = dict(zip(fk["columns"], fk["referred_columns"]))
        if pairs.get("tenant_id") != "tenant_id":
            own = [c for c in fk["columns"] if c != "tenant_id"]
            fix = f'tenant_fk("{own[0]}", "{fk["referred_table"]}", ondelete=...)' if len(own) == 1 else "tenant_fk"
            problems.append(f"{table}: foreign key {fk['name']} {_columns(fk['columns'])} -> {fk['referred_table']}"
                            f"{_columns(fk['referred_columns'])} does not pair tenant_id with tenant_id; "
                            f"use {fix} in __table_args__ (saas.core.models)")
        ondelete = (fk.get("ondelete") or "").upper()
        if ondelete.startswith("SET NULL") and "(" not in ondelete:
            problems.append(f"{table}: foreign key {fk['name']} ON DELETE SET NULL would null tenant_id too: "
                            "name the column, SET NULL (x_id) (saas.core.models.tenant_fk does)")
    return problems


def reference_problems(table: str, foreign_keys: list[dict], tenant_tables: set[str]) -> list[str]:
    """A reference table is copied to every node: it cannot refer to a distributed table."""
    return [f"{table}: reference table's foreign key {fk['name']} refers to tenant table {fk['referred_table']}"
            for fk in foreign_keys if fk["referred_table"] in tenant_tables]


def metadata_facts(table: sa.Table) -> tuple[list[str], list[tuple[str, list[str]]], list[dict]]:
    primary_key = [c.name for c in table.primary_key.columns]
    # `unique=True` on a column is an (unnamed, without a naming convention) UniqueConstraint here too.
    uniques = [(str(c.name or "(unnamed)"), [col.name for col in c.columns]) for c in table.constraints
               if isinstance(c, sa.UniqueConstraint)]
    uniques += [(str(ix.name), [col.name for col in ix.columns]) for ix in table.indexes if ix.unique]
    foreign_keys = [{"name": str(fk.name), "columns": [c.name for c in fk.columns],
                     "referred_table": fk.referred_table.name,
                     "referred_columns": [e.column.name for e in fk.elements], "ondelete": fk.ondelete}
                    for fk in table.foreign_key_constraints]
    return primary_key, uniques, foreign_keys


def metadata_problems(tables: list[sa.Table], reference: set[str]) -> list[str]:
    tenant = {t.name for t in tables if "tenant_id" in t.c}
    problems = []
    for table in tables:
        primary_key, uniques, foreign_keys = metadata_facts(table)
        if table.name in tenant:
            problems += key_problems(table.name, primary_key, uniques, foreign_keys, tenant)
        elif table.name in reference:
            problems += reference_problems(table.name, foreign_keys, tenant)
        else:
            problems.append(f"{table.name}: no tenant_id and not a declared reference table (REFERENCE_TABLES)")
    return problems


# ---- the models --------------------------------------------------------------------------------------

@pytest.mark.parametrize("bind", BINDS, ids=["data", "keys"])
def test_every_key_of_every_tenant_table_has_tenant_id(ctx, bind):
    tables = db.metadatas[bind].sorted_tables
    assert metadata_problems(tables, set(REFERENCE_TABLES[bind])) == []


@pytest.mark.parametrize("bind", BINDS, ids=["data", "keys"])
def test_every_reference_table_exists(ctx, bind):
    """No stale entry: a reason is kept only for a table that is there."""
    assert set(REFERENCE_TABLES[bind]) <= set(db.metadatas[bind].tables)


def test_tenant_id_leads_the_primary_key_of_uuid_tables(ctx):
    """(tenant_id, id), in that order: the key's index serves every scan of one tenant."""
    wrong = [m.local_table.name for m in db.Model.registry.mappers
             if issubclass(m.class_, UuidPk) and issubclass(m.class_, TenantScoped)
             and [c.name for c in m.local_table.primary_key.columns] != ["tenant_id", "id"]]
    assert wrong == []


def test_the_orm_still_knows_a_row_by_its_id(ctx):
    """`db.session.get(Model, id)` and `get_or_404` take the id alone; UPDATE and DELETE name both columns."""
    wrong = [m.class_.__name__ for m in db.Model.registry.mappers
             if issubclass(m.class_, UuidPk) and [c.name for c in m.primary_key] != ["id"]]
    assert wrong == []


def test_the_checks_name_the_table_and_constraint_that_break_the_rule():
    """A table a feature might add with plain keys: every rule reports it."""
    metadata = sa.MetaData()
    sa.Table("parent", metadata, sa.Column("tenant_id", sa.Integer, primary_key=True),
             sa.Column("id", sa.Uuid, primary_key=True))
    sa.Table("platform", metadata, sa.Column("id", sa.Integer, primary_key=True),
             sa.Column("parent_id", sa.Uuid), sa.Column("tenant_id_ref", sa.Integer),
             sa.ForeignKeyConstraint(["tenant_id_ref", "parent_id"], ["parent.tenant_id", "parent.id"], name="fk_p"))
    sa.Table("child", metadata, sa.Column("id", sa.Uuid, primary_key=True),
             sa.Column("tenant_id", sa.Integer, nullable=False),
             sa.Column("code", sa.String(8), unique=True),
             sa.Column("parent_id", sa.Uuid), sa.Column("other_id", sa.Uuid),
             sa.ForeignKeyConstraint(["parent_id"], ["parent.id"], name="fk_child_parent"),
             sa.ForeignKeyConstraint(["tenant_id", "other_id"], ["parent.tenant_id", "parent.id"],
                                     name="fk_child_other", ondelete="SET NULL"),
             sa.Index("ix_child_pair", "parent_id", "other_id", unique=True))
    sa.Table("stray", metadata, sa.Column("id", sa.Integer, primary_key=True))
    problems = metadata_problems(metadata.sorted_tables, reference={"platform"})
    assert sorted(problems) == sorted([
        "child: primary key (id) lacks tenant_id",
        "child: unique (unnamed) (code) lacks tenant_id",
        "child: unique ix_child_pair (parent_id, other_id) lacks tenant_id",
        "child: foreign key fk_child_parent (parent_id) -> parent(id) does not pair tenant_id with tenant_id; "
        'use tenant_fk("parent_id", "parent", ondelete=...) in __table_args__ (saas.core.models)',
        "child: foreign key fk_child_other ON DELETE SET NULL would null tenant_id too: name the column, "
        "SET NULL (x_id) (saas.core.models.tenant_fk does)",
        "platform: reference table's foreign key fk_p refers to tenant table parent",
        "stray: no tenant_id and not a declared reference table (REFERENCE_TABLES)",
    ])


def test_tenant_fk_pairs_tenant_id_and_nulls_only_its_own_column():
    fk = tenant_fk("signer_id", "agreement_signer", ondelete="SET NULL")
    assert fk.column_keys == ["tenant_id", "signer_id"]
    assert [e.target_fullname for e in fk.elements] == ["agreement_signer.tenant_id", "agreement_signer.id"]
    assert fk.ondelete == "SET NULL (signer_id)"
    assert tenant_fk("agreement_id", "agreement", ondelete="CASCADE").ondelete == "CASCADE"


# ---- the live catalog after the migration (PostgreSQL) --------------------------------------------------

def _owner_engine(app, bind) -> sa.Engine:
    settings = app.extensions["saas.settings"]
    return sa.create_engine(settings.keys_database_owner_url if bind == "keys" else settings.database_owner_url,
                            poolclass=NullPool)


def catalog_problems(conn, reference: set[str]) -> list[str]:
    inspector = sa.inspect(conn)
    names = set(inspector.get_table_names()) - {"alembic_version"}
    tenant = {name for name in names if "tenant_id" in {c["name"] for c in inspector.get_columns(name)}}
    problems = []
    for name in sorted(names):
        foreign_keys = [{"name": fk["name"], "columns": fk["constrained_columns"],
                         "referred_table": fk["referred_table"], "referred_columns": fk["referred_columns"],
                         "ondelete": (fk.get("options") or {}).get("ondelete")}
                        for fk in inspector.get_foreign_keys(name)]
        if name not in tenant:
            problems += (reference_problems(name, foreign_keys, tenant) if name in reference
                         else [f"{name}: no tenant_id and not a declared reference table (REFERENCE_TABLES)"])
            continue
        uniques = [(u["name"], u["column_names"]) for u in inspector.get_unique_constraints(name)]
        uniques += [(ix["name"], ix["column_names"]) for ix in inspector.get_indexes(name) if ix["unique"]]
        primary_key = inspector.get_pk_constraint(name)["constrained_columns"]
        problems += key_problems(name, primary_key, uniques, foreign_keys, tenant)
    return problems


@database_only("postgresql", "the live catalog and ON DELETE SET NULL (column) are PostgreSQL's")
@pytest.mark.parametrize("bind", BINDS, ids=["data", "keys"])
def test_the_migrated_database_has_tenant_id_in_every_key(app, bind):
    engine = _owner_engine(app, bind)
    try:
        with engine.connect() as conn:
            assert catalog_problems(conn, set(REFERENCE_TABLES[bind])) == []
    finally:
        engine.dispose()


def _insert_with_parents(conn, table: sa.Table, tenant_id: int, **values) -> dict:
    """A row made from the table definition, with a parent row for every NOT NULL tenant foreign key."""
    row = synthetic_row(table, tenant_id) | {"id": uuid.uuid4()} | values
    for fk in table.foreign_key_constraints:
        own = [c for c in fk.columns if c.name != "tenant_id"]
        if fk.referred_table.name in ("user_account",) or len(own) != 1 or "tenant_id" not in fk.referred_table.c:
            continue
        if own[0].nullable and own[0].name not in values:
            row[own[0].name] = None
            continue
        if own[0].name not in values:
            parent = _insert_with_parents(conn, fk.referred_table, tenant_id)
            row[own[0].name] = parent["id"]
    conn.execute(table.insert(), row)
    return row


@database_only("postgresql", "SQLite does not enforce foreign keys here (the erasure clears links itself)")
def test_deleting_a_parent_nulls_only_the_link_and_keeps_the_tenant(app):
    """Every ON DELETE SET NULL between tenant tables, on the migrated database: the child keeps its row and
    its tenant_id, only the link column is cleared."""
    tenant_id = 2_100_001
    set_null = [(table, fk) for table in db.metadatas[None].sorted_tables for fk in table.foreign_key_constraints
                if "tenant_id" in table.c and (fk.ondelete or "").upper().startswith("SET NULL")]
    assert set_null, "no SET NULL foreign key between tenant tables to check"
    engine = _owner_engine(app, None)
    try:
        with engine.connect() as conn, conn.begin() as transaction:
            conn.execute(sa.text("SELECT set_config('app.tenant_id', :tid, true)"), {"tid": str(tenant_id)})
            for table, fk in set_null:
                link = next(c for c in fk.columns if c.name != "tenant_id")
                parent = _insert_with_parents(conn, fk.referred_table, tenant_id)
                child = _insert_with_parents(conn, table, tenant_id, **{link.name: parent["id"]})
                conn.execute(sa.delete(fk.referred_table).where(fk.referred_table.c.id == parent["id"]))
                left = conn.execute(sa.select(table.c.tenant_id, link).where(table.c.id == child["id"])).one()
                assert tuple(left) == (tenant_id, None), f"{table.name}.{link.name}"
            transaction.rollback()
    finally:
        engine.dispose()
