"""Reads of consents: a subject's history, the purposes consented on a date (for the retention engine, in
batches), and the re-consent request behind a link."""
from __future__ import annotations

import uuid
from datetime import date, datetime, time, timedelta, timezone

import sqlalchemy as sa
from flask import abort

from saas.core import clock
from saas.core.tenancy import require_tenant_id, tenant_context
from saas.extensions import db
from saas.modules.consents import operations
from saas.modules.consents.models import ConsentRecord, ConsentRequest
from saas.modules.subjects.models import DataSubject
from saas.modules.tenants.models import Tenant
from saas.plugins.manager import current_registry

ACTIVE, WITHDRAWN, EXPIRED = "active", "withdrawn", "expired"
OPEN, USED, LINK_EXPIRED = "open", "used", "expired"


def _start_of_next_day(on_date: date) -> datetime:
    """Midnight after `on_date` in Amsterdam, as UTC: the first moment that no longer belongs to that day."""
    midnight = datetime.combine(on_date + timedelta(days=1), time(0), tzinfo=clock.AMSTERDAM)
    return midnight.astimezone(timezone.utc)


def active_purposes(subject_ids, on_date: date) -> dict[uuid.UUID, frozenset[str]]:
    """For each subject, the purposes with a grant that holds on `on_date`: given by the end of that day,
    not withdrawn by then, and not expired (a grant `expires_on` a day no longer holds on that day).
    One query per call; subjects without any are left out."""
    ids = list(subject_ids)
    if not ids:
        return {}
    day_end = _start_of_next_day(on_date)
    rows = db.session.execute(
        sa.select(ConsentRecord.subject_id, ConsentRecord.purpose).distinct().where(
            ConsentRecord.subject_id.in_(ids),
            ConsentRecord.given_at < day_end,
            sa.or_(ConsentRecord.withdrawn_at.is_(None), ConsentRecord.withdrawn_at >= day_end),
            sa.or_(ConsentRecord.expires_on.is_(None), ConsentRecord.expires_on > on_date),
        ))
    found: dict[uuid.UUID, set[str]] = {}
    for subject_id, purpose in rows:
        found.setdefault(subject_id, set()).add(purpose)
    return {subject_id: frozenset(purposes) for subject_id, purposes in found.items()}


def status_of(record: ConsentRecord, on_date: date | None = None) -> str:
    """active | withdrawn | expired, on `on_date` (today by default)."""
    on_date = on_date or clock.today()
    if record.withdrawn_at is not None:
        return WITHDRAWN
    if record.expires_on is not None and record.expires_on <= on_date:
        return EXPIRED
    return ACTIVE


def history(subject: DataSubject) -> list[ConsentRecord]:
    """Every grant of the subject, newest first, withdrawn and expired ones included."""
    return list(db.session.scalars(
        sa.select(ConsentRecord).where(ConsentRecord.subject_id == subject.id)
        .order_by(ConsentRecord.given_at.desc(), ConsentRecord.created_at.desc(), ConsentRecord.id)))


def requests_of(subject: DataSubject) -> list[ConsentRequest]:
    return list(db.session.scalars(
        sa.select(ConsentRequest).where(ConsentRequest.subject_id == subject.id)
        .order_by(ConsentRequest.created_at.desc(), ConsentRequest.id)))


def find_record(subject: DataSubject, consent_id) -> ConsentRecord:
    """One grant of this subject; anything else (another subject's, another tenant's, a bad id) is 404."""
    try:
        key = uuid.UUID(str(consent_id))
    except ValueError:
        abort(404)
    record = db.session.get(ConsentRecord, key)
    if record is None or record.subject_id != subject.id:
        abort(404)
    return record


def known_purposes() -> list[str]:
    """Purposes to suggest: those the tenant's retention rules ask consent for, and those used before."""
    tenant = db.session.get(Tenant, require_tenant_id())
    policies = current_registry().of("saas_retention_policies", tenant.plugins or [])
    used = db.session.scalars(sa.select(ConsentRecord.purpose).distinct())
    return sorted({p.purpose for p in policies if p.purpose} | set(used))


# ---- the public answer page ------------------------------------------------------------------------------

def tenant_of_token(token: str) -> Tenant | None:
    """The active tenant that holds the request of this link, or None. A token made by
    `operations.new_request_token` names its tenant; for any other token each active tenant is asked in its
    own context (row-level security hides the requests of the others), one indexed query each."""
    digest = operations.token_hash(token)
    named = operations.tenant_id_of_token(token)
    tenants = db.session.scalars(sa.select(Tenant).where(Tenant.active.is_(True)).order_by(Tenant.id)).all()
    for tenant in tenants:
        if named is not None and tenant.id != named:
            continue
        with tenant_context(tenant.id):
            if db.session.scalar(sa.select(ConsentRequest.id).where(ConsentRequest.token_hash == digest)):
                return tenant
    return None


def find_request(token: str) -> ConsentRequest | None:
    """The request of a link within the current tenant."""
    return db.session.scalar(sa.select(ConsentRequest).where(ConsentRequest.token_hash == operations.token_hash(token)))


def request_state(request: ConsentRequest) -> str:
    """open | used (answered before) | expired."""
    if request.answered_at is not None:
        return USED
    expires_at = request.expires_at if request.expires_at.tzinfo else request.expires_at.replace(tzinfo=timezone.utc)
    return LINK_EXPIRED if expires_at <= clock.now() else OPEN
