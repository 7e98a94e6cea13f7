"""Reading a tenant's jobs from RQ's registries. Jobs carry their tenant in `job.meta['tenant_id']`."""
from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime

from rq.exceptions import NoSuchJobError
from rq.job import Job, JobStatus

from saas.jobs import progress, valid_job_id
from saas.jobs.queues import QUEUES, queue, redis

# Newest entries per queue and registry: a page, not an archive (failed jobs expire after FAILURE_TTL).
LIMIT_PER_REGISTRY = 100
_EXCEPTION_NAME = re.compile(r"^([A-Za-z_][\w.]*)(?::|$)")


@dataclass(frozen=True)
class JobRow:
    id: str
    queue: str
    func: str
    status: str
    enqueued_at: datetime | None
    started_at: datetime | None
    ended_at: datetime | None
    progress: dict
    error: str


def find_tenant_job(job_id: str, tenant_id: int) -> Job | None:
    """The job with this id if it belongs to the tenant; None for unknown ids and other tenants' jobs."""
    if not valid_job_id(job_id):
        return None
    try:
        job = Job.fetch(job_id, connection=redis())
    except NoSuchJobError:
        return None
    return job if _tenant_of(job) == tenant_id else None


def tenant_jobs(tenant_id: int) -> dict[str, list[JobRow]]:
    """Running and failed jobs of one tenant across all queues, newest first."""
    running, failed = [], []
    for name in QUEUES:
        q = queue(name)
        running += _rows(q.started_job_registry, tenant_id)
        failed += _rows(q.failed_job_registry, tenant_id)
    newest_first = lambda row: row.ended_at or row.started_at or row.enqueued_at or datetime.min  # noqa: E731
    return {
        "running": sorted(running, key=newest_first, reverse=True),
        "failed": sorted(failed, key=newest_first, reverse=True),
    }


def _rows(registry, tenant_id: int) -> list[JobRow]:
    ids = registry.get_job_ids(0, LIMIT_PER_REGISTRY - 1, desc=True)
    jobs = Job.fetch_many(ids, connection=redis())
    return [_row(job) for job in jobs if job is not None and _tenant_of(job) == tenant_id]


def _status(job: Job) -> str:
    status = job.get_status(refresh=False)
    return status.value if status else ""


def _tenant_of(job: Job):
    return (job.meta or {}).get("tenant_id")


def _row(job: Job) -> JobRow:
    return JobRow(
        id=job.id, queue=job.origin, func=job.func_name, status=_status(job),
        enqueued_at=job.enqueued_at, started_at=job.started_at, ended_at=job.ended_at,
        progress=progress.read(job), error=error_kind(_failure_text(job)),
    )


def _failure_text(job: Job) -> str:
    if job.get_status(refresh=False) != JobStatus.FAILED:
        return ""
    result = job.latest_result()
    return (result.exc_string or "") if result is not None else ""


def error_kind(exc_text: str | None) -> str:
    """Only the exception's class name: its message or traceback may quote personal data."""
    lines = [line for line in (exc_text or "").splitlines() if line.strip()]
    if not lines:
        return ""
    if "AbandonedJobError" in lines[-1]:
        return "AbandonedJobError"
    match = _EXCEPTION_NAME.match(lines[-1])
    return match.group(1).rsplit(".", 1)[-1] if match else "WorkHorseTerminated"
