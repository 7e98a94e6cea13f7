"""The scheduled housekeeping jobs, run by the in-process worker."""
import sqlalchemy as sa
from rq.job import JobStatus

from saas import jobs
from saas.extensions import db
from saas.jobs.queues import queue
from saas.modules.audit import operations as audit
from saas.modules.audit.models import AuditEntry, AuditHead


def _verify_lines(as_tenant, tenant) -> list[tuple[str, dict]]:
    as_tenant(tenant)
    entries = db.session.scalars(sa.select(AuditEntry).where(AuditEntry.action == "audit.verify")).all()
    return [(entry.outcome, entry.detail) for entry in entries]


def test_audit_chain_verification_records_ok_and_fails_on_a_broken_chain(ctx, make_tenant, as_tenant,
                                                                        work_in_process):
    healthy, broken = make_tenant(), make_tenant()
    for tenant in (healthy, broken):
        as_tenant(tenant)
        audit.record("test.event", "tenant", tenant.id)
    as_tenant(broken)
    db.session.scalar(sa.select(AuditHead)).seq += 1  # the head now claims an entry that is not there
    as_tenant(None)
    queue("sweeps").empty()
    ok = jobs.enqueue("sweeps", "saas.modules.audit.jobs.verify_audit_chain", tenant_id=healthy.id)
    failed = jobs.enqueue("sweeps", "saas.modules.audit.jobs.verify_audit_chain", tenant_id=broken.id)

    work_in_process(["sweeps"])

    assert ok.get_status() == JobStatus.FINISHED
    assert _verify_lines(as_tenant, healthy) == [("ok", {"count": 1})]
    assert failed.get_status() == JobStatus.FAILED
    assert "AuditChainBroken" in failed.latest_result().exc_string
    assert _verify_lines(as_tenant, broken) == [("failed", {"count": 1, "seq": 2, "kind": "deleted"})]


def test_prune_finished_drops_expired_registry_entries(ctx, job_queue, work_in_process):
    job = jobs.enqueue("default", "saas.testing.jobs_for_tests.report_steps", tenant_id=None, steps=1)
    work_in_process(["default"])
    registry = job_queue.finished_job_registry
    assert job.id in registry
    registry.connection.zadd(registry.key, {job.id: 1})  # as if its result_ttl ran out long ago

    from saas.jobs.housekeeping import prune_finished

    with ctx.app_context():
        kept = prune_finished()

    assert job.id not in registry
    assert set(kept) == set(jobs.queues.QUEUES)
