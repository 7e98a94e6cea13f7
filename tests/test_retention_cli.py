"""`saas sweep --tenant SLUG [--dry-run] [--now YYYY-MM-DD] [--wait] [--forecast DAYS]`."""
from datetime import date

import sqlalchemy as sa
from rq.job import Job

from saas.extensions import db
from saas.jobs.queues import redis
from saas.modules.retention import queries
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


def test_without_wait_the_sweep_is_queued_once_and_a_second_command_resumes_the_same_run(
        make_tenant, as_tenant, rules, saas_cli, sweep_queues):
    tenant = _tenant_with_due_records(make_tenant, as_tenant)

    first = saas_cli("sweep", "--tenant", tenant.slug, "--now", "2024-03-15")
    second = saas_cli("sweep", "--tenant", tenant.slug, "--now", "2024-03-15")

    assert first.exit_code == 0 and second.exit_code == 0, first.output + second.output
    as_tenant(tenant)
    run = queries.running_sweep()
    assert run is not None and first.output == second.output
    assert f"Sweep {run.id} of {tenant.slug} as of 2024-03-15 queued as job {run.job_id}." in first.output
    assert sweep_queues.job_ids == [run.job_id]
    job = Job.fetch(run.job_id, connection=redis())
    assert job.kwargs == {"sweep_run_id": str(run.id)} and job.meta["tenant_id"] == tenant.id  # ids only
    assert db.session.scalar(sa.select(sa.func.count()).select_from(SweepRun)) == 1

    # Another day supersedes the unfinished run instead of resuming it.
    saas_cli("sweep", "--tenant", tenant.slug, "--now", "2024-03-16")
    as_tenant(tenant)
    runs = {r.as_of: (r.status, r.error) for r in db.session.scalars(sa.select(SweepRun))}
    assert runs == {date(2024, 3, 15): ("failed", "superseded"), date(2024, 3, 16): ("running", None)}


def test_bad_input_gets_a_clear_message(make_tenant, saas_cli):
    unknown = saas_cli("sweep", "--tenant", "no-such-tenant", "--wait")
    assert unknown.exit_code == 1 and "no tenant with slug 'no-such-tenant'" in unknown.output
    tenant = make_tenant()
    bad_date = saas_cli("sweep", "--tenant", tenant.slug, "--now", "15-03-2024")
    assert bad_date.exit_code == 2 and "--now" in bad_date.output
    bad_days = saas_cli("sweep", "--tenant", tenant.slug, "--forecast", "0")
    assert bad_days.exit_code == 2 and "--forecast" in bad_days.output
