"""Reads of the outbox. The list shows no personal data; opening one mail decrypts it."""
from __future__ import annotations

import uuid
from datetime import datetime, timedelta, timezone

import sqlalchemy as sa

from saas.core import clock
from saas.extensions import db
from saas.modules.outbox.models import FAILED, OUTBOX, QUEUED, SENDING, SENT, OutboxMail

# A due mail the relay has not taken this long after it became due is stuck (no relay ran): an admin may push it.
STUCK_AFTER = timedelta(minutes=5)

# The admin's tabs: what is waiting to go out, what failed and will be tried again, what went, what will not.
TABS = {
    "all": sa.true(),
    "waiting": sa.or_(sa.and_(OutboxMail.status == QUEUED, OutboxMail.attempts == 0), OutboxMail.status == SENDING),
    "failing": sa.and_(OutboxMail.status == QUEUED, OutboxMail.attempts > 0),
    "sent": OutboxMail.status.in_((SENT, OUTBOX)),
    "failed": OutboxMail.status == FAILED,
}
_ORDER = {
    "waiting": (OutboxMail.next_attempt_at, OutboxMail.id),
    "failing": (OutboxMail.next_attempt_at, OutboxMail.id),
    "sent": (OutboxMail.sent_at.desc(), OutboxMail.id),
    "failed": (OutboxMail.updated_at.desc(), OutboxMail.id),
}


def is_due(now: datetime):
    """Queued and its time has come, or claimed by a relay whose lease ran out (it died mid-send)."""
    return sa.or_(
        sa.and_(OutboxMail.status == QUEUED, OutboxMail.next_attempt_at <= now),
        sa.and_(OutboxMail.status == SENDING, OutboxMail.lease_until <= now),
    )


def due_mails(now: datetime, limit: int) -> list[tuple[uuid.UUID, str]]:
    """(id, status) of the current tenant's due mails, longest due first."""
    return [tuple(row) for row in db.session.execute(
        sa.select(OutboxMail.id, OutboxMail.status).where(is_due(now))
        .order_by(sa.func.coalesce(OutboxMail.lease_until, OutboxMail.next_attempt_at), OutboxMail.id).limit(limit)
    )]


def tab_counts() -> dict[str, int]:
    return {tab: db.session.scalar(sa.select(sa.func.count(OutboxMail.id)).where(condition))
            for tab, condition in TABS.items()}


def page_of_mails(page: int, per_page: int, tab: str = "all") -> tuple[list[OutboxMail], int]:
    condition = TABS[tab]
    total = db.session.scalar(sa.select(sa.func.count(OutboxMail.id)).where(condition))
    order = _ORDER.get(tab, (OutboxMail.created_at.desc(), OutboxMail.id))
    mails = db.session.scalars(
        sa.select(OutboxMail).where(condition).order_by(*order).limit(per_page).offset((page - 1) * per_page)
    )
    return list(mails), total


def _utc(moment: datetime | None) -> datetime | None:
    return moment if moment is None or moment.tzinfo else moment.replace(tzinfo=timezone.utc)


def is_stuck(mail: OutboxMail, now: datetime | None = None) -> bool:
    """Due for a while and no relay took it: queued past its time, or a claim whose lease ran out."""
    now = now or clock.now()
    if mail.status == QUEUED:
        return now - _utc(mail.next_attempt_at) >= STUCK_AFTER
    return mail.status == SENDING and mail.lease_until is not None and _utc(mail.lease_until) <= now


def can_requeue(mail: OutboxMail, now: datetime | None = None) -> bool:
    """A failed mail (an admin checked it did not arrive) or a waiting one sent now; never one being sent."""
    now = now or clock.now()
    if mail.status == SENDING:
        return is_stuck(mail, now)
    return mail.status in (FAILED, QUEUED)
