"""`saas keys ...`: master key and tenant key rotation."""
from __future__ import annotations

import click
from flask import current_app
from flask.cli import AppGroup
from rq import SimpleWorker
from rq.job import JobStatus

from saas.core.crypto import masterkey
from saas.core.crypto.masterkey import MasterKeyError
from saas.core.tenancy import tenant_context
from saas.extensions import db
from saas.jobs.queues import queue, redis
from saas.modules.keys import operations
from saas.modules.tenants import queries as tenants

keys = AppGroup("keys", help="Master key and tenant data keys: generation and rotation.")


@keys.command("generate-master")
def generate_master_command():
    """Print a new master key entry (id:base64) to put first in SAAS_MASTER_KEY before rotate-master."""
    click.echo(masterkey.generate().serialise())


@keys.command("rotate-master")
def rotate_master_command():
    """Make a new master key active and re-wrap every tenant key with it, one tenant at a time.

    With the key file (laptop) the new key is added to the file first and the old one is dropped once
    every tenant key is re-wrapped. With SAAS_MASTER_KEY (production) put the new key first and the old
    one after it (see generate-master), restart, run this, then remove the old entry. Interrupted? Run
    it again: keys still wrapped by the old master key are found by its id.
    """
    settings = current_app.extensions["saas.settings"]
    try:
        result = operations.rotate_master(settings)
    except (operations.KeyRotationError, MasterKeyError) as exc:
        raise click.ClickException(str(exc)) from exc
    click.echo(f"Master key {result.active} is active; {result.rewrapped} tenant key(s) re-wrapped.")
    if not result.old_ids:
        return
    old = ", ".join(result.old_ids)
    if settings.master_key:
        click.echo(f"Nothing uses {old} any more: remove it from SAAS_MASTER_KEY and restart the processes.")
    else:
        click.echo(f"Dropped {old} from {settings.master_key_file}.")


@keys.command("rotate")
@click.option("--tenant", "slug", required=True, help="The tenant's slug.")
@click.option("--wait", is_flag=True, help="Run the job here and now (small tenants, demos) instead of only queueing it.")
def rotate_command(slug: str, wait: bool):
    """Rotate a tenant's data key.

    A new data key version becomes active; a job on the "keys" queue gives every data subject a new key
    wrapped by it, re-encrypts every encrypted value and stored file of the tenant, and retires the old
    version. Progress shows with the job; killed, run this again and it resumes. The blind-index key is
    separate and is not rotated here, so exact-match lookups (email, phone) keep working unchanged.
    """
    try:
        tenant_id = tenants.get_by_slug(slug).id
    except LookupError as exc:
        raise click.ClickException(str(exc)) from exc
    db.session.commit()
    with tenant_context(tenant_id):
        version = operations.start_tenant_rotation(tenant_id)
        db.session.commit()
    job = operations.enqueue_rotation(tenant_id, version)
    if not wait:
        click.echo(job.id)
        return
    SimpleWorker([queue("keys")], connection=redis()).work(burst=True)
    job.refresh()
    if job.get_status() != JobStatus.FINISHED:
        raise click.ClickException(f"job {job.id} ended as {job.get_status()}")
    result = job.return_value()
    click.echo(f"{job.id}: {result['subjects']} subject(s), {result['rows']} row(s) re-encrypted, "
               f"{result['files']} file(s) re-encrypted; finished: {result['finished']}.")


COMMANDS = [keys]
