"""`saas agreements verify FILE.pdf`, `saas agreements list --tenant SLUG` and
`saas agreements templates seed --tenant SLUG | --all`."""
from __future__ import annotations

import sys
from pathlib import Path

import click
import sqlalchemy as sa
from flask.cli import with_appcontext

from saas.core import tenancy
from saas.extensions import db


@click.group("agreements")
def agreements_group():
    """Processor agreements (verwerkersovereenkomsten)."""


@agreements_group.command("verify")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@with_appcontext
def verify_command(file: Path):
    """Check a sealed agreement PDF: valid or invalid, with signer, time and tenant. Exit 1 when invalid.
    Also tells whether this platform sealed this very file for an agreement (its SHA-256 is stored)."""
    from saas.modules.seals.cli import check_file, describe

    result = check_file(file.read_bytes())   # the public page's limits, in a separate process
    click.echo(describe(result))
    if result.valid:
        for slug, number, status in _agreements_sealed_as(result.tenant, result.sha256):
            click.echo(f"Agreement: {number} of tenant {slug} ({status}): this very file was sealed by the platform")
    sys.exit(0 if result.valid else 1)


def _agreements_sealed_as(tenant_name: str | None, sha256: str) -> list[tuple[str, str, str]]:
    """The agreements whose stored sealed SHA-256 is this file's, within the tenants of that name."""
    from saas.modules.agreements.models import Agreement
    from saas.modules.tenants.models import Tenant

    if not tenant_name:
        return []
    found = []
    tenants = db.session.execute(sa.select(Tenant.id, Tenant.slug).where(Tenant.name == tenant_name)).all()
    for tenant_id, slug in tenants:
        db.session.commit()
        tenancy.set_tenant(tenant_id)
        query = sa.select(Agreement.number, Agreement.status).where(Agreement.sealed_sha256 == sha256)
        found += [(slug, number, status) for number, status in db.session.execute(query)]
    db.session.commit()
    tenancy.set_tenant(None)
    return found


def _tenant_or_fail(slug: str):
    from saas.modules.tenants.queries import find_by_slug

    tenant = find_by_slug(slug)
    if tenant is None:
        raise click.ClickException(f"no tenant {slug!r}")
    return tenant


@agreements_group.command("list")
@click.option("--tenant", "slug", required=True, help="The tenant's slug.")
@with_appcontext
def list_command(slug: str):
    """The tenant's agreements with status and deadlines (no personal data)."""
    from saas.modules.agreements import queries

    tenant = _tenant_or_fail(slug)
    tenancy.set_tenant(tenant.id)
    rows = queries.all_agreements()
    if not rows:
        click.echo("no agreements")
    for agreement in rows:
        deadline = queries.aware(agreement.expires_at)
        open_until = deadline.strftime("expires %Y-%m-%d %H:%M UTC") if agreement.status in ("sent", "viewed") else ""
        click.echo(f"{agreement.number:<18} {agreement.status:<14} {agreement.tenant_role:<11} "
                   f"{agreement.counterparty_name[:40]:<40} {open_until}".rstrip())


@agreements_group.group("templates")
def templates_group():
    """Agreement templates."""


@templates_group.command("seed")
@click.option("--tenant", "slug", help="The tenant's slug.")
@click.option("--all", "every", is_flag=True, help="Every active tenant.")
@with_appcontext
def seed_command(slug: str | None, every: bool):
    """Install the shipped Dutch and English templates (published, version 1) where missing."""
    from saas.modules.agreements import template_versions
    from saas.modules.tenants.models import Tenant

    if bool(slug) == every:
        raise click.UsageError("give --tenant SLUG or --all")
    if every:
        tenants = list(db.session.scalars(sa.select(Tenant).where(Tenant.active.is_(True)).order_by(Tenant.slug)))
    else:
        tenants = [_tenant_or_fail(slug)]
    for tenant_id, slug in [(t.id, t.slug) for t in tenants]:
        db.session.commit()
        tenancy.set_tenant(tenant_id)
        languages = [t.language for t in template_versions.seed_default_templates()]
        db.session.commit()
        tenancy.set_tenant(None)
        click.echo(f"{slug:<14} {'installed ' + ', '.join(languages) if languages else 'already installed'}")


COMMANDS = [agreements_group]
