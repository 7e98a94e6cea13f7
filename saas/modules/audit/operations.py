"""Appending to a tenant's audit log. Each line chains the previous line's hash.

A line is recorded in the current transaction but joins the chain only when that transaction commits
(`_append_pending`, before the commit's flush): the chain head (`audit_head`) is locked from then until
the commit ends, milliseconds, instead of from the first line until the end of the unit of work. A
sweep batch that audits early and then writes for seconds would otherwise hold every audited read of
the tenant (each appends a line) for those seconds. A rolled-back transaction appends nothing.
"""
from __future__ import annotations

import hashlib
import json
from datetime import datetime, timezone
from types import SimpleNamespace

import sqlalchemy as sa
from flask import g, has_request_context
from sqlalchemy import event
from sqlalchemy.orm import Session

from saas.core import bulk, clock
from saas.core.tenancy import require_tenant_id, tenant_context
from saas.extensions import db
from saas.modules.audit.models import AuditEntry, AuditHead

GENESIS = "0" * 64
_PENDING = "saas_audit_pending"   # session.info: lines recorded in this transaction, chained at commit
_RECORDED = ("tenant_id", "at", "actor_kind", "actor_id", "action", "object_type", "object_id", "outcome", "detail")


def _utc_text(at: datetime) -> str:
    """Stored times come back naive from SQLite and aware from PostgreSQL: hash them the same way."""
    if at.tzinfo is not None:
        at = at.astimezone(timezone.utc).replace(tzinfo=None)
    return at.isoformat()


def entry_hash(entry: AuditEntry) -> str:
    """The hash of a line: every field but the hash itself, in a fixed order."""
    body = [
        entry.tenant_id, entry.seq, _utc_text(entry.at),
        entry.actor_kind, entry.actor_id, entry.action, entry.object_type, entry.object_id,
        entry.outcome, entry.detail or {}, entry.prev_hash,
    ]
    return hashlib.sha256(json.dumps(body, sort_keys=True, separators=(",", ":")).encode()).hexdigest()


def _current_actor() -> tuple[str, str | None]:
    if has_request_context():
        actor = getattr(g, "audit_actor", None)
        if actor:
            return actor
        from flask_login import current_user

        if current_user and current_user.is_authenticated:
            return ("operator" if current_user.is_operator else "user"), str(current_user.id)
    return "system", None


def _pending(session: Session) -> list:
    """The lines of the session's transaction (begun here if none is: a rollback must drop them)."""
    if not session.in_transaction():
        session.begin()
    return session.info.setdefault(_PENDING, [])


def record(action: str, object_type: str | None = None, object_id=None, *, outcome: str = "ok",
           detail: dict | None = None, actor_kind: str | None = None, actor_id: str | None = None,
           session: Session | None = None) -> AuditEntry:
    """Record one line in the current transaction: it commits or rolls back with the change it records
    (its `seq` and hashes are set when the transaction commits). `session`: another session's transaction
    (a line that must land although the request's own transaction will not)."""
    tenant_id = require_tenant_id()
    kind, who = _current_actor()
    entry = AuditEntry(
        tenant_id=tenant_id, at=clock.now().replace(microsecond=0),
        actor_kind=actor_kind or kind, actor_id=actor_id if actor_id is not None else who,
        action=action, object_type=object_type, object_id=None if object_id is None else str(object_id),
        outcome=outcome, detail=detail or {},
    )
    _pending(session if session is not None else db.session()).append(entry)
    return entry


def record_many(action: str, object_type: str, object_ids, *, outcome: str = "ok", detail: dict | None = None,
                actor_kind: str | None = None, actor_id: str | None = None, session: Session | None = None) -> int:
    """Record one line per object id (a sweep purging thousands of subjects): the same lines `record`
    would write one by one, chained in order at commit with one INSERT. Returns the count."""
    ids = [str(object_id) for object_id in object_ids]
    if not ids:
        return 0
    tenant_id = require_tenant_id()
    kind, who = _current_actor()
    common = {
        "tenant_id": tenant_id, "at": clock.now().replace(microsecond=0), "actor_kind": actor_kind or kind,
        "actor_id": actor_id if actor_id is not None else who, "action": action, "object_type": object_type,
        "outcome": outcome, "detail": detail or {},
    }
    _pending(session if session is not None else db.session()).append((common, ids))
    return len(ids)


@event.listens_for(Session, "before_commit")
def _append_pending(session: Session) -> None:
    """Chain the transaction's lines, in the order they were recorded, before the commit's flush."""
    pending = session.info.pop(_PENDING, None)
    if not pending:
        return
    by_tenant: dict[int, list[dict]] = {}
    for item in pending:
        if isinstance(item, AuditEntry):
            by_tenant.setdefault(item.tenant_id, []).append(item)
        else:
            common, ids = item
            by_tenant.setdefault(common["tenant_id"], []).extend({**common, "object_id": i} for i in ids)
    for tenant_id, lines in by_tenant.items():
        # As the tenant the lines were recorded in: the request may have left it already (a refusal).
        with tenant_context(tenant_id):
            _append(session, tenant_id, lines)


def _append(session: Session, tenant_id: int, lines: list) -> None:
    """Lock the tenant's head, number and hash the lines after it, insert them, move the head."""
    head = session.execute(sa.select(AuditHead.seq, AuditHead.hash).where(AuditHead.tenant_id == tenant_id)
                           .with_for_update()).first()
    seq, prev_hash = head if head is not None else (0, GENESIS)
    rows = []
    for line in lines:
        entry = line if isinstance(line, AuditEntry) else None
        row = {name: getattr(entry, name) for name in _RECORDED} if entry is not None else dict(line)
        seq += 1
        row.update(seq=seq, prev_hash=prev_hash)
        row["hash"] = prev_hash = entry_hash(SimpleNamespace(**row))
        if entry is not None:   # the object `record` returned shows where its line went
            entry.seq, entry.prev_hash, entry.hash = seq, row["prev_hash"], row["hash"]
        rows.append(row)
    mapper = {"mapper": sa.inspect(AuditEntry)}
    bulk.insert_rows(AuditEntry, rows, connection=session.connection(bind_arguments=mapper))
    if head is None:
        session.execute(sa.insert(AuditHead).values(tenant_id=tenant_id, seq=seq, hash=prev_hash))
    else:
        session.execute(sa.update(AuditHead).where(AuditHead.tenant_id == tenant_id)
                        .values(seq=seq, hash=prev_hash).execution_options(synchronize_session=False))


@event.listens_for(Session, "after_transaction_end")
def _forget_pending(session: Session, transaction) -> None:
    """A transaction that ended without its commit (a rollback, a closed session) appends nothing."""
    if transaction.parent is None:
        session.info.pop(_PENDING, None)


def record_refusal(action: str, object_type: str | None = None, object_id=None, *, detail: dict | None = None,
                   actor_kind: str | None = None, actor_id: str | None = None) -> AuditEntry:
    """A refused access is kept although the request fails: anything else pending is dropped, the
    line is written and committed on its own."""
    db.session.rollback()
    entry = record(action, object_type, object_id, outcome="denied", detail=detail,
                   actor_kind=actor_kind, actor_id=actor_id)
    db.session.commit()
    return entry
