"""Housekeeping jobs, run from the schedule (`saas.jobs.schedule.SCHEDULE`)."""
from __future__ import annotations

from rq import Queue
from rq.registry import clean_registries
from rq.worker_registration import clean_worker_registry

from saas.extensions import db
from saas.jobs.queues import QUEUES, redis


def prune_finished(tenant_id: int | None = None) -> dict:
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


class AuditChainBroken(RuntimeError):
    """A tenant's audit chain failed verification; the job fails so the tenant's admins see it."""


def verify_audit_chain(tenant_id: int) -> dict:
    """Daily per tenant: verify the audit hash chain and record the outcome in that same log.

    A broken chain is recorded and committed first, then the job fails: it shows on the tenant's
    failed-jobs page and in the worker log (ids and counts only)."""
    from saas.modules.audit import operations as audit
    from saas.modules.audit.queries import verify

    result = verify(tenant_id)
    detail = {"count": result.count} if result.ok else {"count": result.count, "seq": result.seq, "kind": result.kind}
    audit.record("audit.verify", "tenant", tenant_id, outcome="ok" if result.ok else "failed",
                 detail=detail, actor_kind="system")
    if not result.ok:
        db.session.commit()
        raise AuditChainBroken(f"tenant {tenant_id}: first problem at seq {result.seq} ({result.kind})")
    return detail
