"""`saas seals ...`: the platform root CA, tenant seal certificates, checking a sealed PDF."""
from __future__ import annotations

import sys
from pathlib import Path

import click
from flask.cli import AppGroup

from saas.core import clock
from saas.core.tenancy import tenant_context
from saas.extensions import db
from saas.modules.seals import pki
from saas.modules.seals.isolation import verify_untrusted
from saas.modules.seals.verify import Refused
from saas.modules.tenants import queries as tenants

seals = AppGroup("seals", help="Platform root CA, tenant seal certificates, checking sealed PDFs.")


@seals.command("ca-cert")
def ca_cert_command():
    """Print the platform root CA certificate (PEM); made on first use. Public: give it to anyone
    who wants to check a sealed document (`pyhanko sign validate --trust ca.pem`, Adobe, ...)."""
    click.echo(pki.platform_ca_pem().decode(), nl=False)


@seals.command("issue")
@click.option("--tenant", "slug", required=True, help="The tenant's slug.")
def issue_command(slug: str):
    """Issue a new seal certificate for a tenant now (normally done on its first seal, and renewed
    automatically near the end of its validity)."""
    try:
        tenant_id = tenants.get_by_slug(slug).id
    except LookupError as exc:
        raise click.ClickException(str(exc)) from exc
    pki.platform_ca_certificate()
    db.session.commit()
    with tenant_context(tenant_id):
        record = pki.issue_seal_certificate(tenant_id)
        db.session.commit()
        click.echo(f"Seal certificate {record.serial} for {record.subject_name}, valid until "
                   f"{record.not_after:%Y-%m-%d %H:%M} UTC.")


REFUSALS = {
    "too_large": "the file is larger than {limit} bytes",
    "too_many_objects": "the PDF has more than {limit} objects",
    "too_many_signature_fields": "the PDF has more than {limit} signature fields",
    "too_slow": "checking took longer than {limit} seconds or more memory than allowed",
    "busy": "all {limit} checking slots are taken; try again in a minute",
}


def check_file(data: bytes):
    """`verify_untrusted` with the same limits as the public page; a refusal is a ClickException (exit 1)."""
    try:
        return verify_untrusted(data)
    except Refused as refused:
        raise click.ClickException("NOT CHECKED: " + REFUSALS[refused.code].format(limit=refused.limit)) from None


def describe(result) -> str:
    """The answer of `verify_pdf` as lines for a terminal (also used by `saas agreements verify`)."""
    lines = [("VALID" if result.valid else "INVALID") + f": {result.reason}"]
    if result.tenant:
        lines.append(f"Tenant:    {result.tenant}")
    if result.signer:
        lines.append(f"Signer:    {result.signer}")
    if result.signed_at:
        local = clock.local(result.signed_at)
        lines.append(f"Sealed at: {result.signed_at:%Y-%m-%d %H:%M:%S} UTC"
                     f" ({local:%Y-%m-%d %H:%M:%S} {local.tzname()} Europe/Amsterdam)")
    lines.append(f"Whole document covered: {'yes' if result.covers_whole_document else 'no'}")
    lines.append(f"SHA-256:   {result.sha256}")
    return "\n".join(lines)


@seals.command("verify")
@click.argument("path", type=click.Path(exists=True, dir_okay=False, path_type=Path))
def verify_command(path: Path):
    """Check a sealed PDF against the platform root CA. Exit code 0 if valid, 1 if not."""
    result = check_file(path.read_bytes())
    click.echo(describe(result))
    sys.exit(0 if result.valid else 1)


COMMANDS = [seals]
