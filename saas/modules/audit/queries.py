"""Reading a tenant's audit log: pages of recent entries, and verification of the hash chain."""
from __future__ import annotations

from dataclasses import dataclass
from types import SimpleNamespace

import sqlalchemy as sa

from saas.core.tenancy import tenant_context
from saas.core.paging import Page
from saas.extensions import db
from saas.modules.audit.models import AuditEntry, AuditHead
from saas.modules.audit.operations import GENESIS, entry_hash

CHANGED, INSERTED, DELETED = "changed", "inserted", "deleted"
_COLUMNS = [getattr(AuditEntry, column.key) for column in AuditEntry.__table__.columns]


@dataclass(frozen=True)
class VerifyResult:
    """`count` entries checked; for a broken chain, the first problem: its seq and kind."""

    count: int
    seq: int | None = None
    kind: str | None = None  # changed | inserted | deleted
    reason: str = ""

    @property
    def ok(self) -> bool:
        return self.kind is None

    def __str__(self) -> str:
        if self.ok:
            return f"ok: {self.count} entries"
        return f"seq {self.seq}: {self.kind} ({self.reason})"


def _hash_at(row, seq: int) -> str:
    """The hash the row would have at another place: tells a shifted row from a changed one."""
    return entry_hash(SimpleNamespace(**{**row._mapping, "seq": seq}))


def _problem(row, expected_seq: int, prev_hash: str, head_seq: int) -> tuple[int, str, str] | None:
    if row.seq > head_seq:
        return row.seq, INSERTED, "beyond the last entry the head records"
    if row.seq != expected_seq:
        return expected_seq, DELETED, "missing from the sequence"
    if entry_hash(row) != row.hash:
        if _hash_at(row, row.seq - 1) == row.hash:
            return row.seq - 1, INSERTED, "an entry was slipped in and the later ones renumbered"
        if _hash_at(row, row.seq + 1) == row.hash:
            return row.seq, DELETED, "an entry was removed and the later ones renumbered"
        return row.seq, CHANGED, "its content no longer matches its hash"
    if row.prev_hash != prev_hash:
        return row.seq, INSERTED, "it does not chain to the entry before it"
    return None


def verify(tenant_id: int) -> VerifyResult:
    """Walk the tenant's chain by seq and report the first changed, inserted or deleted entry.

    Rows are read as plain values, not ORM objects, so nothing cached in the session hides a change.
    """
    with tenant_context(tenant_id):
        head = db.session.execute(
            sa.select(AuditHead.seq, AuditHead.hash).where(AuditHead.tenant_id == tenant_id)
        ).first()
        head_seq, head_hash = head if head is not None else (0, GENESIS)
        rows = db.session.execute(
            sa.select(*_COLUMNS).where(AuditEntry.tenant_id == tenant_id).order_by(AuditEntry.seq)
            .execution_options(yield_per=1000)
        )
        count, expected_seq, prev_hash = 0, 1, GENESIS
        for row in rows:
            problem = _problem(row, expected_seq, prev_hash, head_seq)
            if problem is not None:
                rows.close()
                return VerifyResult(count, *problem)
            count, expected_seq, prev_hash = count + 1, row.seq + 1, row.hash
    if count < head_seq:
        return VerifyResult(count, expected_seq, DELETED, "the head records more entries than remain")
    if prev_hash != head_hash:
        return VerifyResult(count, head_seq, CHANGED, "the last entry is not the one the head recorded")
    return VerifyResult(count)


def recent_entries(page: int = 1, per_page: int = 50) -> Page:
    """The current tenant's entries, newest first."""
    total = db.session.scalar(sa.select(sa.func.count(AuditEntry.seq))) or 0
    items = list(db.session.scalars(
        sa.select(AuditEntry).order_by(AuditEntry.seq.desc()).limit(per_page).offset((page - 1) * per_page)
    ))
    return Page(items, total, page, per_page)
