"""The declared schedule, and deterministic ids that keep two schedulers from double-enqueueing."""
import signal
import subprocess
from datetime import datetime, timedelta, timezone

import pytest
from croniter import croniter
from rq.utils import import_attribute, now

from saas.core import clock
from saas.jobs import schedule
from saas.jobs.queues import QUEUES, queue, redis
from saas.jobs.schedule import PeriodicJob
from saas.testing.fixtures_jobs import ROOT, SAAS, wait_for

T = "saas.testing.jobs_for_tests."


def test_every_schedule_entry_is_runnable():
    names = [periodic.name for periodic in schedule.SCHEDULE]
    assert len(names) == len(set(names))
    for periodic in schedule.SCHEDULE:
        assert periodic.queue in QUEUES
        assert croniter.is_valid(periodic.cron)
        assert callable(import_attribute(periodic.func))
        assert periodic.name.replace("-", "").isalnum()


def test_saas_cron_registers_one_dispatcher_per_entry(ctx):
    cron_jobs = schedule.build_cron(redis()).get_jobs()
    assert [job.name for job in cron_jobs] == [f"saas:{p.name}" for p in schedule.SCHEDULE]
    assert {job.func for job in cron_jobs} == {schedule.dispatch}


@pytest.fixture()
def sweep_entry(monkeypatch):
    entry = PeriodicJob("test-sweep", "sweeps", T + "visible_client_tenants", "15 3 * * *", per_tenant=True)
    monkeypatch.setattr(schedule, "SCHEDULE", (entry,))
    for name in ("default", "sweeps"):
        queue(name).empty()
    return entry


def _tick(scheduler) -> int:
    for cron_job in scheduler.get_jobs():
        cron_job.next_enqueue_time = now() - timedelta(seconds=1)
    return len(scheduler.enqueue_jobs())


def test_two_schedulers_on_the_same_tick_enqueue_each_tenants_job_once(ctx, make_tenant, sweep_entry,
                                                                      work_in_process):
    active, inactive = make_tenant(), make_tenant(active=False)
    first, second = schedule.build_cron(redis(), name="cron-a"), schedule.build_cron(redis(), name="cron-b")
    assert _tick(first) == 1 and _tick(second) == 1
    assert queue("default").count == 2  # two dispatchers...

    work_in_process(["default"])

    sweep_ids = queue("sweeps").job_ids
    mine = [job_id for job_id in sweep_ids if job_id.startswith(f"test-sweep-{active.id}-")]
    assert len(mine) == 1  # ...one job for the tenant
    slot = schedule.slot_of(sweep_entry, now())
    assert mine == [sweep_entry.job_id(active.id, slot)]
    assert not [job_id for job_id in sweep_ids if job_id.startswith(f"test-sweep-{inactive.id}-")]


def test_dispatch_enqueues_once_per_tick_and_again_on_the_next(ctx, make_tenant, sweep_entry):
    tenant = make_tenant()

    def dispatched_for_tenant(moment) -> list[str]:
        clock.set_now(moment)
        return [job_id for job_id in schedule.dispatch(entry_name="test-sweep")
                if job_id.startswith(f"test-sweep-{tenant.id}-")]

    monday = datetime(2025, 3, 3, 3, 20, tzinfo=timezone.utc)
    assert dispatched_for_tenant(monday) == [f"test-sweep-{tenant.id}-202503030315"]
    assert dispatched_for_tenant(monday) == []                          # the same tick: refused by Redis
    assert dispatched_for_tenant(monday + timedelta(hours=23)) == []    # still before Tuesday 03:15
    assert dispatched_for_tenant(monday + timedelta(days=1)) == [f"test-sweep-{tenant.id}-202503040315"]


def test_saas_cron_runs_rq_cron_with_the_schedule_and_stops_on_sigterm(ctx, worker_env):
    from rq.cron import CronScheduler

    before = {scheduler.name for scheduler in CronScheduler.all(redis())}
    proc = subprocess.Popen([SAAS, "cron"], cwd=ROOT, env=worker_env, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT)
    try:
        started = wait_for(lambda: [s for s in CronScheduler.all(redis()) if s.name not in before],
                           "saas cron to register with Redis")
        assert len(started) == 1
        registered = CronScheduler.fetch(started[0].name, redis())
        assert registered.pid == proc.pid
        assert [job.name for job in registered.get_jobs()] == [f"saas:{p.name}" for p in schedule.SCHEDULE]
    finally:
        proc.send_signal(signal.SIGTERM)
        output = proc.communicate(timeout=15)[0].decode()
    assert proc.returncode == 0, output
    assert started[0].name not in {scheduler.name for scheduler in CronScheduler.all(redis())}
