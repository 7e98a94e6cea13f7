"""`saas audit verify --tenant SLUG`: check a tenant's hash chain; exit code 1 on the first problem."""
from __future__ import annotations

import click
from flask.cli import with_appcontext

from saas.modules.audit import queries
from saas.modules.tenants import operations as tenants


@click.group("audit")
def audit_group():
    """The tenants' append-only audit logs."""


@audit_group.command("verify")
@click.option("--tenant", "slug", required=True, help="Tenant slug.")
@click.pass_context
@with_appcontext
def verify_command(ctx, slug):
    """Print "ok: N entries", or the first changed, inserted or deleted entry."""
    tenant = tenants.find_by_slug(slug)
    if tenant is None:
        raise click.ClickException(f"no tenant with slug {slug!r}")
    result = queries.verify(tenant.id)
    click.echo(str(result))
    if not result.ok:
        ctx.exit(1)


COMMANDS = [audit_group]
