"""The suppression list: people who must not come back (a purged prospect, a rights request, an unsubscribe).

Only blind indexes are kept, computed exactly as the subject's own `email_bidx` / `phone_bidx` (same field
normalisation, same tenant index key), so a new subject or an imported row is matched without any readable
personal data on the list. Callers commit.
"""
from __future__ import annotations

import sqlalchemy as sa

from saas.core import bulk, clock
from saas.core.crypto.keyring import keyring
from saas.core.tenancy import new_id, require_tenant_id
from saas.extensions import db
from saas.modules.audit import operations as audit
from saas.modules.retention.models import SuppressionEntry
from saas.modules.subjects.models import DataSubject

REASON_MAX = 40


def blind_index(field_name: str, value: str | None) -> bytes | None:
    """The blind index `DataSubject.<field_name>` would store for `value` (None for an empty value)."""
    if value is None or not str(value).strip():
        return None
    field = getattr(DataSubject, field_name)  # the EncryptedField: its own normalisation and index name
    return keyring().blind_index(require_tenant_id(), field.index, field.normalise(str(value)))


def _matches(email_bidx: bytes | None, phone_bidx: bytes | None):
    conditions = []
    if email_bidx is not None:
        conditions.append(SuppressionEntry.email_bidx == email_bidx)
    if phone_bidx is not None:
        conditions.append(SuppressionEntry.phone_bidx == phone_bidx)
    return conditions


def suppress(subject: DataSubject, reason: str) -> SuppressionEntry | None:
    """Put the subject's email and phone on the list (before its data is erased). Idempotent: a person
    already on the list with the same indexes is not added twice. None when there is nothing to match on."""
    email_bidx, phone_bidx = subject.email_bidx, subject.phone_bidx
    if email_bidx is None and phone_bidx is None:
        return None
    suppress_many([(email_bidx, phone_bidx, reason)])
    return db.session.scalar(sa.select(SuppressionEntry).where(
        SuppressionEntry.email_bidx.is_(None) if email_bidx is None else SuppressionEntry.email_bidx == email_bidx,
        SuppressionEntry.phone_bidx.is_(None) if phone_bidx is None else SuppressionEntry.phone_bidx == phone_bidx,
    ).limit(1))


def suppress_many(people: list[tuple[bytes | None, bytes | None, str]]) -> int:
    """(email index, phone index, reason) of many people at once (a sweep's batch of purged prospects): one
    query for who is on the list already, one insert and one audit line per new entry. Returns how many."""
    wanted = {(email, phone): reason[:REASON_MAX] for email, phone, reason in people
              if email is not None or phone is not None}
    if not wanted:
        return 0
    emails = [email for email, _ in wanted if email is not None]
    phones = [phone for _, phone in wanted if phone is not None]
    on_list = {tuple(row) for row in db.session.execute(
        sa.select(SuppressionEntry.email_bidx, SuppressionEntry.phone_bidx).where(
            sa.or_(SuppressionEntry.email_bidx.in_(emails), SuppressionEntry.phone_bidx.in_(phones))))}
    rows = [{"id": new_id(), "tenant_id": require_tenant_id(), "email_bidx": email, "phone_bidx": phone,
             "reason": reason, "created_at": clock.now()}
            for (email, phone), reason in wanted.items() if (email, phone) not in on_list]
    bulk.insert_rows(SuppressionEntry, rows)
    for reason in dict.fromkeys(row["reason"] for row in rows):
        audit.record_many("suppression.add", "suppression_entry",
                          [row["id"] for row in rows if row["reason"] == reason], detail={"reason": reason})
    return len(rows)


def is_suppressed(email: str | None = None, phone: str | None = None) -> bool:
    """Whether a person with this email address or phone number is on the current tenant's list."""
    conditions = _matches(blind_index("email", email), blind_index("phone", phone))
    if not conditions:
        return False
    return db.session.scalar(sa.select(SuppressionEntry.id).where(sa.or_(*conditions)).limit(1)) is not None
