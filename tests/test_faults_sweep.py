"""Faults injected into retention sweeps (issue 16 items 2 and 6), on PostgreSQL with a real Redis and real
forking `saas worker`s: kill -9 of the worker at a batch commit and in the purge phase (between the two
databases), Redis killed and restarted empty, the database connections terminated three times, two starts
at the same instant. Each ends with rows, keys and retention decisions equal to an undisturbed twin run
(`comparable(state(...))`), and prints its time to recover (`pytest -s`).

The sweeps run with small batches and a short heartbeat (`SAAS_SWEEP_*` settings of the worker), and the
scheduler's minute tick is played by calling `resume_stale_sweeps` every second, so that each test stays
well under a minute; in production the same recovery takes up to the stale limit (60 s) plus one tick.
The worker is the real `saas` command with the test rules installed (`saas.testing.worker_with_test_rules`).
Moments are pinned with database locks, not sleeps: the test holds the run's row (the sweep stops right
after a batch commit, before the next) or the key store's ledger table (the sweep stops between deleting
rows and destroying keys)."""
from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from datetime import date, timedelta
from pathlib import Path
from types import SimpleNamespace

import pytest
import sqlalchemy as sa
from redis import Redis
from rq.job import Job, JobStatus

from saas.extensions import db
from saas.jobs import enqueue
from saas.jobs.queues import queue, redis
from saas.modules.retention import jobs, queries
from saas.modules.retention.models import SweepRun
from saas.testing import services
from saas.testing.core import database_only
from saas.testing.fixtures_jobs import ROOT, wait_for
from saas.testing.retention_for_tests import rules, sweep_queues  # noqa: F401  (fixtures)
from tests.test_retention_heal import comparable
from tests.test_retention_sweep import AS_OF, add_company, add_subject, labels_of, state

pytestmark = database_only("postgresql", "row locks, pg_terminate_backend and a forking worker on the real database")

PEOPLE = 300
BATCH = 20
HEARTBEAT, STALE = 0.5, 3.0     # seconds; production: 20 and 60
RECOVER_WITHIN = 90             # seconds, per fault (a busy shared test machine)


def people(tenant_id: int) -> None:
    """PEOPLE subjects and 20 companies with every kind of decision (purge with and without suppression,
    re-consent mails, flags, restrict under a legal hold), the same for every tenant."""
    for i in range(PEOPLE):
        kind = i % 8
        if kind == 0:
            add_subject(f"s{i}", "candidate", email=f"k{i}@voorbeeld.example", last_contact_on=date(2021, 1, 1))
        elif kind == 1:
            add_subject(f"s{i}", "candidate", email=f"k{i}@voorbeeld.example", last_contact_on=date(2023, 1, 5))
        elif kind == 2:
            add_subject(f"s{i}", "prospect", last_verified_on=date(2023, 6, 1))
        elif kind == 3:
            add_subject(f"s{i}", "prospect", phone=f"0612{i:06d}", last_verified_on=date(2022, 6, 1))
        elif kind == 4:
            add_subject(f"s{i}", "client_contact", relationship_ended_on=date(2014, 1, 1))
        elif kind == 5:
            add_subject(f"s{i}", "client_contact", relationship_ended_on=date(2022, 1, 1))
        else:
            add_subject(f"s{i}", "candidate", last_contact_on=date(2024, 1, 1))
    for i in range(20):
        add_company(f"c{i}", last_verified_on=date(2023, 1, 1) + timedelta(days=i))
    db.session.commit()


# --- the machinery --------------------------------------------------------------------------------------

def children(pid: int) -> list[int]:
    """Every descendant of a process (the work horse runs in a process group of its own)."""
    found, parents = [], {pid}
    for _ in range(3):
        for entry in Path("/proc").iterdir():
            if entry.name.isdigit() and int(entry.name) not in found:
                try:
                    ppid = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
                except (OSError, IndexError, ValueError):
                    continue
                if ppid in parents:
                    found.append(int(entry.name))
        parents |= set(found)
    return found


def kill_hard(proc: subprocess.Popen) -> None:
    """kill -9 of the worker and everything it started: the machine "crashed"."""
    for pid in [*children(proc.pid), proc.pid]:
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
    proc.wait(10)


@pytest.fixture()
def start_worker(worker_env, tmp_path):
    """start_worker(**env) -> a running forking worker on "sweeps" and "default", with the test rules."""
    started: list[subprocess.Popen] = []

    def _start(**env) -> subprocess.Popen:
        environment = {**worker_env, "SAAS_SWEEP_BATCH_SIZE": str(BATCH),
                       "SAAS_SWEEP_HEARTBEAT_SECONDS": str(HEARTBEAT), "SAAS_SWEEP_STALE_SECONDS": str(STALE), **env}
        log = tmp_path / f"worker-{len(started)}.log"
        with open(log, "wb") as out:
            proc = subprocess.Popen(
                [sys.executable, "-m", "saas.testing.worker_with_test_rules", "worker", "sweeps", "default"],
                cwd=ROOT, env=environment, stdout=out, stderr=subprocess.STDOUT)
        proc.log_path = log
        started.append(proc)
        return proc

    yield _start
    for proc in started:
        if proc.poll() is None:
            kill_hard(proc)
        if os.environ.get("SAAS_FAULT_LOGS"):
            print(f"--- {proc.log_path.name}\n" + "\n".join(proc.log_path.read_text().splitlines()[-25:]))


@pytest.fixture()
def healing(app, monkeypatch, rules, sweep_queues):
    """This process (the test's scheduler and starts) with the workers' short stale limit."""
    monkeypatch.setattr(app.extensions["saas.settings"], "sweep_stale_seconds", STALE)
    queue("default").empty()


_ADMIN: list = [None]


@pytest.fixture()
def admin(settings, pg_server):
    """Superuser connections to the data database and the key store (row-level security does not apply)."""
    data = sa.engine.make_url(settings.database_url).database
    engines = {name: sa.create_engine(pg_server.url("postgres", database))
               for name, database in (("data", data), ("keys", f"{data}_keys"))}
    _ADMIN[:] = [engines]
    yield engines
    _ADMIN[:] = [None]
    for engine in engines.values():
        engine.dispose()


def read_run(admin, run_id) -> dict:
    with admin["data"].connect() as conn:
        row = conn.execute(sa.text("SELECT status, evaluated, job_id, resumes FROM sweep_run WHERE id = :id"),
                           {"id": run_id}).one()
    return row._asdict()


class Recovery:
    """Seconds from the fault to the resume (if one was needed) and to the end of the run."""

    def __init__(self, resumed: float | None, finished: float):
        self.resumed, self.finished = resumed, finished

    def __str__(self) -> str:
        resumed = f"resumed after {self.resumed:.1f} s, " if self.resumed is not None else "no resume needed, "
        return f"{resumed}finished {self.finished:.1f} s after the fault"


def scheduler_until_finished(as_tenant, admin, run_id, since: float, timeout: float = RECOVER_WITHIN) -> Recovery:
    """Play the scheduler (its minute tick, every second here) until the run has finished."""
    deadline, resumed = time.monotonic() + timeout, None
    while time.monotonic() < deadline:
        if read_run(admin, run_id)["status"] == "finished":
            return Recovery(resumed, time.monotonic() - since)
        as_tenant(None)
        try:
            if jobs.resume_stale_sweeps() and resumed is None:
                resumed = time.monotonic() - since
        except Exception as exc:  # noqa: BLE001  (Redis may be away: the next tick tries again)
            print(f"  scheduler tick failed: {type(exc).__name__}")
        db.session.rollback()
        time.sleep(1)
    raise AssertionError(f"run not finished {timeout} s after the fault: {read_run(admin, run_id)}")


def spare_worker(start_worker, run_id) -> subprocess.Popen:
    """A second worker, idle and registered, once the first has taken the run's job (production runs
    several): recovery then does not wait for a worker to start."""
    from rq import Worker

    wait_for(lambda: Job.fetch(read_job_id(run_id), connection=redis()).get_status() == JobStatus.STARTED,
             "the first worker to take the sweep", 60)
    spare = start_worker()
    wait_for(lambda: len(Worker.all(connection=redis())) >= 2, "the spare worker to register", 60)
    return spare


def read_job_id(run_id) -> str:
    return _ADMIN[0] and read_run(_ADMIN[0], run_id)["job_id"]


def start_and_finish(as_tenant, admin, tenant, timeout: float = 120) -> SweepRun:
    as_tenant(tenant)
    run = jobs.begin_sweep(tenant.id, as_of=AS_OF).run
    wait_for(lambda: read_run(admin, run.id)["status"] == "finished", f"the sweep of {tenant.slug}", timeout)
    as_tenant(tenant)
    return queries.get_sweep(run.id)


class RunRowHeld:
    """The test holds the run's row lock: the sweep stops right after the batch it is in commits."""

    def __init__(self, admin, run_id):
        self.conn = admin["data"].connect()
        self.tx = self.conn.begin()
        self.evaluated = self.conn.execute(sa.text("SELECT evaluated FROM sweep_run WHERE id = :id FOR UPDATE"),
                                           {"id": run_id}).scalar_one()

    def release(self) -> None:
        self.tx.rollback()
        self.conn.close()


def waiting_on_locks(admin, database: str = "data") -> int:
    with admin[database].connect() as conn:
        return conn.execute(sa.text("SELECT count(*) FROM pg_locks WHERE NOT granted")).scalar_one()


def twins(make_tenant, as_tenant, count: int = 2):
    tenants, labels = [make_tenant(plugins=["rtest"]) for _ in range(count)], {}
    for tenant in tenants:
        as_tenant(tenant)
        people(tenant.id)
        labels[tenant.id] = labels_of(tenant.id)
    return tenants, labels


def end_state(as_tenant, tenant, labels, run_id) -> dict:
    as_tenant(tenant)
    found = comparable(state(labels[tenant.id], queries.get_sweep(run_id)))
    found["run"] = found["run"][:1] + found["run"][2:]   # (status, evaluated, counts): the phase is "done"
    return found


# --- the faults ---------------------------------------------------------------------------------------------

def test_worker_killed_at_a_batch_commit_is_resumed_by_the_scheduler(make_tenant, as_tenant, healing, admin,
                                                                       start_worker):
    (twin, killed), labels = twins(make_tenant, as_tenant)
    worker = start_worker()
    expected_run = start_and_finish(as_tenant, admin, twin)
    expected = end_state(as_tenant, twin, labels, expected_run.id)

    as_tenant(killed)
    run = jobs.begin_sweep(killed.id, as_of=AS_OF).run
    run_id = run.id
    held = RunRowHeld(admin, run_id)                 # the sweep waits before its first batch
    spare_worker(start_worker, run_id)
    held.release()
    wait_for(lambda: read_run(admin, run_id)["evaluated"] >= PEOPLE // 3, "a third of the sweep")
    held = RunRowHeld(admin, run_id)                 # waits for the batch under way to commit
    wait_for(lambda: waiting_on_locks(admin) >= 1, "the next batch to wait for the run's row")
    kill_hard(worker)
    since = time.monotonic()
    held.release()
    assert read_run(admin, run_id)["evaluated"] == held.evaluated   # whole batches only

    took = scheduler_until_finished(as_tenant, admin, run_id, since)

    after = read_run(admin, run_id)
    print(f"\n[fault] kill -9 at a batch commit ({held.evaluated}/{PEOPLE + 20} evaluated): {took} "
          f"(stale limit {STALE} s, scheduler tick 1 s); resumes={after['resumes']}")
    assert after["resumes"] == 1 and after["job_id"].endswith("-r1")
    assert end_state(as_tenant, killed, labels, run_id) == expected


def test_worker_killed_in_the_purge_phase_leaves_no_key_behind(make_tenant, as_tenant, healing, admin,
                                                               start_worker):
    (twin, killed), labels = twins(make_tenant, as_tenant)
    worker = start_worker()
    expected_run = start_and_finish(as_tenant, admin, twin)
    expected = end_state(as_tenant, twin, labels, expected_run.id)

    # The key store's ledger is held: the first batch with purges deletes its rows, commits, and then waits
    # to destroy the keys; the next batch waits for that.
    keys = admin["keys"].connect()
    ledger = keys.begin()
    keys.execute(sa.text("LOCK TABLE shredded_subject IN SHARE ROW EXCLUSIVE MODE"))
    as_tenant(killed)
    run = jobs.begin_sweep(killed.id, as_of=AS_OF).run
    run_id = run.id
    spare_worker(start_worker, run_id)

    def unfinished_purges() -> int:
        with admin["data"].connect() as conn:
            return conn.execute(sa.text(
                "SELECT count(*) FROM retention_decision WHERE sweep_run_id = :id AND action = 'purge' "
                "AND NOT completed"), {"id": run_id}).scalar_one()

    wait_for(lambda: waiting_on_locks(admin, "keys") >= 1 and unfinished_purges(), "the key destruction to wait")
    time.sleep(0.5)   # the next batch reaches its wait for the keys
    unfinished = unfinished_purges()   # rows gone, keys not yet: between the two databases
    kill_hard(worker)
    since = time.monotonic()
    ledger.rollback()
    keys.close()

    took = scheduler_until_finished(as_tenant, admin, run_id, since)

    print(f"\n[fault] kill -9 in the purge phase ({unfinished} purges between the databases): {took}")
    assert end_state(as_tenant, killed, labels, run_id) == expected


@pytest.fixture()
def own_redis(app, monkeypatch):
    """A throwaway redis-server of this test's own (it kills it), used by this process and the workers."""
    port = services.free_port()
    workdir = tempfile.mkdtemp(prefix="saas-redis-fault-")
    command = [shutil.which("redis-server"), "--port", str(port), "--bind", "127.0.0.1", "--save", "",
               "--appendonly", "no", "--dir", workdir]
    server = {"proc": None}

    def start():
        server["proc"] = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        services._wait_port(port, "redis-server")

    def kill():
        server["proc"].kill()
        server["proc"].wait(10)

    start()
    url = f"redis://127.0.0.1:{port}/0"
    monkeypatch.setitem(app.extensions, "saas.redis", Redis.from_url(url))
    monkeypatch.setattr(app.extensions["saas.settings"], "redis_url", url)
    yield url, start, kill
    if server["proc"].poll() is None:
        kill()
    shutil.rmtree(workdir, ignore_errors=True)


def test_redis_killed_and_restarted_empty_the_worker_carries_on(make_tenant, as_tenant, healing, admin, own_redis,
                                                                start_worker):
    url, start_redis, kill_redis = own_redis
    (twin, faulted), labels = twins(make_tenant, as_tenant)
    worker = start_worker(REDIS_URL=url)
    expected_run = start_and_finish(as_tenant, admin, twin)
    expected = end_state(as_tenant, twin, labels, expected_run.id)

    as_tenant(faulted)
    run = jobs.begin_sweep(faulted.id, as_of=AS_OF).run
    run_id = run.id
    wait_for(lambda: read_run(admin, run_id)["evaluated"] >= PEOPLE // 3, "a third of the sweep")
    held = RunRowHeld(admin, run_id)
    kill_redis()
    since = time.monotonic()
    held.release()              # the sweep goes on while Redis is away
    time.sleep(4)
    start_redis()               # empty: every queue, job and worker registration is gone
    back = time.monotonic()

    took = scheduler_until_finished(as_tenant, admin, run_id, since)
    # The same worker process is still there and takes new jobs from the empty Redis.
    probe = enqueue("default", "saas.testing.jobs_for_tests.report_steps", tenant_id=faulted.id, steps=1)
    wait_for(lambda: probe.get_status() == JobStatus.FINISHED, "the worker to take a job after the outage", 60)
    working_again = time.monotonic() - back

    print(f"\n[fault] Redis killed for 4 s and restarted empty: {took}; the "
          f"same worker took a new job {working_again:.1f} s after Redis was back; "
          f"resumes={read_run(admin, run_id)['resumes']}")
    assert worker.poll() is None, worker.log_path.read_text()
    assert end_state(as_tenant, faulted, labels, run_id) == expected


def test_database_connections_terminated_three_times_cost_no_retry(make_tenant, as_tenant, healing, admin,
                                                                   start_worker):
    (twin, faulted), labels = twins(make_tenant, as_tenant)
    start_worker()
    expected_run = start_and_finish(as_tenant, admin, twin)
    expected = end_state(as_tenant, twin, labels, expected_run.id)

    as_tenant(faulted)
    faulted_id, faulted_slug = faulted.id, faulted.slug
    run = jobs.begin_sweep(faulted.id, as_of=AS_OF).run
    run_id = run.id
    recoveries = []
    for share in (4, 2, 4 / 3):
        wait_for(lambda: read_run(admin, run_id)["evaluated"] >= (PEOPLE + 20) / share - BATCH,
                 "the sweep to get further", 60)
        held = RunRowHeld(admin, run_id)
        wait_for(lambda: waiting_on_locks(admin) >= 1, "the next batch to wait for the run's row")
        db.session.close()
        terminated = 0
        for name in ("data", "keys"):
            with admin[name].connect() as conn:
                terminated += conn.execute(sa.text(
                    "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
                    "WHERE datname = current_database() AND pid <> pg_backend_pid() AND usename <> 'postgres'"
                )).scalar_one()
        since = time.monotonic()
        held.release()
        wait_for(lambda: read_run(admin, run_id)["evaluated"] > held.evaluated
                 or read_run(admin, run_id)["status"] != "running", "a batch after the termination", 60)
        recoveries.append((terminated, time.monotonic() - since))
    db.session.close()
    for engine in db.engines.values():   # this process's pooled connections were terminated too
        engine.dispose()
    faulted = SimpleNamespace(id=faulted_id, slug=faulted_slug)   # the tenant object left with its session
    wait_for(lambda: read_run(admin, run_id)["status"] == "finished", "the sweep to finish", 60)

    job = Job.fetch(read_run(admin, run_id)["job_id"], connection=redis())
    print("\n[fault] PostgreSQL connections terminated 3 times: " + "; ".join(
        f"{n} connection(s) terminated, next batch committed {s:.2f} s later" for n, s in recoveries)
        + f"; RQ retries left {job.retries_left}, resumes {read_run(admin, run_id)['resumes']}")
    if job.retries_left != jobs.RETRIES:
        print([result.exc_string for result in job.results() if result.exc_string])
    assert all(n >= 1 for n, _ in recoveries)
    assert job.get_status() == JobStatus.FINISHED and job.retries_left == jobs.RETRIES   # no retry used
    assert read_run(admin, run_id)["resumes"] == 0
    assert end_state(as_tenant, faulted, labels, run_id) == expected


def test_two_starts_at_the_same_instant_make_one_run(make_tenant, as_tenant, healing, admin, worker_env,
                                                     start_worker):
    (twin, raced), labels = twins(make_tenant, as_tenant)
    as_tenant(None)
    # Both commands look, find no running sweep, and insert: the inserts wait here, then go at once.
    gate = admin["data"].connect()
    held = gate.begin()
    gate.execute(sa.text("LOCK TABLE sweep_run IN SHARE ROW EXCLUSIVE MODE"))
    environment = {**worker_env, "SAAS_SWEEP_STALE_SECONDS": str(STALE)}
    commands = [subprocess.Popen([sys.executable, "-m", "saas.testing.worker_with_test_rules", "sweep",
                                  "--tenant", raced.slug, "--now", AS_OF.isoformat()], cwd=ROOT, env=environment,
                                 stdout=subprocess.PIPE, stderr=subprocess.STDOUT) for _ in range(2)]
    wait_for(lambda: waiting_on_locks(admin) >= 2, "both starts to insert", 60)
    since = time.monotonic()
    held.rollback()
    gate.close()
    outputs = [proc.communicate(timeout=60)[0].decode() for proc in commands]
    settled = time.monotonic() - since

    assert [proc.returncode for proc in commands] == [0, 0], outputs
    assert "IntegrityError" not in "".join(outputs)
    queued = [out for out in outputs if " queued as job " in out and "nothing new" not in out]
    found = [out for out in outputs if "nothing new was queued" in out]
    assert len(queued) == 1 and len(found) == 1, outputs
    as_tenant(raced)
    runs = db.session.scalars(sa.select(SweepRun)).all()
    assert len(runs) == 1 and queue("sweeps").job_ids == [runs[0].job_id]
    run_id = runs[0].id

    start_worker()
    expected_run = start_and_finish(as_tenant, admin, twin)
    expected = end_state(as_tenant, twin, labels, expected_run.id)
    wait_for(lambda: read_run(admin, run_id)["status"] == "finished", "the one run to finish", 120)
    print(f"\n[fault] two starts at the same instant: one run, one job; both commands answered "
          f"{settled:.2f} s after the inserts were let go: {[o.strip().split(' of ')[1][:60] for o in outputs]}")
    assert end_state(as_tenant, raced, labels, run_id) == expected
