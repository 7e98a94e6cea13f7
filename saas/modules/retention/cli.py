"""`saas sweep --tenant SLUG [--dry-run] [--now YYYY-MM-DD] [--wait] [--forecast DAYS]`."""
from __future__ import annotations

import click
from flask.cli import with_appcontext

from saas.core import clock
from saas.core.tenancy import tenant_context
from saas.extensions import db
from saas.modules.retention import engine, jobs, queries
from saas.modules.retention.policies import active_holds, effective_policies
from saas.modules.tenants import operations as tenants


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

    The sweep runs as a job on the "sweeps" queue (the daily one is scheduled by `saas cron`) and prints
    its job id; with --wait it runs in this process and prints its report: records evaluated and the
    decisions per policy and action. Interrupted? Run the same command again: it resumes. With only
    --forecast it changes nothing and prints what becomes due, per month, rule and action.
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
        run = jobs.start_sweep(tenant_id, as_of=as_of, dry_run=dry_run, trigger="command", enqueue=not wait)
        if not wait:
            click.echo(f"Sweep {run.id} of {slug} as of {as_of} queued as job {run.job_id}.")
        else:
            result = jobs.run_sweep(tenant_id, str(run.id))
            db.session.commit()
            click.echo(format_report(slug, result))
        if forecast_days:
            click.echo(format_forecast(as_of, forecast_days))
        db.session.commit()


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
