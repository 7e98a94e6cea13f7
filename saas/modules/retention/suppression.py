"""The suppression list: people who must not come back (a purged prospect, a rights request, an unsubscribe).

Only blind indexes are kept, computed exactly as the subject's own `email_bidx` / `phone_bidx` (same field
normalisation, same tenant index key), so a new subject or an imported row is matched without any readable
personal data on the list. Callers commit.
"""
from __future__ import annotations

import sqlalchemy as sa

from saas.core.crypto.keyring import keyring
from saas.core.tenancy import require_tenant_id
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
    existing = db.session.scalar(sa.select(SuppressionEntry).where(
        SuppressionEntry.email_bidx.is_(None) if email_bidx is None else SuppressionEntry.email_bidx == email_bidx,
        SuppressionEntry.phone_bidx.is_(None) if phone_bidx is None else SuppressionEntry.phone_bidx == phone_bidx,
    ).limit(1))
    if existing is not None:
        return existing
    entry = SuppressionEntry(email_bidx=email_bidx, phone_bidx=phone_bidx, reason=reason[:REASON_MAX])
    db.session.add(entry)
    db.session.flush()
    audit.record("suppression.add", "suppression_entry", entry.id, detail={"reason": entry.reason})
    return entry


def is_suppressed(email: str | None = None, phone: str | None = None) -> bool:
    """Whether a person with this email address or phone number is on the current tenant's list."""
    conditions = _matches(blind_index("email", email), blind_index("phone", phone))
    if not conditions:
        return False
    return db.session.scalar(sa.select(SuppressionEntry.id).where(sa.or_(*conditions)).limit(1)) is not None
