"""`saas tenants sync` and `saas tenants list`."""
from __future__ import annotations

from pathlib import Path

import click
from flask import current_app
from flask.cli import with_appcontext

from saas.modules.tenants import operations, queries
from saas.modules.tenants.schemas import TenantConfigError


@click.group("tenants")
def tenants_group():
    """Tenants and their configuration files (tenants/<slug>.toml)."""


@tenants_group.command("sync")
@click.option("--dir", "directory", type=click.Path(exists=True, file_okay=False, path_type=Path),
              help="Folder with <slug>.toml files (default: the tenants/ folder of the project).")
@click.option("--dry-run", is_flag=True, help="Validate and show what would change; write nothing.")
@with_appcontext
def sync_command(directory: Path | None, dry_run: bool):
    """Create or update every tenant from its TOML file (all files valid, or nothing changes)."""
    directory = directory or Path(current_app.extensions["saas.settings"].tenants_dir)
    try:
        result = operations.sync(directory, dry_run=dry_run)
    except TenantConfigError as exc:
        lines = "\n".join(f"  {problem}" for problem in exc.problems)
        raise click.ClickException(f"invalid tenant configuration, nothing was changed:\n{lines}") from exc
    verb = {"created": "would create" if dry_run else "created",
            "updated": "would update" if dry_run else "updated", "unchanged": "unchanged"}
    for state in ("created", "updated", "unchanged"):
        for slug in getattr(result, state):
            click.echo(f"{verb[state]:<12} {slug}")
    if not result.changed:
        click.echo("nothing to change: every tenant matches its file")
    elif dry_run:
        click.echo("dry run: nothing was written")


@tenants_group.command("list")
@with_appcontext
def list_command():
    """Show every tenant with its plugins, rights-request target and config hash."""
    tenants = queries.all_tenants()
    if not tenants:
        click.echo("no tenants; run `saas tenants sync`")
    for tenant in tenants:
        state = "" if tenant.active else "  (inactive)"
        click.echo(
            f"{tenant.slug:<14} {tenant.name:<28} plugins: {', '.join(tenant.plugins or []) or '-':<26} "
            f"rights: {tenant.rights_request_days:>2} days  config: {(tenant.config_hash or '-')[:12]}{state}"
        )


COMMANDS = [tenants_group]
