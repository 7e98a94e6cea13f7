"""`saas plugins list`: plugins, their definitions and the tenants that use them."""
from __future__ import annotations

import click
import sqlalchemy as sa
from flask import current_app
from flask.cli import with_appcontext

from saas.extensions import db


@click.group("plugins")
def plugins_group():
    """Sector plugins."""


@plugins_group.command("list")
@with_appcontext
def list_plugins():
    """Show each plugin, its definitions and the tenants using it."""
    from saas.modules.tenants.models import Tenant

    registry = current_app.extensions["saas.plugins"]
    tenants = db.session.execute(sa.select(Tenant.slug, Tenant.plugins).order_by(Tenant.slug)).all()
    for name, info in sorted(registry.plugins.items()):
        users = [slug for slug, plugins in tenants if name in (plugins or [])]
        click.echo(f"{name} {info.version}  {info.title}")
        click.echo(f"  tenants: {', '.join(users) or '-'}")
        for hook, defs in registry.definitions.items():
            for definition in defs.values():
                if definition.plugin == name:
                    click.echo(f"  {hook.removeprefix('saas_')}: {definition.key}")


COMMANDS = [plugins_group]
