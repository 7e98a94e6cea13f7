"""Enqueuing the jobs of one agreement (`jobs.py`) under deterministic ids (`agreement-<step>-<id>`).

The writes ask for a step with `after_commit`: the job is enqueued once the transaction that asked for it
commits, so a worker never looks for a row that is not there yet and a rolled-back request enqueues
nothing. If Redis is away at that moment, the hourly expiry job re-enqueues what got stuck.
(The writes import this module, and `jobs.py` imports the writes: no cycle.)
"""
from __future__ import annotations

import logging

from redis.exceptions import RedisError
from rq.exceptions import DuplicateJobError, NoSuchJobError
from rq.job import Job, JobStatus

from saas import jobs as rq_jobs
from saas.core import transaction
from saas.jobs.queues import redis

QUEUE = "agreements"
STEPS = {
    "send": "saas.modules.agreements.jobs.send_agreement",
    "seal": "saas.modules.agreements.jobs.seal_agreement",
    "distribute": "saas.modules.agreements.jobs.distribute_sealed",
}
FINISHED = (JobStatus.FINISHED, JobStatus.FAILED, JobStatus.STOPPED, JobStatus.CANCELED)
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
    transaction.after_commit(_enqueue_committed, step, agreement.tenant_id, str(agreement.id), ids)


def _enqueue_committed(step: str, tenant_id: int, agreement_id: str, ids: dict) -> None:
    try:
        enqueue_step(step, tenant_id, agreement_id, **ids)
    except RedisError:
        log.warning("agreement %s: %s not enqueued, Redis unavailable (the expiry job retries)", agreement_id, step)
