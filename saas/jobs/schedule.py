"""Periodic work: one declared list, run by one or more `saas cron` processes (rq's CronScheduler).

The scheduler enqueues a small dispatcher job per entry and tick. The dispatcher enqueues the real job,
for a per-tenant entry one per active tenant, under a deterministic id (`<name>-<tenant>-<slot>`) with
`unique=True`: when two schedulers tick for the same slot, the second enqueue is refused by Redis and
only logged, so no tenant gets its sweep twice. Cron strings are in UTC.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta

from croniter import croniter
from flask import current_app
from redis import Redis
from rq import get_current_job
from rq.cron import CronScheduler
from rq.exceptions import DuplicateJobError

from saas.core import clock
from saas.jobs import enqueue
from saas.jobs.queues import FAILURE_TTL, QUEUES, RESULT_TTL

log = logging.getLogger(__name__)
DISPATCH_QUEUE = "default"


@dataclass(frozen=True)
class PeriodicJob:
    name: str          # short and stable: it is part of every job id
    queue: str
    func: str          # dotted path, called as func() as the job's tenant (or none)
    cron: str          # UTC
    per_tenant: bool
    result_ttl: int = RESULT_TTL  # shorter for entries that run every minute: Redis keeps every finished job

    def job_id(self, tenant_id: int | None, slot: datetime) -> str:
        owner = "platform" if tenant_id is None else str(tenant_id)
        return f"{self.name}-{owner}-{slot:%Y%m%d%H%M}"


SCHEDULE: tuple[PeriodicJob, ...] = (
    PeriodicJob("audit-verify", "sweeps", "saas.modules.audit.jobs.verify_audit_chain", "30 2 * * *", per_tenant=True),
    PeriodicJob("prune-jobs", "default", "saas.jobs.housekeeping.prune_finished", "7 * * * *", per_tenant=False),
    PeriodicJob("retention-sweep", "sweeps", "saas.modules.retention.jobs.scheduled_sweep", "15 1 * * *", per_tenant=True),
    PeriodicJob("agreement-reminders", "agreements", "saas.modules.agreements.jobs.send_reminders", "15 * * * *",
                per_tenant=True),
    PeriodicJob("agreement-expiry", "agreements", "saas.modules.agreements.jobs.expire_overdue", "45 * * * *",
                per_tenant=True),
    # The outbox relay: sends what is due (new, retried, or left by a dead relay) even when no nudge arrived.
    PeriodicJob("mail-relay", "mail", "saas.modules.outbox.jobs.relay", "* * * * *", per_tenant=True,
                result_ttl=600),
    # Seed 001 "Elke nacht wordt er een back-up gemaakt": one per tenant, then pruned by its plan.
    PeriodicJob("backup", "default", "saas.modules.backups.jobs.nightly_backup", "45 0 * * *", per_tenant=True),
    PeriodicJob("rights-reminders", "default", "saas.modules.rights.jobs.send_reminders", "0 6 * * *", per_tenant=True),
    # A sweep whose worker is gone (no heartbeat) is resumed within a minute; on "default", not behind the
    # long jobs of "sweeps". One platform job looks at every active tenant.
    PeriodicJob("resume-stale-sweeps", "default", "saas.modules.retention.jobs.resume_stale_sweeps", "* * * * *",
                per_tenant=False, result_ttl=600),
    # Issue 17: documents whose type keeps them for a period of their own (an NDA until its end date).
    PeriodicJob("documents-sweep", "sweeps", "saas.modules.documents.jobs.sweep", "25 1 * * *", per_tenant=True),
)


def entry(name: str) -> PeriodicJob:
    for periodic in SCHEDULE:
        if periodic.name == name:
            return periodic
    raise LookupError(f"no periodic job named {name!r}")


def slot_of(periodic: PeriodicJob, moment: datetime) -> datetime:
    """The cron tick a moment belongs to: the latest scheduled time at or before it."""
    return croniter(periodic.cron, moment + timedelta(seconds=1)).get_prev(datetime)


def _tick_moment() -> datetime:
    """When the scheduler fired: the dispatcher's enqueue time, so a dispatcher that waited in a busy
    queue still belongs to its own tick."""
    job = get_current_job()
    return job.enqueued_at if job is not None and job.enqueued_at else clock.now()


def _active_tenant_ids() -> list[int]:
    """The feature that owns the tenant table registers how to list the active ones (core names none)."""
    return current_app.extensions["saas.active_tenant_ids"]()


def dispatch(entry_name: str = "") -> list[str]:
    """Enqueue the jobs of one schedule entry for the current tick; returns the ids it enqueued."""
    periodic = entry(entry_name)
    slot = slot_of(periodic, _tick_moment())
    targets = _active_tenant_ids() if periodic.per_tenant else [None]
    enqueued = []
    for target in targets:
        job_id = periodic.job_id(target, slot)
        try:
            enqueue(periodic.queue, periodic.func, tenant_id=target, job_id=job_id, unique=True,
                    result_ttl=periodic.result_ttl)
        except DuplicateJobError:
            log.info("periodic job %s was already enqueued by another scheduler", job_id)
            continue
        enqueued.append(job_id)
    return enqueued


def build_cron(connection: Redis, name: str = "") -> CronScheduler:
    """A CronScheduler with one dispatcher per schedule entry."""
    scheduler = CronScheduler(connection=connection, name=name)
    for periodic in SCHEDULE:
        if periodic.queue not in QUEUES:
            raise ValueError(f"periodic job {periodic.name} uses unknown queue {periodic.queue}")
        scheduler.register(
            dispatch, DISPATCH_QUEUE, kwargs={"entry_name": periodic.name},
            cron=periodic.cron, name=f"saas:{periodic.name}", result_ttl=periodic.result_ttl, failure_ttl=FAILURE_TTL,
        )
    return scheduler
