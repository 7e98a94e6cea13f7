"""Writes for backups: create one, prune by the plan, restore one (with the erasure ledger replayed first).

A restore is planned in full before anything is written, and written in one transaction:
1. who does not come back: everyone the erasure ledger (key store) names, erased before or after the backup
   was made (a purge a crash left half done: row deleted, key not yet, at backup time, included), and every
   subject whose ciphertext has no key left in the key store; with them every row that names them
   (CASCADE: the row goes, SET NULL: the link is cleared), as the one erasure path would;
2. what stays as it is now: the audit trail (append-only; the backup's lines only when the tenant has none),
   and the journals whose newer lines must survive: retention decisions, the suppression list and the mail
   outbox are the union of now and the backup (now wins on a clash);
3. stored files without their file in the storage folder, and rows whose reference would dangle, are left out;
4. then the rows are replaced, later restrictions are applied again (the erasure path's `restrict_ids`) and
   later "flag" decisions are set again; one audit line; one commit.
The key store is never written by a restore, except that a re-applied restriction renews its ledger line.
"""
from __future__ import annotations

import uuid
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta, timezone
from pathlib import Path

import sqlalchemy as sa
from flask import current_app

from saas.core import clock, transaction
from saas.core.errors import DomainError
from saas.core.tenancy import require_tenant_id
from saas.extensions import db
from saas.modules.audit import operations as audit
from saas.modules.backups import archive, queries
from saas.modules.backups.queries import BackupFile, Plan
from saas.modules.erasure import operations as erasure
from saas.modules.files.models import StoredFile
from saas.modules.retention import queries as retention_queries
from saas.modules.subjects.models import DataSubject

SUBJECT_TABLE = DataSubject.__tablename__
AUDIT_TABLES = ("audit_entry", "audit_head")
# Who may get in: a membership ended, a token revoked or an invitation withdrawn since the backup must not
# come back. Now's rows, or the backup's only when the tenant has none (its database was lost).
ACCESS_TABLES = ("membership", "api_token", "invitation", "signing_token", "signing_code")
UNION_TABLES = ("retention_decision", "suppression_entry")
UNION_PREFIXES = ("outbox",)
INSERT_CHUNK = 1000


class RestoreRefused(DomainError):
    """A restore that cannot be done as asked (wrong tenant, other schema, damaged file)."""


def _master():
    return current_app.extensions["saas.keyring"].master


# --- create ---------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Created:
    path: Path
    manifest: dict


def create_backup(tenant) -> Created:
    """A backup of the current tenant's rows, written under the instance folder (0600). Reads only."""
    tenant_id = require_tenant_id()
    if tenant.id != tenant_id:
        raise RestoreRefused("a backup is made as its own tenant")
    ledger = queries.ledger_position()     # before the snapshot: the position can only be behind it
    tables = queries.snapshot(tenant_id)
    now = clock.now().astimezone(timezone.utc)
    backup_id = uuid.uuid4().hex
    manifest = {
        "backup_id": backup_id, "tenant_id": tenant_id, "tenant_slug": tenant.slug,
        "created_at": now.isoformat(), "schema_revision": queries.schema_revision(),
        "tables": {name: len(table["rows"]) for name, table in tables.items()},
        "ledger": ledger, "stored_files": "not included (the storage folder has its own backup)",
    }
    data = archive.seal(_master(), manifest, {"tables": tables})
    path = queries.tenant_folder(tenant.slug) / f"{now:%Y%m%dT%H%M%SZ}-{backup_id[:8]}{archive.SUFFIX}"
    archive.write_file(path, data)
    return Created(path, manifest)


def verify(path: Path) -> dict:
    """MAC, header and a full decryption; returns the manifest. Raises archive.BackupError."""
    opened = archive.open_(_master(), Path(path).read_bytes())
    counts = {name: len(table["rows"]) for name, table in opened.payload["tables"].items()}
    if counts != opened.manifest["tables"]:
        raise archive.BackupError("the row counts do not match the manifest")
    return opened.manifest


# --- prune ----------------------------------------------------------------------------------------------

def to_keep(backups: list[BackupFile], today: date, plan: Plan) -> set[Path]:
    """The grandfather-father-son choice: the newest backup of each of the last `daily` days (today
    included), the first of each of the last `monthly` calendar months (this one included), the newest
    overall; never one older than `max_age_days`. Days are Amsterdam's, as `clock.today()`."""
    dated = sorted(((b.created_at.astimezone(clock.AMSTERDAM), b.path) for b in backups), key=lambda item: item[0])
    oldest_allowed = today - timedelta(days=plan.max_age_days)
    days = {today - timedelta(days=n) for n in range(plan.daily)}
    months = set()
    year, month = today.year, today.month
    for _ in range(plan.monthly):
        months.add((year, month))
        year, month = (year, month - 1) if month > 1 else (year - 1, 12)
    keep: set[Path] = set()
    newest_of_day: dict[date, Path] = {}
    first_of_month: dict[tuple[int, int], Path] = {}
    for moment, path in dated:
        newest_of_day[moment.date()] = path
        first_of_month.setdefault((moment.year, moment.month), path)
    keep.update(path for day, path in newest_of_day.items() if day in days)
    keep.update(path for key, path in first_of_month.items() if key in months)
    if dated:
        keep.add(dated[-1][1])
    return {path for moment, path in dated if path in keep and moment.date() >= oldest_allowed}


def prune(slug: str, plan: Plan, today: date | None = None) -> list[Path]:
    """Delete the tenant's backups the plan no longer keeps; returns them."""
    today = today or clock.today()
    backups = queries.list_backups(slug)
    keep = to_keep([b for b in backups if not b.manifest.get("damaged")], today, plan)
    removed = [b.path for b in backups if b.path not in keep]
    for path in removed:
        path.unlink(missing_ok=True)
    return removed


# --- restore --------------------------------------------------------------------------------------------

@dataclass
class RestorePlan:
    manifest: dict
    rows: dict[str, list[dict]] = field(default_factory=dict)        # what each table holds afterwards
    audit_rows: dict[str, list[dict]] = field(default_factory=dict)  # audit lines added (tenant had none)
    erased_after: list[uuid.UUID] = field(default_factory=list)      # in the ledger, erased after the backup
    erased_before: list[uuid.UUID] = field(default_factory=list)     # in the ledger before it, row still there
    keyless: list[uuid.UUID] = field(default_factory=list)           # key gone, no ledger line
    unfinished: list[uuid.UUID] = field(default_factory=list)        # purge decided, key not yet destroyed
    left_out: dict[str, int] = field(default_factory=dict)           # rows per table not restored
    kept_now: dict[str, int] = field(default_factory=dict)           # union tables: rows kept from now
    restrict_again: list[tuple[uuid.UUID, frozenset[str], str | None]] = field(default_factory=list)
    flag_again: dict[str, dict[uuid.UUID, date]] = field(default_factory=dict)

    @property
    def dropped_subjects(self) -> list[uuid.UUID]:
        return sorted({*self.erased_after, *self.erased_before, *self.keyless, *self.unfinished})

    def counts(self) -> dict[str, int]:
        return {name: len(rows) for name, rows in self.rows.items() if rows}


def plan_restore(tenant, path: Path) -> RestorePlan:
    """Everything a restore will do, decided before anything is written (the dry run shows it)."""
    try:
        opened = archive.open_(_master(), Path(path).read_bytes())
    except (archive.BackupError, OSError) as exc:
        raise RestoreRefused(f"cannot read the backup: {exc}") from None
    manifest = opened.manifest
    if manifest["tenant_id"] != tenant.id or manifest["tenant_slug"] != tenant.slug:
        raise RestoreRefused(f"the backup is of tenant {manifest['tenant_slug']!r} (id {manifest['tenant_id']}), "
                             f"not of {tenant.slug!r} (id {tenant.id}): its ciphertexts only open in their own tenant")
    if manifest["schema_revision"] != queries.schema_revision():
        raise RestoreRefused(f"the backup has schema revision {', '.join(manifest['schema_revision'])}, the "
                             f"database {', '.join(queries.schema_revision())}: restore it with the release "
                             "that made it, then upgrade")
    tables = {t.name: t for t in queries.tenant_tables()}
    backup_tables = opened.payload["tables"]
    for name, table in tables.items():
        stored = backup_tables.get(name, {"columns": [c.name for c in table.columns], "rows": []})
        if stored["columns"] != [c.name for c in table.columns]:
            raise RestoreRefused(f"table {name} has other columns in the backup than in the database")
    unknown = sorted(set(backup_tables) - set(tables))
    if unknown:
        raise RestoreRefused(f"the backup holds tables the database does not have: {', '.join(unknown)}")
    rows = {name: [dict(zip(backup_tables[name]["columns"], row)) for row in backup_tables[name]["rows"]]
            if name in backup_tables else [] for name in tables}
    plan = RestorePlan(manifest)
    _drop_erased(plan, rows, datetime.fromisoformat(manifest["created_at"]))
    _union_journals(plan, rows, tables)
    _drop_missing_files(plan, rows)
    _drop_dangling(plan, rows, tables)
    _later_decisions(plan, rows, datetime.fromisoformat(manifest["created_at"]))
    plan.rows = rows
    return plan


def _left_out(plan: RestorePlan, table: str, count: int) -> None:
    if count:
        plan.left_out[table] = plan.left_out.get(table, 0) + count


def _drop_erased(plan: RestorePlan, rows: dict[str, list[dict]], made_at: datetime) -> None:
    """Step 1: the erased and the keyless, and the rows naming them."""
    subject_ids = [row["id"] for row in rows[SUBJECT_TABLE]]
    ledger = queries.shredded_since(subject_ids)
    keyed = queries.with_keys(subject_ids)
    # A purge whose rows went but whose key did not yet (a killed sweep): `restore` finishes these first;
    # a dry run only counts them.
    pending = {subject_id for _, subject_id, _ in retention_queries.pending_purges(limit=10**9)}
    for row in rows[SUBJECT_TABLE]:
        subject_id = row["id"]
        if subject_id in pending and subject_id not in ledger:
            plan.unfinished.append(subject_id)
        elif subject_id in ledger:
            (plan.erased_after if _aware(ledger[subject_id]) > _aware(made_at) else plan.erased_before).append(subject_id)
        elif row["ciphertext"] is not None and subject_id not in keyed:
            plan.keyless.append(subject_id)
    dropped = set(plan.dropped_subjects)
    if not dropped:
        return
    before = len(rows[SUBJECT_TABLE])
    rows[SUBJECT_TABLE] = [row for row in rows[SUBJECT_TABLE] if row["id"] not in dropped]
    _left_out(plan, SUBJECT_TABLE, before - len(rows[SUBJECT_TABLE]))
    for model, column, rule in erasure.subject_dependents():
        name, key = model.__tablename__, column.property.columns[0].name
        if name not in rows:
            continue
        if rule == "SET NULL":
            for row in rows[name]:
                if row[key] in dropped:
                    row[key] = None
            continue
        before = len(rows[name])
        rows[name] = [row for row in rows[name] if row[key] not in dropped]
        _left_out(plan, name, before - len(rows[name]))


def _aware(moment: datetime) -> datetime:
    return moment if moment.tzinfo else moment.replace(tzinfo=timezone.utc)


def _is_union(name: str) -> bool:
    return name in UNION_TABLES or name.startswith(UNION_PREFIXES)


def _union_journals(plan: RestorePlan, rows: dict[str, list[dict]], tables: dict[str, sa.Table]) -> None:
    """Step 2: the audit trail stays; decisions, suppression and outbox are now's lines plus the backup's."""
    for name in AUDIT_TABLES:
        if name in rows:
            now = queries.current_rows(tables[name])
            plan.audit_rows[name] = [] if now else rows[name]
            rows[name] = []
    for name in ACCESS_TABLES:
        if name in rows:
            now = queries.current_rows(tables[name])
            if now:
                plan.kept_now[name] = len(now)
                rows[name] = now
    dropped = set(plan.dropped_subjects)
    for name, table in tables.items():
        if not _is_union(name):
            continue
        current = queries.current_rows(table)
        keys = _unique_keys(table)
        taken = {(index, tuple(row[c] for c in cols)) for row in current for index, cols in enumerate(keys)}
        added = [row for row in rows[name]
                 if not any((index, tuple(row[c] for c in cols)) in taken for index, cols in enumerate(keys))]
        plan.kept_now[name] = len(current)
        rows[name] = current + added
        if "subject_id" in table.c:   # a line of now naming someone erased since (kept by no erasure)
            rows[name] = [row for row in rows[name] if row["subject_id"] not in dropped]


def _unique_keys(table: sa.Table) -> list[list[str]]:
    keys = [[c.name for c in table.primary_key.columns]]
    keys += [[c.name for c in constraint.columns] for constraint in table.constraints
             if isinstance(constraint, sa.UniqueConstraint)]
    keys += [[c.name for c in index.columns] for index in table.indexes if index.unique]
    return keys


def _drop_missing_files(plan: RestorePlan, rows: dict[str, list[dict]]) -> None:
    """Step 3a: a stored file's row without its file would promise what it cannot open."""
    name = StoredFile.__tablename__
    if name not in rows:
        return
    before = len(rows[name])
    rows[name] = [row for row in rows[name] if _file_path(row["tenant_id"], row["id"]).exists()]
    _left_out(plan, name, before - len(rows[name]))


def _drop_dangling(plan: RestorePlan, rows: dict[str, list[dict]], tables: dict[str, sa.Table]) -> None:
    """Step 3b: parents first, every reference must find its row (in what is restored, or for a platform
    table like users, in the database); otherwise SET NULL references are cleared and other rows left out."""
    for name, table in tables.items():
        for constraint in table.foreign_key_constraints:
            local = [c.name for c in constraint.columns]
            remote = [element.column.name for element in constraint.elements]
            target = constraint.referred_table
            wanted = {tuple(row[c] for c in local) for row in rows[name]}
            wanted = {key for key in wanted if all(value is not None for value in key)}
            if not wanted:
                continue
            if target.name in tables:
                present = {tuple(row[c] for c in remote) for row in rows[target.name]}
                if target.name in AUDIT_TABLES:
                    present |= {tuple(row[c] for c in remote) for row in queries.current_rows(target)}
            else:
                present = queries.existing_keys(target, remote, wanted)
            missing = wanted - present
            if not missing:
                continue
            if constraint.ondelete and constraint.ondelete.upper() == "SET NULL":
                for row in rows[name]:
                    if tuple(row[c] for c in local) in missing:
                        for column in local:
                            if column != "tenant_id":
                                row[column] = None
                continue
            before = len(rows[name])
            rows[name] = [row for row in rows[name] if tuple(row[c] for c in local) not in missing]
            _left_out(plan, name, before - len(rows[name]))


def _later_decisions(plan: RestorePlan, rows: dict[str, list[dict]], made_at: datetime) -> None:
    """Step 4's list: restrictions in the ledger the backup's rows do not show yet; flags decided later."""
    restored = {row["id"]: row for row in rows[SUBJECT_TABLE]}
    for line in queries.restricted_lines(list(restored)):
        if restored[line.subject_id]["restricted_at"] is None:
            plan.restrict_again.append((line.subject_id, frozenset(filter(None, line.kept_fields.split(","))),
                                        line.reason))
    for decision in rows.get("retention_decision", []):
        if decision["action"] != "flag" or _aware(decision["decided_at"]) <= _aware(made_at):
            continue
        table = "company" if decision["record_kind"] == "company" else SUBJECT_TABLE
        plan.flag_again.setdefault(table, {})[decision["record_id"]] = decision["due_on"]
    for table, flags in plan.flag_again.items():
        for row in rows.get(table, []):
            if row["id"] in flags and row.get("needs_verification_since") is None:
                row["needs_verification_since"] = flags[row["id"]]


def restore(tenant, path: Path) -> RestorePlan:
    """Replace the current tenant's rows with the backup's as planned, in one transaction. Commits once;
    on any error nothing is written."""
    erasure.finish_pending()    # killed purges first: their keys go, the ledger names them (commits)
    plan = plan_restore(tenant, path)
    tables = queries.tenant_tables()
    _remove_files_not_restored(plan)
    try:
        for table in reversed(tables):
            if table.name not in AUDIT_TABLES:
                db.session.execute(sa.delete(table).where(table.c.tenant_id == tenant.id))
        for table in tables:
            rows = plan.audit_rows.get(table.name) or plan.rows.get(table.name, [])
            for batch in _batches(_parents_first(table, rows)):
                db.session.execute(sa.insert(table), batch)
        db.session.expunge_all()
        for subject_id, kept, reason in plan.restrict_again:
            erasure.restrict_ids([subject_id], kept, reason)
        audit.record("backup.restore", "tenant", tenant.id, detail={
            "backup_id": plan.manifest["backup_id"], "rows": sum(plan.counts().values()),
            "erased_again": len(plan.dropped_subjects), "restricted_again": len(plan.restrict_again)})
        db.session.commit()
    except BaseException:
        db.session.rollback()
        raise
    return plan


def _file_path(tenant_id: int, file_id) -> Path:
    return Path(current_app.extensions["saas.settings"].storage_path) / str(int(tenant_id)) / str(file_id)


def _remove_files_not_restored(plan: RestorePlan) -> None:
    """A stored file whose row the restore does not bring back (made after the backup) leaves the disk once
    the restore commits: no file without its row."""
    name = StoredFile.__tablename__
    kept = {row["id"] for row in plan.rows.get(name, [])}
    table = StoredFile.__table__
    for row in queries.current_rows(table):
        if row["id"] not in kept:
            transaction.after_commit(_file_path(row["tenant_id"], row["id"]).unlink, missing_ok=True)


def _parents_first(table: sa.Table, rows: list[dict]) -> list[dict]:
    """A table that references itself (an agreement superseding another): each row after the one it names."""
    links = [c.name for constraint in table.foreign_key_constraints if constraint.referred_table is table
             for c in constraint.columns if c.name != "tenant_id"]
    if not links or not rows:
        return rows
    placed: set = set()
    ordered: list[dict] = []
    waiting = rows
    while waiting:
        ready = [row for row in waiting if all(row[c] is None or row[c] in placed for c in links)]
        if not ready:   # a cycle cannot be inserted row by row: let the database say so
            return ordered + waiting
        ordered += ready
        placed.update(row["id"] for row in ready)
        ready_ids = {id(row) for row in ready}
        waiting = [row for row in waiting if id(row) not in ready_ids]
    return ordered


def _batches(rows: list[dict]):
    for start in range(0, len(rows), INSERT_CHUNK):
        yield rows[start:start + INSERT_CHUNK]
