"""A real forking `saas worker` subprocess: tenant context, one unit of work, progress, crash recovery."""
import os
import signal
import time

import sqlalchemy as sa
from rq.job import Job, JobStatus

from saas import jobs
from saas.extensions import db
from saas.jobs.queues import redis
from saas.modules.clients.models import ClientOrganisation
from saas.testing import jobs_for_tests
from saas.testing.fixtures_jobs import wait_for

T = "saas.testing.jobs_for_tests."


def _client_names(as_tenant, tenant) -> list[str]:
    as_tenant(tenant)
    return sorted(db.session.scalars(sa.select(ClientOrganisation.name)))


def test_job_runs_as_its_tenant_and_sees_only_its_rows(ctx, make_tenant, as_tenant, job_queue, run_worker):
    a, b = make_tenant(), make_tenant()
    for tenant in (a, b):
        as_tenant(tenant)
        db.session.add(ClientOrganisation(name=f"own-{tenant.slug}"))
    as_tenant(None)
    mine = jobs.enqueue("default", T + "visible_client_tenants", tenant_id=a.id)
    tenantless = jobs.enqueue("default", T + "visible_client_tenants", tenant_id=None)

    run_worker(queues=["default"])

    assert mine.get_status() == JobStatus.FINISHED
    seen = mine.return_value()
    assert seen["current"] == a.id
    assert seen["orm"] == [a.id]
    if db.engine.dialect.name == "postgresql":
        assert seen["sql"] == [a.id]  # row-level security, independent of the ORM filter
    else:
        assert b.id in seen["sql"]  # SQLite has no RLS: the ORM filter is what keeps b out above
    assert tenantless.get_status() == JobStatus.FAILED  # no tenant: the ORM fails closed
    assert "NoTenantError" in tenantless.latest_result().exc_string


def test_job_commits_when_it_returns_and_rolls_back_when_it_raises(ctx, make_tenant, as_tenant, job_queue,
                                                                    run_worker):
    a = make_tenant()
    as_tenant(None)
    kept = jobs.enqueue("default", T + "ensure_marker_client", tenant_id=a.id, marker="kept")
    failed = jobs.enqueue("default", T + "write_then_fail", tenant_id=a.id, marker="rolled-back")

    run_worker(queues=["default"])

    assert kept.get_status() == JobStatus.FINISHED
    assert failed.get_status() == JobStatus.FAILED
    assert _client_names(as_tenant, a) == ["kept"]


def test_progress_is_kept_in_job_meta(ctx, make_tenant, job_queue, run_worker):
    a = make_tenant()
    job = jobs.enqueue("default", T + "report_steps", tenant_id=a.id, steps=4)

    run_worker(queues=["default"])

    job = Job.fetch(job.id, connection=redis())
    assert job.meta["tenant_id"] == a.id
    assert {k: job.meta["progress"][k] for k in ("done", "total", "stage", "percent")} == {
        "done": 4, "total": 4, "stage": "counting", "percent": 100.0,
    }


def test_job_of_a_killed_worker_is_retried_and_ends_in_the_right_state(ctx, make_tenant, as_tenant, job_queue,
                                                                      run_worker):
    a = make_tenant()
    as_tenant(None)
    marker = f"crash-{a.slug}"
    redis().set(jobs_for_tests.hold_key(marker), 1, ex=60)
    job = jobs.enqueue("default", T + "held_marker_client", tenant_id=a.id, marker=marker, retry=1)

    worker = run_worker(queues=["default"], wait=False)
    horse_pid = wait_for(lambda: Job.fetch(job.id, connection=redis()).meta.get("pid"), "the job to start")
    assert jobs.progress.read(Job.fetch(job.id, connection=redis()))["stage"] == "holding"
    os.kill(worker.pid, signal.SIGKILL)
    os.kill(horse_pid, signal.SIGKILL)  # the horse runs in its own process group: the machine "crashed"
    worker.wait(10)

    # Nobody is left to report the job: it stays started, and its uncommitted write is gone.
    assert job.get_status() == JobStatus.STARTED
    assert job.id in job_queue.started_job_registry
    assert _client_names(as_tenant, a) == []

    # RQ's maintenance moves jobs whose heartbeat expired; a retry is left, so it is requeued.
    redis().delete(jobs_for_tests.hold_key(marker))
    job_queue.started_job_registry.cleanup(timestamp=time.time() + 24 * 3600)
    assert job.get_status() == JobStatus.QUEUED

    run_worker(queues=["default"])

    assert job.get_status() == JobStatus.FINISHED
    assert _client_names(as_tenant, a) == [marker]
    assert jobs.progress.read(Job.fetch(job.id, connection=redis()))["stage"] == "done"
