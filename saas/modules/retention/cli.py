"""`saas sweep --tenant SLUG [--dry-run] [--now YYYY-MM-DD] [--wait] [--forecast DAYS]`."""
from __future__ import annotations

import time

import click
from flask.cli import with_appcontext
from redis.exceptions import RedisError
from rq.exceptions import NoSuchJobError
from rq.job import Job

from saas.core import clock
from saas.core.tenancy import tenant_context
from saas.extensions import db
from saas.jobs import progress
from saas.jobs.queues import redis
from saas.modules.retention import engine, jobs, queries
from saas.modules.retention.policies import active_holds, effective_policies
from saas.modules.tenants import operations as tenants

WAIT_POLL = 1.0   # seconds between looks at a run that runs elsewhere (--wait)


@click.command("sweep")
@click.option("--tenant", "slug", required=True, help="The tenant's slug.")
@click.option("--dry-run", is_flag=True, help="Only count what the sweep would do; change nothing.")
@click.option("--now", "now", type=click.DateTime(formats=["%Y-%m-%d"]),
              help="Sweep as of this date instead of today (time travel for tests and demos).")
@click.option("--wait", is_flag=True, help="Run the sweep here and now instead of queueing it for a worker.")
@click.option("--forecast", "forecast_days", type=click.IntRange(1, 3660), metavar="DAYS",
              help="Print what becomes due in the next DAYS days; alone it only forecasts (no sweep is queued).")
@with_appcontext
def sweep_command(slug: str, dry_run: bool, now, wait: bool, forecast_days: int | None):
    """Apply a tenant's retention policies: flag, ask for re-consent, restrict or purge what is due.

    The sweep runs as a job on the "sweeps" queue (the daily one is scheduled by `saas cron`). The command
    says what it did: queued a new run (and its job id), found the run already queued or running (with its
    progress; nothing new is queued), or found a run whose worker is gone and resumed it. With --wait it
    runs the sweep in this process (or waits for the one running) and prints its report: records evaluated
    and the decisions per policy and action. With only --forecast it changes nothing and prints what
    becomes due, per month, rule and action.
    """
    try:
        tenant_id = tenants.get_by_slug(slug).id
    except LookupError as exc:
        raise click.ClickException(str(exc)) from exc
    if now is not None:
        clock.set_now(now.date())
    as_of = clock.today()
    db.session.commit()
    with tenant_context(tenant_id):
        if forecast_days and not (wait or dry_run):
            click.echo(format_forecast(as_of, forecast_days))
            db.session.rollback()
            return
        started = jobs.begin_sweep(tenant_id, as_of=as_of, dry_run=dry_run, trigger="command", enqueue=not wait)
        click.echo(describe_start(slug, started))
        if wait:
            result = _run_or_wait(tenant_id, slug, started)
            db.session.commit()
            click.echo(format_report(slug, result))
        if forecast_days:
            click.echo(format_forecast(as_of, forecast_days))
        db.session.commit()


def describe_start(slug: str, started: jobs.SweepStart) -> str:
    """One truthful line: what this start did, and never "queued" when nothing was."""
    run = started.run
    kind = "Dry run" if run.dry_run else "Sweep"
    head = f"{kind} {run.id} of {slug} as of {run.as_of}"
    done = f"{run.evaluated} record(s) evaluated so far, phase {run.phase}"
    if started.outcome == "queued":
        return f"{head} queued as job {started.job_id}."
    if started.outcome == "created":
        return f"{head} started here."
    if started.outcome == "waiting":
        return f"{head} is already queued as job {run.job_id} and waits for a worker; nothing new was queued."
    if started.outcome == "running":
        beat = round(jobs.seconds_since_heartbeat(run))
        return (f"{head} is already running as job {run.job_id} ({done}{_percent(run)}; last heartbeat {beat} s "
                f"ago); nothing new was queued.")
    where = f"queued as job {started.job_id}" if started.queued else "continued here"
    return (f"{head} had stopped (its worker is gone) after {run.evaluated} record(s); "
            f"resumed ({run.resumes}x), {where}.")


def _percent(run) -> str:
    """The job's own progress figure, when Redis still has it."""
    try:
        found = progress.read(Job.fetch(run.job_id, connection=redis()))
    except (NoSuchJobError, RedisError):
        return ""
    return f", {found['percent']}% of {found['total']}" if found.get("total") else ""


def _run_or_wait(tenant_id: int, slug: str, started: jobs.SweepStart) -> dict:
    """--wait: run a new or resumed run here; for one that runs (or waits) elsewhere, wait for its end."""
    run = started.run
    if started.outcome == "waiting":
        click.echo("Running it here; its queued job will find it finished.")
    if started.outcome in ("created", "resumed", "waiting"):
        return jobs.run_sweep(tenant_id, str(run.id), owner=run.job_id)
    click.echo("Waiting for it to finish...")
    while True:
        db.session.rollback()
        current = queries.get_sweep(run.id)
        if current.status != "running":
            return jobs.report(current)
        if jobs.is_stale(current):   # it died while we waited: take it over
            claimed = jobs.claim_stale(current.id)
            if claimed is not None:
                click.echo(describe_start(slug, jobs.SweepStart(claimed, "resumed")))
                return jobs.run_sweep(tenant_id, str(claimed.id), owner=claimed.job_id)
        time.sleep(WAIT_POLL)


def format_report(slug: str, result: dict) -> str:
    kind = "Dry run" if result["dry_run"] else "Sweep"
    lines = [
        f"{kind} {result['sweep_run']} of {slug} as of {result['as_of']}: {result['status']}",
        f"evaluated {result['evaluated']} record(s) in {result['duration_ms'] or 0} ms",
    ]
    counts = result["counts"]
    if not counts:
        lines.append("nothing was due")
    for key in sorted(counts):
        for action, count in sorted(counts[key].items()):
            lines.append(f"  {key:<48} {action:<10} {count:>8}")
    return "\n".join(lines)


def format_forecast(start, days: int) -> str:
    tenant = queries.current_tenant()
    counts = engine.forecast(queries.iter_views(on_date=start), effective_policies(tenant), tenant, start, days,
                             active_holds(tenant))
    lines = [f"Forecast from {start} for {days} day(s):"]
    if not counts:
        lines.append("  nothing becomes due")
    for (month, key, action), count in sorted(counts.items()):
        lines.append(f"  {month}  {key:<48} {action:<10} {count:>8}")
    return "\n".join(lines)


COMMANDS = [sweep_command]
