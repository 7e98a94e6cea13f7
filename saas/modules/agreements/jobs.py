"""Jobs of the "agreements" queue: send (render the PDF, freeze it, invite), seal, distribute the sealed
PDF, reminders and expiry. They take ids only and run as one unit of work of their tenant
(`saas.jobs.worker`).

Idempotent by construction: every job starts with a conditional UPDATE of the agreement (`operations.claim`)
that only one run can win, on the state the job moves it out of (draft -> sent, countersigned -> completed,
`distributed_at` still empty, `last_reminder_at` old enough). A rerun, or a second copy of the job, finds
nothing to claim and returns without side effects: no second invitation, seal or mail.

Jobs for one agreement have deterministic ids (`agreement-<step>-<agreement id>`); they are enqueued after
the commit that asked for them, so a worker never looks for a row that is not there yet and a rolled-back
request enqueues nothing. If Redis is away at that moment, the hourly sweep re-enqueues what got stuck.
"""
from __future__ import annotations

import logging
import uuid
from datetime import timedelta

import sqlalchemy as sa
from redis.exceptions import RedisError
from rq.exceptions import DuplicateJobError, NoSuchJobError
from rq.job import Job, JobStatus
from sqlalchemy import event
from sqlalchemy.orm import Session

from saas import jobs as rq_jobs
from saas.core import clock
from saas.extensions import db
from saas.jobs import progress
from saas.jobs.queues import redis

QUEUE = "agreements"
STEPS = {
    "send": "saas.modules.agreements.jobs.send_agreement",
    "seal": "saas.modules.agreements.jobs.seal_agreement",
    "distribute": "saas.modules.agreements.jobs.distribute_sealed",
}
FINISHED = (JobStatus.FINISHED, JobStatus.FAILED, JobStatus.STOPPED, JobStatus.CANCELED)
STUCK_AFTER = timedelta(minutes=30)
_PENDING = "saas_agreement_jobs_pending"
log = logging.getLogger(__name__)


def job_id(step: str, agreement_id) -> str:
    return f"agreement-{step}-{agreement_id}"


def enqueue_step(step: str, tenant_id: int, agreement_id, **ids) -> None:
    """Enqueue one step for one agreement under its deterministic id. While a copy is queued or running
    nothing is added; a finished or failed copy is replaced (the job itself decides whether work is left)."""
    kwargs = {"tenant_id": tenant_id, "job_id": job_id(step, agreement_id), "unique": True,
              "description": f"agreement {step}", "agreement_id": str(agreement_id), **ids}
    try:
        rq_jobs.enqueue(QUEUE, STEPS[step], **kwargs)
        return
    except DuplicateJobError:
        pass
    try:
        existing = Job.fetch(kwargs["job_id"], connection=redis())
    except NoSuchJobError:
        existing = None
    if existing is not None:
        if existing.get_status(refresh=True) not in FINISHED:
            return
        existing.delete()
    rq_jobs.enqueue(QUEUE, STEPS[step], **kwargs)


def after_commit(step: str, agreement, **ids) -> None:
    """Enqueue `step` for this agreement once the current transaction commits."""
    db.session().info.setdefault(_PENDING, []).append((step, agreement.tenant_id, str(agreement.id), ids))


@event.listens_for(Session, "after_commit")
def _enqueue_pending(session: Session) -> None:
    for step, tenant_id, agreement_id, ids in session.info.pop(_PENDING, []):
        try:
            enqueue_step(step, tenant_id, agreement_id, **ids)
        except RedisError:
            log.warning("agreement %s: %s not enqueued, Redis unavailable (the sweep retries)", agreement_id, step)


@event.listens_for(Session, "after_soft_rollback")
def _forget_pending(session: Session, previous_transaction) -> None:
    if previous_transaction.parent is None:
        session.info.pop(_PENDING, None)


def _agreement(agreement_id: str):
    from saas.modules.agreements.models import Agreement

    return db.session.get(Agreement, uuid.UUID(agreement_id))


# ---- one agreement -----------------------------------------------------------------------------

def send_agreement(tenant_id: int, agreement_id: str, valid_days: int = 30) -> str:
    from saas.modules.agreements import operations

    agreement = _agreement(agreement_id)
    if agreement is None:
        return "missing"
    progress.report(0, 2, "render")
    if not operations.send(agreement, valid_days):
        return f"skipped ({agreement.status})"
    progress.report(2, 2, "sent")
    return "sent"


def seal_agreement(tenant_id: int, agreement_id: str) -> str:
    from saas.modules.agreements import operations

    agreement = _agreement(agreement_id)
    if agreement is None:
        return "missing"
    progress.report(0, 1, "seal")
    if not operations.seal(agreement):
        return f"skipped ({agreement.status})"
    progress.report(1, 1, "sealed")
    return "sealed"


def distribute_sealed(tenant_id: int, agreement_id: str) -> str:
    from saas.modules.agreements import operations

    agreement = _agreement(agreement_id)
    if agreement is None:
        return "missing"
    sent = operations.distribute(agreement)
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


def send_reminders(tenant_id: int) -> int:
    """Mail a fresh link to signers of agreements whose last mail is `reminder_days` old."""
    from saas.modules.agreements import operations, queries

    return _each(queries.due_for_reminder(clock.now()), operations.remind, "reminders")


def expire_overdue(tenant_id: int) -> int:
    """Expire agreements whose signing period passed, and re-enqueue steps that got stuck."""
    from saas.modules.agreements import operations, queries

    expired = _each(queries.overdue(clock.now()), operations.expire, "expiry")
    _resume_stuck(tenant_id)
    return expired


def _resume_stuck(tenant_id: int) -> None:
    """A countersigned agreement not sealed, or a sealed one not mailed, half an hour later: its job was
    lost (Redis away at commit time). Enqueuing again is safe: the jobs are idempotent."""
    from saas.modules.agreements.models import Agreement

    before = clock.now() - STUCK_AFTER
    stuck = db.session.execute(sa.select(Agreement.id, Agreement.status).where(
        Agreement.updated_at <= before,
        sa.or_(Agreement.status == "countersigned",
               sa.and_(Agreement.sealed_file_id.is_not(None), Agreement.distributed_at.is_(None)))))
    for agreement_id, status in stuck:
        enqueue_step("seal" if status == "countersigned" else "distribute", tenant_id, agreement_id)
