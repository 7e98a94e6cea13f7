"""`saas backup create|verify|list|prune|restore`: backups of a tenant's rows that keep erasures.

Run `restore` with the web, worker and cron processes stopped (docs/operations.md). The key store is never
part of a backup; a restore drops everyone its erasure ledger names before it writes anything.
"""
from __future__ import annotations

from pathlib import Path

import click
from flask.cli import AppGroup

from saas.core.errors import DomainError
from saas.core.tenancy import tenant_context
from saas.extensions import db
from saas.modules.backups import archive, operations, queries
from saas.modules.tenants import queries as tenants

backup = AppGroup("backup", help="Encrypted per-tenant backups of the data database that keep erasures.")


def _chosen(slug: str | None, every: bool):
    if bool(slug) == every:
        raise click.UsageError("give --tenant SLUG or --all")
    if slug:
        try:
            chosen = [tenants.get_by_slug(slug)]
        except LookupError as exc:
            raise click.ClickException(str(exc)) from None
    else:
        chosen = tenants.all_tenants()
    db.session.commit()   # a tenant is entered between transactions
    return chosen


@backup.command("create")
@click.option("--tenant", "slug", default=None, help="The tenant's slug.")
@click.option("--all", "every", is_flag=True, help="Every tenant, one backup each.")
def create_command(slug: str | None, every: bool):
    """Back up the tenant's rows of the data database (one consistent snapshot), encrypted, with a MAC."""
    for tenant in _chosen(slug, every):
        with tenant_context(tenant.id):
            created = operations.create_backup(tenant)
            db.session.commit()
        rows = sum(created.manifest["tables"].values())
        click.echo(f"{tenant.slug}: {rows} rows -> {created.path} ({created.path.stat().st_size} bytes)")


@backup.command("verify")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
def verify_command(file: Path):
    """Check the MAC, the manifest and decrypt the whole file (needs the master key)."""
    try:
        manifest = operations.verify(file)
    except archive.BackupError as exc:
        raise click.ClickException(f"{file}: NOT OK: {exc}") from None
    click.echo(f"{file}: OK ({manifest['tenant_slug']}, {manifest['created_at']}, "
               f"{sum(manifest['tables'].values())} rows, schema {', '.join(manifest['schema_revision'])})")


@backup.command("list")
@click.option("--tenant", "slug", default=None, help="Only this tenant's backups.")
def list_command(slug: str | None):
    """The backups in the instance folder, oldest first (from their headers; no key needed)."""
    found = queries.list_backups(slug)
    if not found:
        click.echo("no backups")
    for item in found:
        manifest = item.manifest
        rows = "damaged" if manifest.get("damaged") else f"{sum(manifest['tables'].values())} rows"
        click.echo(f"{manifest.get('tenant_slug', '?')}\t{manifest['created_at']}\t{rows}\t{item.size} bytes\t{item.path}")


@backup.command("prune")
@click.option("--tenant", "slug", default=None, help="The tenant's slug.")
@click.option("--all", "every", is_flag=True, help="Every tenant.")
def prune_command(slug: str | None, every: bool):
    """Delete the backups the tenant's plan (default 14 daily, 6 monthly) no longer keeps."""
    for tenant in _chosen(slug, every):
        plan = queries.plan_of(tenant)
        removed = operations.prune(tenant.slug, plan)
        click.echo(f"{tenant.slug}: {len(removed)} removed (plan: {plan.daily} daily, {plan.monthly} monthly)")


@backup.command("restore")
@click.option("--tenant", "slug", required=True, help="The tenant to restore; it must exist.")
@click.option("--dry-run", is_flag=True, help="Only say what would come back and what would not.")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
def restore_command(slug: str, dry_run: bool, file: Path):
    """Replace the tenant's rows with the backup's, after dropping everyone erased since (the ledger)."""
    tenant = _chosen(slug, False)[0]
    with tenant_context(tenant.id):
        try:
            plan = operations.plan_restore(tenant, file) if dry_run else operations.restore(tenant, file)
        except DomainError as exc:
            db.session.rollback()
            raise click.ClickException(str(exc)) from None
        db.session.rollback() if dry_run else db.session.commit()
    _report(plan, dry_run)


def _report(plan: operations.RestorePlan, dry_run: bool) -> None:
    """Counts and ids only: never a value of a person."""
    verb = "would come back" if dry_run else "came back"
    manifest = plan.manifest
    click.echo(f"backup {manifest['backup_id']} of {manifest['tenant_slug']} made {manifest['created_at']} "
               f"(erasure ledger then: {manifest['ledger']['shredded']} erased, "
               f"{manifest['ledger']['restricted']} restricted)")
    click.echo(f"{verb}: " + ", ".join(f"{name} {count}" for name, count in sorted(plan.counts().items())))
    for label, ids in (("erased after the backup", plan.erased_after),
                       ("erased before it, row left by an unfinished purge", plan.erased_before),
                       ("key gone from the key store", plan.keyless),
                       ("purge unfinished, its key is destroyed first", plan.unfinished)):
        click.echo(f"not restored, {label}: {len(ids)}" + (" " + " ".join(map(str, sorted(ids))) if ids else ""))
    if plan.left_out:
        click.echo("rows left out: " + ", ".join(f"{name} {count}" for name, count in sorted(plan.left_out.items())))
    if plan.kept_now:
        click.echo("kept from now (journals): " + ", ".join(f"{n} {c}" for n, c in sorted(plan.kept_now.items())))
    restricted = [str(subject_id) for subject_id, _, _ in plan.restrict_again]
    click.echo(f"restricted again: {len(restricted)}" + (" " + " ".join(restricted) if restricted else ""))
    flags = sum(len(ids) for ids in plan.flag_again.values())
    click.echo(f"flagged again: {flags}")


COMMANDS = [backup]
