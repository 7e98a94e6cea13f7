"""`saas documents sweep`: remove the documents whose own retention period has ended (an NDA after its
confidentiality, a type kept for a period from its upload). Types kept with the person go with the person."""
from __future__ import annotations

from datetime import date

import click
from flask.cli import AppGroup

from saas.core.tenancy import tenant_context
from saas.extensions import db
from saas.modules.documents import operations
from saas.modules.tenants import queries as tenants

documents = AppGroup("documents", help="Documents kept with people: the retention sweep of their own periods.")


@documents.command("sweep")
@click.option("--tenant", "slug", default=None, help="One tenant's slug (default: every active tenant).")
@click.option("--now", "as_of", type=click.DateTime(formats=["%Y-%m-%d"]), default=None,
              help="The sweep's date (default: today).")
def sweep_command(slug: str | None, as_of):
    """Delete due documents, one transaction per tenant; prints counts only."""
    tenant_ids = [tenants.get_by_slug(slug).id] if slug else tenants.active_tenant_ids()
    today: date | None = as_of.date() if as_of else None
    db.session.commit()
    for tenant_id in tenant_ids:
        with tenant_context(tenant_id):
            removed = operations.remove_due(today)
            db.session.commit()
        click.echo(f"tenant {tenant_id}: {removed} document(s) removed")


COMMANDS = [documents]
