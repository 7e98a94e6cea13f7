"""Job progress in `job.meta`, read by the portal."""
from __future__ import annotations

from rq import get_current_job

from saas.core import clock


def report(done: int, total: int, stage: str = "") -> None:
    """Record progress of the running job (no-op outside a job)."""
    job = get_current_job()
    if job is None:
        return
    job.meta["progress"] = {
        "done": done, "total": total, "stage": stage,
        "percent": round(100 * done / total, 1) if total else 100.0,
        "at": clock.now().isoformat(),
    }
    job.save_meta()


def read(job) -> dict:
    return (job.meta or {}).get("progress", {})
