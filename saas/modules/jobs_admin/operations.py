"""Retrying a tenant's failed job. The retry is audited in the same transaction."""
from __future__ import annotations

from rq.exceptions import InvalidJobOperation
from rq.job import Job, JobStatus

from saas.core import transaction
from saas.extensions import db
from saas.modules.audit import operations as audit


class NotRetryable(RuntimeError):
    """The job is not (or no longer) in the failed-jobs registry."""


def retry_failed(job: Job) -> Job:
    """Put a failed job back on its queue. The audit line is flushed first, so a failure to requeue
    rolls it back, and committed right after, so a retry (already back on its queue) is never unaudited."""
    if job.get_status() != JobStatus.FAILED:
        raise NotRetryable(job.id)
    audit.record("job.retry", "job", job.id, detail={"queue": job.origin})
    db.session.flush()
    try:
        job.requeue()
    except InvalidJobOperation as exc:  # another admin was quicker
        db.session.rollback()
        raise NotRetryable(job.id) from exc
    transaction.persist_now()
    return job
