"""Sweeps that heal (issue 16 item 2), on both databases and in this process: one running sweep per tenant
(two starts at the same instant make one run), the scheduler's resume of a run whose worker is gone (once,
under a new job that the old one yields to), and a batch redone after a terminated connection. The same
faults against a real forking worker, Redis and PostgreSQL are in tests/test_faults_sweep.py."""
from __future__ import annotations

from datetime import timedelta

import pytest
import sqlalchemy as sa
from rq.job import Job, JobStatus

from saas.extensions import db
from saas.jobs import transient
from saas.jobs.queues import redis
from saas.modules.retention import jobs, operations, queries
from saas.modules.retention.models import SweepRun
from saas.testing.retention_for_tests import rules, sweep_queues  # noqa: F401  (fixtures)
from tests.test_retention_sweep import AS_OF, edge_people, labels_of, state


# Audit lines a sweep writes per policy and batch (not per record): which records share a batch depends on
# their random ids, so twins differ there; and a resume's own line, which an undisturbed run has not.
PER_BATCH = {"retention.flag", "retention.reconsent", "retention.hold", "retention.review", "retention.sweep.resume"}


def comparable(found: dict) -> dict:
    return {**found, "audit": [(action, n) for action, n in found["audit"] if action not in PER_BATCH]}


def _long_silent(run: SweepRun) -> None:
    """The run's worker took its job and died: no heartbeat for longer than the stale limit."""
    Job.fetch(run.job_id, connection=redis()).set_status(JobStatus.STARTED)
    run.heartbeat_at = jobs.wall_now() - timedelta(seconds=jobs.stale_after() + 5)
    db.session.commit()


def test_a_start_that_loses_the_race_reports_the_winners_run(make_tenant, as_tenant, rules, monkeypatch):
    """Two starts at the same instant both see no running run; the database lets one insert (the real
    race, two processes, is in tests/test_faults_sweep.py)."""
    tenant = make_tenant(plugins=["rtest"])
    as_tenant(tenant)
    winner = jobs.begin_sweep(tenant.id, as_of=AS_OF, trigger="schedule", enqueue=False)
    looked = jobs._running_or_supersede
    monkeypatch.setattr(jobs, "_running_or_supersede", lambda as_of: looked(as_of) and None)   # saw nothing yet

    loser = jobs.begin_sweep(tenant.id, as_of=AS_OF, trigger="portal", enqueue=False)

    assert (winner.outcome, loser.outcome, loser.run.id, loser.job_id) == ("created", "running", winner.run.id, None)
    assert db.session.scalar(sa.select(sa.func.count()).select_from(SweepRun)) == 1


def test_the_database_refuses_a_second_running_sweep_but_not_a_dry_run(make_tenant, as_tenant):
    tenant = make_tenant()
    as_tenant(tenant)
    db.session.add(SweepRun(as_of=AS_OF, status="running", counts={}))
    db.session.add(SweepRun(as_of=AS_OF, status="running", dry_run=True, counts={}))
    db.session.add(SweepRun(as_of=AS_OF, status="finished", counts={}))
    db.session.commit()
    db.session.add(SweepRun(as_of=AS_OF, status="running", counts={}))
    with pytest.raises(sa.exc.IntegrityError):
        db.session.commit()
    db.session.rollback()


def test_the_scheduler_resumes_a_stale_run_once_and_the_old_job_yields(make_tenant, as_tenant, rules, sweep_queues,
                                                                      work_in_process):
    tenant, lively = make_tenant(plugins=["rtest"]), make_tenant(plugins=["rtest"])
    for owner in (tenant, lively):
        as_tenant(owner)
        edge_people(owner.id)
    as_tenant(lively)
    beating = jobs.start_sweep(lively.id, as_of=AS_OF)
    Job.fetch(beating.job_id, connection=redis()).set_status(JobStatus.STARTED)   # taken, and alive
    as_tenant(tenant)
    total = len(labels_of(tenant.id))
    run = jobs.start_sweep(tenant.id, as_of=AS_OF)
    first_job = run.job_id
    run.heartbeat_at = jobs.wall_now() - timedelta(hours=1)
    db.session.commit()
    as_tenant(None)
    assert jobs.resume_stale_sweeps() == []   # its job still waits in the queue: waiting is not stale

    as_tenant(tenant)
    _long_silent(queries.get_sweep(run.id))
    sweep_queues.empty()
    as_tenant(None)
    first, second = jobs.resume_stale_sweeps(), jobs.resume_stale_sweeps()   # two schedulers, one after the other

    assert first == [f"{first_job}-r1"] and second == []
    assert sweep_queues.job_ids == first
    # The old job comes back (RQ's own retry of a dead worker's job): it yields to the new one.
    as_tenant(tenant)
    yielded = jobs.run_sweep(tenant.id, str(run.id), owner=first_job)
    assert (yielded["status"], yielded["evaluated"]) == (jobs.HANDED_OVER, 0)
    work_in_process(["sweeps"])
    as_tenant(tenant)
    resumed = queries.get_sweep(run.id)
    assert (resumed.status, resumed.resumes, resumed.evaluated) == ("finished", 1, total)
    as_tenant(lively)
    assert queries.get_sweep(beating.id).resumes == 0


def _connection_lost() -> sa.exc.OperationalError:
    return sa.exc.OperationalError("SELECT 1", {}, Exception("server closed the connection unexpectedly"),
                                   connection_invalidated=True)


def test_a_batch_that_loses_its_connection_is_redone_and_the_run_ends_like_its_twin(make_tenant, as_tenant, rules,
                                                                                    monkeypatch):
    faulty, twin = make_tenant(plugins=["rtest"]), make_tenant(plugins=["rtest"])
    labels = {}
    for tenant in (faulty, twin):
        as_tenant(tenant)
        edge_people(tenant.id)
        labels[tenant.id] = labels_of(tenant.id)
    as_tenant(twin)
    run = jobs.start_sweep(twin.id, as_of=AS_OF, enqueue=False)
    jobs.run_sweep(twin.id, str(run.id), batch_size=4)
    expected = comparable(state(labels[twin.id], queries.get_sweep(run.id)))

    monkeypatch.setattr(transient, "BACKOFF", (0, 0, 0))
    next_batch, destroy_keys, calls = queries.next_batch, operations.destroy_keys, {"batch": 0, "keys": 0}

    def next_batch_failing_twice(*args, **kwargs):
        calls["batch"] += 1
        if calls["batch"] in (2, 5):
            raise _connection_lost()
        return next_batch(*args, **kwargs)

    def destroy_keys_failing_once(pending):
        calls["keys"] += 1
        if calls["keys"] == 1:
            raise _connection_lost()
        return destroy_keys(pending)

    monkeypatch.setattr(queries, "next_batch", next_batch_failing_twice)
    monkeypatch.setattr(operations, "destroy_keys", destroy_keys_failing_once)
    as_tenant(faulty)
    run = jobs.start_sweep(faulty.id, as_of=AS_OF, enqueue=False)
    jobs.run_sweep(faulty.id, str(run.id), batch_size=4)

    as_tenant(faulty)
    assert calls["keys"] >= 2
    assert comparable(state(labels[faulty.id], queries.get_sweep(run.id))) == expected


def test_a_real_error_is_not_retried(ctx, monkeypatch):
    monkeypatch.setattr(transient, "BACKOFF", (0, 0, 0))
    tries = []

    def broken():
        tries.append(1)
        raise sa.exc.IntegrityError("INSERT", {}, Exception("duplicate key"))

    with pytest.raises(sa.exc.IntegrityError):
        transient.retry_transient(broken, what="test")
    assert len(tries) == 1
    assert transient.is_transient(_connection_lost())
