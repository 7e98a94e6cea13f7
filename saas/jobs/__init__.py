"""Background jobs on RQ. Jobs take ids, never personal data: failed jobs keep their arguments in Redis.

    from saas import jobs
    job = jobs.enqueue("keys", "some.module.jobs.rotate", tenant_id=3, version=2)

The tenant belongs to the job (`job.meta["tenant_id"]`), not to the function's arguments: a job function
is called as `func(**ids)` inside an app context with that tenant set (`saas.jobs.worker`), reads it with
`saas.core.tenancy.require_tenant_id()` if it needs it, and reports progress with
`saas.jobs.progress.report(done, total, stage)`.
"""
from __future__ import annotations

import re

from rq import Retry, get_current_job
from rq.job import Job

from saas.jobs.queues import FAILURE_TTL, RESULT_TTL, queue

_SAFE_ID = re.compile(r"^[A-Za-z0-9_-]{1,120}$")
_ALLOWED_ARG_TYPES = (int, str, bool, type(None))


def tenant_of_current_job() -> int | None:
    """The tenant the running job was enqueued for (None outside a job, or for a platform job)."""
    job = get_current_job()
    return (job.meta or {}).get("tenant_id") if job is not None else None


def valid_job_id(value: str) -> bool:
    """Whether a string (from a URL, say) can be a job id at all: checked before asking Redis."""
    return bool(_SAFE_ID.match(value or ""))


def _check_ids_only(kwargs: dict) -> None:
    for key, value in kwargs.items():
        if not isinstance(value, _ALLOWED_ARG_TYPES):
            raise TypeError(f"job argument {key!r} must be an id (int/str), not {type(value).__name__}")
        if isinstance(value, str) and ("@" in value or len(value) > 64):
            raise ValueError(f"job argument {key!r} looks like data, not an id")


def enqueue(queue_name: str, func: str, *, tenant_id: int | None, job_id: str | None = None,
            unique: bool = False, retry: int = 0, timeout: int | None = None, description: str | None = None,
            result_ttl: int = RESULT_TTL, **ids) -> Job:
    """Put a job on a queue. `job_id` makes it deterministic; with `unique` a second enqueue of the
    same id raises rq.exceptions.DuplicateJobError while the first still exists. `result_ttl` shortens how long a
    finished job is kept, for jobs that run every minute."""
    _check_ids_only(ids)
    if job_id is not None and not valid_job_id(job_id):
        raise ValueError("job ids may only contain letters, digits, '-' and '_'")
    return queue(queue_name).enqueue(
        func, kwargs=ids, job_id=job_id, unique=unique,
        retry=Retry(max=retry) if retry else None, job_timeout=timeout, description=description or func,
        result_ttl=result_ttl, failure_ttl=FAILURE_TTL, meta={"tenant_id": tenant_id},
    )
