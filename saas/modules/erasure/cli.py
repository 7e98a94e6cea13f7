"""`saas erasure ...`: what a restore of the data database needs before the app starts again.

The key store is never restored from an older copy; its erasure ledger (destroyed keys, restrictions) is
the truth. A restored data database may hold people erased or restricted after the copy was made:
`saas erasure replay` erases and restricts them again, tenant by tenant (DESIGN.md section 3).
"""
from __future__ import annotations

import click
from flask.cli import AppGroup

from saas.core.tenancy import tenant_context
from saas.extensions import db
from saas.modules.erasure import operations
from saas.modules.tenants import queries as tenants

erasure = AppGroup("erasure", help="The erasure ledger: replay it after restoring a backup of the data database.")


def _tenants(slug: str | None) -> list[tuple[int, str]]:
    """(id, slug) of the chosen tenant, or of every tenant, inactive ones included (their people count too)."""
    if slug:
        try:
            tenant = tenants.get_by_slug(slug)
        except LookupError as exc:
            raise click.ClickException(str(exc)) from None
        chosen = [(tenant.id, tenant.slug)]
    else:
        chosen = [(tenant.id, tenant.slug) for tenant in tenants.all_tenants()]
    db.session.commit()   # a tenant is entered between transactions (PostgreSQL learns it at the start)
    return chosen


@erasure.command("replay")
@click.option("--tenant", "slug", default=None, help="Only this tenant's slug (default: every tenant).")
def replay_command(slug: str | None):
    """Erase again whoever the ledger says is erased, and restrict again whoever it says is restricted.

    Run after restoring the data database and `saas db upgrade`, before the web, worker and cron processes
    start. Running it again changes nothing.
    """
    for tenant_id, tenant_slug in _tenants(slug):
        with tenant_context(tenant_id):
            replayed = operations.replay_ledger()
        click.echo(f"{tenant_slug}: {replayed.erased} erased again, {replayed.restricted} restricted again")


COMMANDS = [erasure]
