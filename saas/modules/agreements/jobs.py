"""Jobs of the "agreements" queue: send (render the PDF, freeze it, invite), seal, distribute the sealed
PDF, reminders and expiry. They take ids only and run as one unit of work of their tenant
(`saas.jobs.worker`).

Idempotent by construction: every job starts with a conditional UPDATE of the agreement (`common.claim`)
that only one run can win, on the state the job moves it out of (draft -> sent, countersigned -> completed,
`distributed_at` still empty, `last_reminder_at` old enough). A rerun, or a second copy of the job, finds
nothing to claim and returns without side effects: no second invitation, seal or mail.

Jobs for one agreement have deterministic ids and are enqueued after the commit that asked for them
(`queueing.py`).
"""
from __future__ import annotations

import logging
import uuid
from datetime import timedelta

import sqlalchemy as sa

from saas.core import clock
from saas.core.tenancy import require_tenant_id
from saas.extensions import db
from saas.jobs import progress
from saas.modules.agreements import countersigning, queries, sending
from saas.modules.agreements.models import Agreement
from saas.modules.agreements.queueing import enqueue_step

STUCK_AFTER = timedelta(minutes=30)
log = logging.getLogger(__name__)


def _agreement(agreement_id: str):
    return db.session.get(Agreement, uuid.UUID(agreement_id))


# ---- one agreement -----------------------------------------------------------------------------

def send_agreement(agreement_id: str, valid_days: int = 30) -> str:
    agreement = _agreement(agreement_id)
    if agreement is None:
        return "missing"
    progress.report(0, 2, "render")
    if not sending.send(agreement, valid_days):
        return f"skipped ({agreement.status})"
    progress.report(2, 2, "sent")
    return "sent"


def seal_agreement(agreement_id: str) -> str:
    agreement = _agreement(agreement_id)
    if agreement is None:
        return "missing"
    progress.report(0, 1, "seal")
    if not countersigning.seal(agreement):
        return f"skipped ({agreement.status})"
    progress.report(1, 1, "sealed")
    return "sealed"


def distribute_sealed(agreement_id: str) -> str:
    agreement = _agreement(agreement_id)
    if agreement is None:
        return "missing"
    sent = countersigning.distribute(agreement)
    return f"mailed {sent}" if sent else "skipped"


# ---- periodic, per tenant (saas/jobs/schedule.py) ----------------------------------------------

def _each(agreements, work, stage: str) -> int:
    """Run `work` per agreement, committing each: one that fails is logged and the rest still run;
    a rerun skips what was done (the claims)."""
    done = 0
    for index, agreement in enumerate(agreements, start=1):
        agreement_id = agreement.id
        try:
            done += 1 if work(agreement) else 0
            db.session.commit()
        except Exception:   # one bad agreement must not stop the tenant's others
            db.session.rollback()
            log.exception("agreement %s: %s failed", agreement_id, stage)
        progress.report(index, len(agreements), stage)
    return done


def send_reminders() -> int:
    """Mail a fresh link to signers of agreements whose last mail is `reminder_days` old."""
    return _each(queries.due_for_reminder(clock.now()), sending.remind, "reminders")


def expire_overdue() -> int:
    """Expire agreements whose signing period passed, and re-enqueue steps that got stuck."""
    expired = _each(queries.overdue(clock.now()), sending.expire, "expiry")
    _resume_stuck()
    return expired


def _resume_stuck() -> None:
    """A countersigned agreement not sealed, or a sealed one not mailed, half an hour later: its job was
    lost (Redis away at commit time). Enqueuing again is safe: the jobs are idempotent."""
    before = clock.now() - STUCK_AFTER
    stuck = db.session.execute(sa.select(Agreement.id, Agreement.status).where(
        Agreement.updated_at <= before,
        sa.or_(Agreement.status == "countersigned",
               sa.and_(Agreement.sealed_file_id.is_not(None), Agreement.distributed_at.is_(None)))))
    for agreement_id, status in stuck:
        enqueue_step("seal" if status == "countersigned" else "distribute", require_tenant_id(), agreement_id)
