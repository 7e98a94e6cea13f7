"""Reads for backups: the tenant's rows in one snapshot, the erasure ledger, the backups on disk, the plan."""
from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import sqlalchemy as sa
from alembic.script import ScriptDirectory
from flask import current_app

from saas.core import bulk
from saas.core.crypto.models import RestrictedSubject, ShreddedSubject, SubjectKey
from saas.core.tenancy import require_tenant_id
from saas.extensions import db
from saas.modules.backups import archive

# The retention plan of a tenant's backups unless its tenant file says otherwise (`[backups]`).
DEFAULT_DAILY, DEFAULT_MONTHLY = 14, 6
MAX_DAILY, MAX_MONTHLY = 35, 6
# Whatever a plan says, no backup is kept longer than this: with 6 monthly backups the oldest is at most
# six months and a few days old (the erasure window of docs/operations.md).
MAX_AGE_DAYS = 190


@dataclass(frozen=True)
class Plan:
    daily: int = DEFAULT_DAILY
    monthly: int = DEFAULT_MONTHLY
    max_age_days: int = MAX_AGE_DAYS


@dataclass(frozen=True)
class BackupFile:
    path: Path
    manifest: dict
    size: int

    @property
    def created_at(self) -> datetime:
        return datetime.fromisoformat(self.manifest["created_at"])


# --- where and how long ------------------------------------------------------------------------------

def backups_root() -> Path:
    return Path(current_app.extensions["saas.settings"].instance_path) / "backups"


def tenant_folder(slug: str) -> Path:
    return backups_root() / slug


def plan_of(tenant) -> Plan:
    """The tenant's `[backups]` (stored in its settings by `saas tenants sync`), else the defaults."""
    own = (tenant.settings or {}).get("backups") or {}
    return Plan(daily=int(own.get("daily", DEFAULT_DAILY)), monthly=int(own.get("monthly", DEFAULT_MONTHLY)))


def list_backups(slug: str | None = None) -> list[BackupFile]:
    """Backups on disk, oldest first (of one tenant, or of all). Reads the headers only: no key needed."""
    root = backups_root()
    folders = [root / slug] if slug else sorted(p for p in root.glob("*") if p.is_dir()) if root.exists() else []
    found = []
    for folder in folders:
        for path in sorted(folder.glob(f"*{archive.SUFFIX}")):
            try:
                manifest = archive.manifest_of(path)
            except (archive.BackupError, ValueError, KeyError):
                manifest = {"created_at": "1970-01-01T00:00:00+00:00", "tenant_slug": folder.name, "damaged": True}
            found.append(BackupFile(path, manifest, path.stat().st_size))
    return sorted(found, key=lambda b: (b.manifest.get("tenant_slug", ""), b.created_at))


def schema_revision() -> list[str]:
    """The migration heads of the code (the app runs only on a database upgraded to them)."""
    return sorted(ScriptDirectory(current_app.extensions["migrate"].directory).get_heads())


# --- the tenant's rows ---------------------------------------------------------------------------------

def tenant_tables() -> list[sa.Table]:
    """Every table of the data database owned by a tenant, parents before children."""
    return [table for table in db.metadata.sorted_tables if "tenant_id" in table.c]


def snapshot(tenant_id: int) -> dict:
    """All rows of the tenant, read in one REPEATABLE READ transaction on PostgreSQL (one consistent
    snapshot) and one read transaction on SQLite (which sees one snapshot of the file as well)."""
    engine = db.engines[None]
    tables: dict[str, dict] = {}
    with engine.connect() as connection:
        if connection.dialect.name == "postgresql":
            connection = connection.execution_options(isolation_level="REPEATABLE READ", postgresql_readonly=True)
            connection.execute(sa.text("SELECT set_config('app.tenant_id', :tid, true)"), {"tid": str(tenant_id)})
        else:
            connection.exec_driver_sql("BEGIN")   # pysqlite starts no transaction for reads by itself
        try:
            for table in tenant_tables():
                columns = [column.name for column in table.columns]
                rows = connection.execute(sa.select(table).where(table.c.tenant_id == tenant_id)
                                          .order_by(*table.primary_key.columns))
                tables[table.name] = {"columns": columns, "rows": [list(row) for row in rows]}
        finally:
            connection.rollback()
    return tables


def current_rows(table: sa.Table) -> list[dict]:
    """The current tenant's rows of one table, as dicts (preserved tables of a restore)."""
    query = sa.select(table).where(table.c.tenant_id == require_tenant_id())
    return [dict(row._mapping) for row in db.session.execute(query)]


# --- the erasure ledger (key store) --------------------------------------------------------------------

def ledger_position() -> dict:
    """How far the tenant's erasure ledger was when a backup was made: counts and newest times."""
    shredded = db.session.execute(sa.select(sa.func.count(), sa.func.max(ShreddedSubject.shredded_at))).one()
    restricted = db.session.execute(sa.select(sa.func.count(), sa.func.max(RestrictedSubject.restricted_at))).one()
    return {"shredded": shredded[0], "last_shredded_at": _iso(shredded[1]),
            "restricted": restricted[0], "last_restricted_at": _iso(restricted[1])}


def _iso(moment: datetime | None) -> str | None:
    return None if moment is None else moment.isoformat()


def shredded_since(subject_ids: list[uuid.UUID]) -> dict[uuid.UUID, datetime]:
    """Of these subjects, those in the erasure ledger, with when their key went."""
    found: dict[uuid.UUID, datetime] = {}
    for chunk in bulk.chunks(subject_ids):
        found.update(db.session.execute(sa.select(ShreddedSubject.subject_id, ShreddedSubject.shredded_at)
                                        .where(bulk.id_in(ShreddedSubject.subject_id, chunk))).all())
    return found


def with_keys(subject_ids: list[uuid.UUID]) -> set[uuid.UUID]:
    """Of these subjects, those whose key is still in the key store."""
    found: set[uuid.UUID] = set()
    for chunk in bulk.chunks(subject_ids):
        found.update(db.session.scalars(sa.select(SubjectKey.subject_id)
                                        .where(bulk.id_in(SubjectKey.subject_id, chunk))))
    return found


def restricted_lines(subject_ids: list[uuid.UUID]) -> list[RestrictedSubject]:
    lines: list[RestrictedSubject] = []
    for chunk in bulk.chunks(subject_ids):
        lines.extend(db.session.scalars(sa.select(RestrictedSubject)
                                        .where(bulk.id_in(RestrictedSubject.subject_id, chunk))))
    return lines


def existing_keys(table: sa.Table, columns: list[str], values: set[tuple]) -> set[tuple]:
    """Which of these key tuples exist in a table that is not the tenant's own (users, tenants)."""
    if not values:
        return set()
    found: set[tuple] = set()
    cols = [table.c[name] for name in columns]
    for chunk in bulk.chunks(sorted(values, key=repr)):
        if len(cols) == 1:
            condition = cols[0].in_([value[0] for value in chunk])
        else:
            condition = sa.tuple_(*cols).in_(chunk)
        found.update(tuple(row) for row in db.session.execute(sa.select(*cols).where(condition)))
    return found
