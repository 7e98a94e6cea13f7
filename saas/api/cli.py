"""`saas tokens create|revoke|list`: personal API tokens of a tenant's members."""
from __future__ import annotations

import click
from flask.cli import with_appcontext

from saas.api import tokens
from saas.core import clock
from saas.core.web import switch_tenant
from saas.extensions import db
from saas.modules.accounts import queries as accounts
from saas.modules.tenants import operations as tenants


def _enter(slug: str):
    tenant = tenants.find_by_slug(slug)
    if tenant is None:
        raise click.ClickException(f"no tenant with slug {slug!r}")
    switch_tenant(tenant.id)
    return tenant


@click.group("tokens")
def tokens_group():
    """Personal API tokens (sent as 'Authorization: Bearer <token>')."""


@tokens_group.command("create")
@click.option("--tenant", "slug", required=True, help="Tenant slug.")
@click.option("--email", required=True, help="Login email of a member of the tenant.")
@click.option("--name", default="api", show_default=True, help="What the token is for.")
@click.option("--days", default=tokens.DEFAULT_DAYS, show_default=True, type=int, help="Days until it expires.")
@with_appcontext
def create_command(slug, email, name, days):
    """Print a new token once (only its hash is kept)."""
    user = accounts.find_user_by_email(email)
    _enter(slug)
    if user is None:
        raise click.ClickException("no member of this tenant has that email")
    try:
        row, token = tokens.create(user, name, days)
    except tokens.TokenError as exc:
        raise click.ClickException(str(exc)) from None
    db.session.commit()
    click.echo(token)
    click.echo(f"shown once; prefix {row.prefix}, expires {clock.local(row.expires_at):%Y-%m-%d %H:%M %Z}", err=True)


@tokens_group.command("revoke")
@click.option("--tenant", "slug", required=True, help="Tenant slug.")
@click.option("--prefix", required=True, help="The token's prefix (see `saas tokens list`).")
@with_appcontext
def revoke_command(slug, prefix):
    """Stop a token from working at once."""
    _enter(slug)
    try:
        row = tokens.revoke(prefix)
    except tokens.TokenError as exc:
        raise click.ClickException(str(exc)) from None
    db.session.commit()
    click.echo(f"revoked {row.prefix}")


@tokens_group.command("list")
@click.option("--tenant", "slug", required=True, help="Tenant slug.")
@with_appcontext
def list_command(slug):
    """The tenant's tokens: prefix, name, state, expiry and last use."""
    _enter(slug)
    for row in tokens.list_tokens():
        state = tokens.unusable_reason(row) or "active"
        used = f"{clock.local(row.last_used_at):%Y-%m-%d %H:%M %Z}" if row.last_used_at else "never"
        click.echo(f"{row.prefix}  {state:8}  expires {clock.local(row.expires_at):%Y-%m-%d}  used {used}  {row.name}")


COMMANDS = [tokens_group]
