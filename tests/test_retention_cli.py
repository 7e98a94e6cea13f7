"""`saas sweep --tenant SLUG [--dry-run] [--now YYYY-MM-DD] [--wait] [--forecast DAYS]`."""
from datetime import date, timedelta

import sqlalchemy as sa
from rq.job import Job, JobStatus

from saas.extensions import db
from saas.jobs.queues import redis
from saas.modules.retention import jobs, queries
from saas.modules.retention.models import RetentionDecision, SweepRun
from saas.modules.subjects.models import DataSubject
from saas.testing.retention_for_tests import rules, sweep_queues  # noqa: F401  (fixtures)


def _tenant_with_due_records(make_tenant, as_tenant):
    tenant = make_tenant(plugins=["rtest"])
    as_tenant(tenant)
    db.session.add_all([
        DataSubject(category="candidate", last_contact_on=date(2021, 1, 1)),    # purge due 2023-01-01
        DataSubject(category="prospect", last_verified_on=date(2023, 8, 1)),    # flag due 2024-02-01
        DataSubject(category="prospect", last_verified_on=date(2024, 3, 1)),    # flag due 2024-09-01
    ])
    db.session.commit()
    return tenant


def test_sweep_with_wait_runs_here_and_prints_its_report(make_tenant, as_tenant, rules, saas_cli):
    tenant = _tenant_with_due_records(make_tenant, as_tenant)

    result = saas_cli("sweep", "--tenant", tenant.slug, "--now", "2024-03-15", "--wait")

    assert result.exit_code == 0, result.output
    assert f"of {tenant.slug} as of 2024-03-15: finished" in result.output
    assert "evaluated 3 record(s)" in result.output
    lines = {tuple(line.split()) for line in result.output.splitlines() if line.startswith("  ")}
    assert lines == {("rtest.candidate_purge@v1", "purge", "1"), ("rtest.prospect_flag@v1", "flag", "1")}
    as_tenant(tenant)
    run = db.session.scalar(sa.select(SweepRun))
    assert (run.as_of, run.trigger, run.status) == (date(2024, 3, 15), "command", "finished")
    assert db.session.scalar(sa.select(sa.func.count()).select_from(RetentionDecision)) == 2


def test_a_dry_run_with_a_forecast_prints_both_and_changes_nothing(make_tenant, as_tenant, rules, saas_cli):
    tenant = _tenant_with_due_records(make_tenant, as_tenant)

    result = saas_cli("sweep", "--tenant", tenant.slug, "--now", "2024-03-15", "--dry-run", "--wait",
                      "--forecast", "200")

    assert result.exit_code == 0, result.output
    assert "Dry run" in result.output and "Forecast from 2024-03-15 for 200 day(s):" in result.output
    assert ("2024-09", "rtest.prospect_flag@v1", "flag", "1") in {
        tuple(line.split()) for line in result.output.splitlines()}
    as_tenant(tenant)
    assert db.session.scalar(sa.select(sa.func.count()).select_from(RetentionDecision)) == 0
    assert db.session.scalar(sa.select(sa.func.count()).select_from(DataSubject)) == 3
    assert db.session.scalar(sa.select(SweepRun.dry_run)) is True


def _taken_by_a_worker(queue, job_id: str) -> None:
    queue.remove(job_id)
    Job.fetch(job_id, connection=redis()).set_status(JobStatus.STARTED)


def test_without_wait_the_sweep_is_queued_once_and_the_next_command_says_what_it_found(
        make_tenant, as_tenant, rules, saas_cli, sweep_queues):
    tenant = _tenant_with_due_records(make_tenant, as_tenant)

    first = saas_cli("sweep", "--tenant", tenant.slug, "--now", "2024-03-15")
    second = saas_cli("sweep", "--tenant", tenant.slug, "--now", "2024-03-15")

    assert first.exit_code == 0 and second.exit_code == 0, first.output + second.output
    as_tenant(tenant)
    run = queries.running_sweep()
    head, first_job = f"Sweep {run.id} of {tenant.slug} as of 2024-03-15", run.job_id
    assert first.output == f"{head} queued as job {run.job_id}.\n"
    assert second.output == (f"{head} is already queued as job {run.job_id} and waits for a worker; "
                             "nothing new was queued.\n")
    assert sweep_queues.job_ids == [run.job_id]
    job = Job.fetch(run.job_id, connection=redis())
    assert job.kwargs == {"sweep_run_id": str(run.id)} and job.meta["tenant_id"] == tenant.id  # ids only
    assert db.session.scalar(sa.select(sa.func.count()).select_from(SweepRun)) == 1

    # A worker took the job and beats: the command reports the run's progress and queues nothing.
    _taken_by_a_worker(sweep_queues, run.job_id)
    run.evaluated = 2
    db.session.commit()
    running = saas_cli("sweep", "--tenant", tenant.slug, "--now", "2024-03-15")
    assert running.exit_code == 0, running.output
    assert running.output.startswith(f"{head} is already running as job {run.job_id} (2 record(s) evaluated so far")
    assert running.output.endswith("nothing new was queued.\n") and sweep_queues.job_ids == []

    # Its worker died (no heartbeat for longer than the stale limit): the command resumes it under a new job.
    as_tenant(tenant)
    run.heartbeat_at = jobs.wall_now() - timedelta(seconds=jobs.stale_after() + 5)
    db.session.commit()
    stale = saas_cli("sweep", "--tenant", tenant.slug, "--now", "2024-03-15")
    as_tenant(tenant)
    resumed = queries.get_sweep(run.id)
    assert (resumed.resumes, resumed.job_id) == (1, f"{first_job}-r1")
    assert stale.output == (f"{head} had stopped (its worker is gone) after 2 record(s); resumed (1x), "
                            f"queued as job {resumed.job_id}.\n")
    assert sweep_queues.job_ids == [resumed.job_id]
    assert db.session.scalar(sa.select(sa.func.count()).select_from(SweepRun)) == 1

    # Another day supersedes the unfinished run instead of resuming it.
    saas_cli("sweep", "--tenant", tenant.slug, "--now", "2024-03-16")
    as_tenant(tenant)
    runs = {r.as_of: (r.status, r.error) for r in db.session.scalars(sa.select(SweepRun))}
    assert runs == {date(2024, 3, 15): ("failed", "superseded"), date(2024, 3, 16): ("running", None)}


def test_sweep_with_wait_resumes_a_stale_run_here(make_tenant, as_tenant, rules, saas_cli, sweep_queues):
    tenant = _tenant_with_due_records(make_tenant, as_tenant)
    saas_cli("sweep", "--tenant", tenant.slug, "--now", "2024-03-15")
    as_tenant(tenant)
    run = queries.running_sweep()
    _taken_by_a_worker(sweep_queues, run.job_id)   # ... and died
    run.heartbeat_at = jobs.wall_now() - timedelta(seconds=jobs.stale_after() + 5)
    db.session.commit()

    result = saas_cli("sweep", "--tenant", tenant.slug, "--now", "2024-03-15", "--wait")

    assert result.exit_code == 0, result.output
    assert "had stopped (its worker is gone) after 0 record(s); resumed (1x), continued here." in result.output
    assert f"Sweep {run.id} of {tenant.slug} as of 2024-03-15: finished" in result.output
    assert sweep_queues.job_ids == []


def test_bad_input_gets_a_clear_message(make_tenant, saas_cli):
    unknown = saas_cli("sweep", "--tenant", "no-such-tenant", "--wait")
    assert unknown.exit_code == 1 and "no tenant with slug 'no-such-tenant'" in unknown.output
    tenant = make_tenant()
    bad_date = saas_cli("sweep", "--tenant", tenant.slug, "--now", "15-03-2024")
    assert bad_date.exit_code == 2 and "--now" in bad_date.output
    bad_days = saas_cli("sweep", "--tenant", tenant.slug, "--forecast", "0")
    assert bad_days.exit_code == 2 and "--forecast" in bad_days.output
