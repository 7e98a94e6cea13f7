"""`saas`: the Flask CLI group of this app, with one command group per feature.

Creating the app has no side effects (no files, no Redis, no database connection), so `saas --help`
and `saas routes` leave nothing behind. A command that meets a database that is missing or not upgraded
ends with what to run instead of a traceback, and so does a missing master key.
"""
from __future__ import annotations

import click
from flask.cli import FlaskGroup, ScriptInfo

from saas.app import MODULES, create_app, feature_module


def _create(*_args, **_kwargs):
    from saas.config import ConfigError

    try:
        return create_app()
    except ConfigError as exc:  # production refusing unsafe settings: the reason, not a traceback
        raise click.ClickException(str(exc)) from None


class SaasGroup(FlaskGroup):
    def invoke(self, ctx: click.Context):
        from saas.core.crypto.masterkey import MasterKeyError
        from saas.core.schema import is_database_error

        try:
            return super().invoke(ctx)
        except MasterKeyError as exc:
            raise click.ClickException(str(exc)) from None
        except Exception as exc:
            if not is_database_error(exc):
                raise
            hint = _database_hint(ctx)
            if hint is None:
                raise
            raise click.ClickException(hint) from None


def _database_hint(ctx: click.Context) -> str | None:
    """After a database error: what to run if the schema is missing or old; None if it is up to date."""
    from saas.core import schema
    from saas.extensions import db

    app = ctx.ensure_object(ScriptInfo).load_app()
    with app.app_context():
        db.session.remove()
        engines = [db.engines[None], db.engines["keys"]]
        try:
            behind = schema.pending_upgrade(engines, app.extensions["migrate"].directory)
        except Exception as exc:  # noqa: BLE001  (the database cannot even be read: say so, briefly)
            if not schema.is_database_error(exc):
                raise
            return f"cannot use the database: {str(getattr(exc, 'orig', exc)).strip().splitlines()[0]}"
    if not behind:
        return None
    return "the database is not upgraded (" + "; ".join(behind) + f"): {schema.UPGRADE_HINT}"


@click.group(cls=SaasGroup, create_app=_create, add_default_commands=True)
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
