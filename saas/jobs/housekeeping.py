"""Housekeeping jobs, run from the schedule (`saas.jobs.schedule.SCHEDULE`)."""
from __future__ import annotations

from rq import Queue
from rq.registry import clean_registries
from rq.worker_registration import clean_worker_registry

from saas.jobs.queues import QUEUES, redis


def prune_finished() -> dict:
    """Drop expired entries from every queue's job registries and forget dead workers.

    Workers only clean the queues they listen to, and only while they run; this keeps the registries the
    admin pages read short even for queues nobody served lately. Returns the jobs kept per registry."""
    kept = {}
    for name in QUEUES:
        queue = Queue(name, connection=redis())
        clean_registries(queue)
        clean_worker_registry(queue)
        kept[name] = {"finished": queue.finished_job_registry.count, "failed": queue.failed_job_registry.count}
    return kept
