"""`saas`: the Flask CLI group of this app, with one command group per feature."""
from __future__ import annotations

import click
from flask.cli import FlaskGroup

from saas.app import MODULES, create_app, feature_module


def _create(*_args, **_kwargs):
    return create_app()


@click.group(cls=FlaskGroup, create_app=_create, add_default_commands=True)
def cli():
    """Multi-tenant AVG/GDPR platform."""


def _register_feature_commands() -> None:
    for module in MODULES:
        commands = feature_module(module, "cli")
        for command in getattr(commands, "COMMANDS", ()):
            cli.add_command(command)
    from saas.jobs import cli as job_cli
    from saas.api import cli as api_cli
    from saas.plugins import cli as plugin_cli

    for command in job_cli.COMMANDS + plugin_cli.COMMANDS + api_cli.COMMANDS:
        cli.add_command(command)


_register_feature_commands()
