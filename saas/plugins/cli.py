"""`saas plugins list`: plugins, their definitions and the tenants that use them."""
from __future__ import annotations

import click
from flask.cli import with_appcontext

from saas.plugins.manager import current_registry


@click.group("plugins")
def plugins_group():
    """Sector plugins."""


@plugins_group.command("list")
@with_appcontext
def list_plugins():
    """Show each plugin, its settings, its definitions and the tenants using it."""
    from saas.modules.tenants.queries import tenants_using

    registry = current_registry()
    # Read the database before printing anything: a database that is not upgraded gives only the hint.
    users = {name: tenants_using(name) for name in registry.plugins}
    for name, info in sorted(registry.plugins.items()):
        click.echo(f"{name} {info.version}  {info.title}")
        click.echo(f"  tenants: {', '.join(users[name]) or '-'}")
        schema = registry.settings_schemas.get(name)
        click.echo(f"  settings: {', '.join(schema().fields) if schema else '-'}")
        for hook in registry.definitions:
            keys = [definition.key for definition in registry.of(hook, [name])]
            if keys:
                click.echo(f"  {hook.removeprefix('saas_')}: {', '.join(keys)}")


COMMANDS = [plugins_group]
