"""Appending to a tenant's audit log. Each line chains the previous line's hash."""
from __future__ import annotations

import hashlib
import json
from datetime import datetime, timezone
from types import SimpleNamespace

import sqlalchemy as sa
from flask import g, has_request_context

from saas.core import bulk, clock
from saas.core.tenancy import require_tenant_id
from saas.extensions import db
from saas.modules.audit.models import AuditEntry, AuditHead

GENESIS = "0" * 64


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


def _lock_head(tenant_id: int) -> AuditHead:
    head = db.session.scalar(sa.select(AuditHead).where(AuditHead.tenant_id == tenant_id).with_for_update())
    if head is None:
        head = AuditHead(tenant_id=tenant_id, seq=0, hash=GENESIS)
        db.session.add(head)
    return head


def record(action: str, object_type: str | None = None, object_id=None, *, outcome: str = "ok",
           detail: dict | None = None, actor_kind: str | None = None, actor_id: str | None = None) -> AuditEntry:
    """Append one line in the current transaction: it commits or rolls back with the change it records."""
    tenant_id = require_tenant_id()
    kind, who = _current_actor()
    head = _lock_head(tenant_id)
    entry = AuditEntry(
        tenant_id=tenant_id, seq=head.seq + 1, at=clock.now().replace(microsecond=0),
        actor_kind=actor_kind or kind, actor_id=actor_id if actor_id is not None else who,
        action=action, object_type=object_type, object_id=None if object_id is None else str(object_id),
        outcome=outcome, detail=detail or {}, prev_hash=head.hash,
    )
    entry.hash = entry_hash(entry)
    head.seq, head.hash = entry.seq, entry.hash
    db.session.add(entry)
    return entry


def record_many(action: str, object_type: str, object_ids, *, outcome: str = "ok", detail: dict | None = None,
                actor_kind: str | None = None, actor_id: str | None = None) -> int:
    """Append one line per object id (a sweep purging thousands of subjects): the same lines `record`
    would write one by one, chained in order, with one head lock and one INSERT. Returns the count."""
    ids = [str(object_id) for object_id in object_ids]
    if not ids:
        return 0
    tenant_id = require_tenant_id()
    kind, who = _current_actor()
    head = _lock_head(tenant_id)
    common = {
        "tenant_id": tenant_id, "at": clock.now().replace(microsecond=0), "actor_kind": actor_kind or kind,
        "actor_id": actor_id if actor_id is not None else who, "action": action, "object_type": object_type,
        "outcome": outcome, "detail": detail or {},
    }
    rows, seq, prev_hash = [], head.seq, head.hash
    for object_id in ids:
        seq += 1
        row = {**common, "seq": seq, "object_id": object_id, "prev_hash": prev_hash}
        row["hash"] = prev_hash = entry_hash(SimpleNamespace(**row))
        rows.append(row)
    bulk.insert_rows(AuditEntry, rows)
    head.seq, head.hash = seq, prev_hash
    return len(rows)


def record_refusal(action: str, object_type: str | None = None, object_id=None, *, detail: dict | None = None,
                   actor_kind: str | None = None, actor_id: str | None = None) -> AuditEntry:
    """A refused access is kept although the request fails: anything else pending is dropped, the
    line is written and committed on its own."""
    db.session.rollback()
    entry = record(action, object_type, object_id, outcome="denied", detail=detail,
                   actor_kind=actor_kind, actor_id=actor_id)
    db.session.commit()
    return entry
