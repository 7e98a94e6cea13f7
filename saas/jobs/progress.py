"""Job progress in `job.meta`, read by the portal."""
from __future__ import annotations

import logging

import redis.exceptions
from rq import get_current_job

from saas.core import clock

log = logging.getLogger(__name__)


def report(done: int, total: int, stage: str = "") -> None:
    """Record progress of the running job (no-op outside a job). Progress is for people to look at: a
    Redis that is away for a moment must not stop the job's work (the database keeps what counts)."""
    job = get_current_job()
    if job is None:
        return
    job.meta["progress"] = {
        "done": done, "total": total, "stage": stage,
        "percent": round(100 * done / total, 1) if total else 100.0,
        "at": clock.now().isoformat(),
    }
    try:
        job.save_meta()
    except (redis.exceptions.ConnectionError, redis.exceptions.TimeoutError) as exc:
        log.warning("job %s: progress not saved, Redis unreachable (%s)", job.id, type(exc).__name__)


def read(job) -> dict:
    return (job.meta or {}).get("progress", {})
