"""Sealing with the tenant's seal certificate, the platform CA, key protection and the CLI."""
import io
import re
import subprocess
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
import sqlalchemy as sa
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID
from pyhanko.pdf_utils.reader import PdfFileReader
from sqlalchemy.engine import make_url

from saas.core import clock, tenancy
from saas.core.crypto import aead as box
from saas.core.crypto.keyring import KeyMissing
from saas.core.tenancy import NoTenantError
from saas.extensions import db
from saas.modules.audit.models import AuditEntry
from saas.modules.keys import jobs as key_jobs
from saas.modules.keys import operations as key_operations
from saas.modules.seals import cli as seals_cli
from saas.modules.seals import pki
from saas.modules.seals.models import PlatformCertificate, SealCertificate
from saas.modules.seals.operations import SealError, seal_pdf, sha256_hex
from saas.modules.seals.pdf import html_to_pdf
from saas.modules.seals.verify import verify_pdf
from saas.testing.core import DB_KIND
from saas.testing import services
from saas.testing.fixtures_crypto import forget_cached_keys

SEALED_AT = datetime(2026, 5, 4, 13, 14, 15, tzinfo=timezone.utc)
HTML = ('<html lang="nl"><head><title>Verwerkersovereenkomst</title></head><body>'
        '<h1>Verwerkersovereenkomst</h1><p>De verwerker verwerkt uitsluitend op schriftelijke instructie.</p>'
        '</body></html>')


@pytest.fixture(autouse=True)
def _real_clock_afterwards():
    yield
    clock.set_now(None)


def seal(tenant, reason="Ondertekend door alle partijen"):
    """A committed seal by `tenant` over a small agreement; returns the sealed bytes."""
    db.session.commit()
    tenancy.set_tenant(tenant.id)
    sealed = seal_pdf(tenant.id, html_to_pdf(HTML, created=clock.now()), reason=reason, location="Nederland")
    db.session.commit()
    return sealed


def certificates(tenant) -> list[SealCertificate]:
    db.session.commit()
    tenancy.set_tenant(tenant.id)
    return list(db.session.scalars(sa.select(SealCertificate).order_by(SealCertificate.not_after)))


def test_sealed_pdf_verifies_with_signer_time_and_tenant(ctx, make_tenant):
    tenant = make_tenant(name="Zestgroup B.V.")
    clock.set_now(SEALED_AT)
    sealed = seal(tenant)
    result = verify_pdf(sealed)
    assert result.valid and result.code == "valid" and result.covers_whole_document
    assert result.tenant == "Zestgroup B.V." and result.signer == "Zestgroup B.V. – elektronisch zegel"
    assert result.signed_at == SEALED_AT  # the platform clock, not the machine's
    assert result.signed_at_local.tzname() == "CEST" and result.signed_at_local.hour == 15
    assert result.sha256 == sha256_hex(sealed)
    reader = PdfFileReader(io.BytesIO(sealed))
    sig = reader.embedded_signatures[0]
    assert sig.field_name == "Zegel" and sig.sig_object["/SubFilter"] == "/ETSI.CAdES.detached"
    assert sig.sig_object["/Reason"] == "Ondertekend door alle partijen" and sig.sig_object["/Location"] == "Nederland"
    assert sig.docmdp_level is not None  # a certification signature: no later change allowed
    chain = {c.chosen.subject.native["common_name"] for c in sig.signed_data["certificates"]}
    assert chain == {"Zestgroup B.V. – elektronisch zegel", pki.ROOT_NAME}


def test_sealing_keeps_the_pdf_a_claim_and_info_equal_to_xmp(ctx, make_tenant):
    sealed = seal(make_tenant())
    reader = PdfFileReader(io.BytesIO(sealed))
    xmp = reader.root["/Metadata"].get_object().data.decode()
    assert 'pdfaid:part="2"' in xmp and 'pdfaid:conformance="B"' in xmp
    info = reader.trailer["/Info"]
    producer = re.search(r'pdf:Producer="([^"]+)"', xmp).group(1)
    assert info["/Producer"] == producer  # PDF/A: an info entry must equal its XMP counterpart
    assert "/ModDate" not in info and "<dc:title" in xmp and info["/Title"] == "Verwerkersovereenkomst"
    created = info["/CreationDate"]  # D:YYYYMMDDHHmmSSZ, and the same moment in the XMP
    assert f"{created[2:6]}-{created[6:8]}-{created[8:10]}T{created[10:12]}:{created[12:14]}:{created[14:16]}" in xmp
    widget = reader.root["/AcroForm"]["/Fields"][0].get_object()
    assert widget["/F"] & 4 and widget["/Rect"] == [0, 0, 0, 0]  # printable, no appearance needed (zero size)


def test_the_seal_certificate_is_issued_by_the_platform_ca_with_non_repudiation(ctx, make_tenant):
    tenant = make_tenant(name="Cliënt ICT Groep")
    clock.set_now(SEALED_AT)
    assert certificates(tenant) == []  # lazily: none before the first seal
    seal(tenant)
    [record] = certificates(tenant)
    cert = x509.load_der_x509_certificate(record.certificate)
    ca = pki.platform_ca_certificate()
    assert cert.issuer == ca.subject
    ca.public_key().verify(cert.signature, cert.tbs_certificate_bytes, ec.ECDSA(cert.signature_hash_algorithm))
    assert cert.subject.get_attributes_for_oid(NameOID.ORGANIZATION_NAME)[0].value == "Cliënt ICT Groep"
    assert cert.subject.get_attributes_for_oid(NameOID.COMMON_NAME)[0].value == "Cliënt ICT Groep – elektronisch zegel"
    usage = cert.extensions.get_extension_for_class(x509.KeyUsage)
    assert usage.critical and usage.value.digital_signature and usage.value.content_commitment
    assert not usage.value.key_cert_sign
    assert cert.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value == x509.ExtendedKeyUsage(
        [x509.ObjectIdentifier("1.3.6.1.5.5.7.3.36")])
    assert not cert.extensions.get_extension_for_class(x509.BasicConstraints).value.ca
    assert cert.not_valid_after_utc - SEALED_AT == pki.SEAL_VALIDITY
    assert ca.extensions.get_extension_for_class(x509.BasicConstraints).value.ca
    assert ca.not_valid_after_utc - ca.not_valid_before_utc > timedelta(days=25 * 365)
    assert ExtendedKeyUsageOID.CODE_SIGNING not in cert.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value


def test_a_second_seal_reuses_the_certificate_and_the_issue_is_audited(ctx, make_tenant):
    tenant = make_tenant()
    seal(tenant)
    seal(tenant)
    assert len(certificates(tenant)) == 1
    actions = list(db.session.scalars(sa.select(AuditEntry.action).order_by(AuditEntry.seq)))
    assert actions.count("seals.issue") == 1 and actions.count("seals.seal") == 2


@pytest.mark.parametrize("days_before_renewal, renewed", [(1, False), (0, True), (-1, True)])
def test_renewal_starts_sixty_days_before_the_end(ctx, make_tenant, days_before_renewal, renewed):
    tenant = make_tenant()
    clock.set_now(SEALED_AT)
    seal(tenant)
    renew_at = SEALED_AT + pki.SEAL_VALIDITY - pki.RENEW_BEFORE
    clock.set_now(renew_at - timedelta(days=days_before_renewal))
    seal(tenant)
    records = certificates(tenant)
    assert len(records) == (2 if renewed else 1)
    assert verify_pdf(seal(tenant)).valid


def test_a_renamed_tenant_gets_a_certificate_in_its_new_name(ctx, make_tenant):
    tenant = make_tenant(name="Old Name")
    seal(tenant)
    tenancy.set_tenant(None)
    tenant.name = "New Name"
    result = verify_pdf(seal(tenant))
    assert result.valid and result.tenant == "New Name" and len(certificates(tenant)) == 2


def test_a_document_stays_valid_after_its_seal_certificate_expired(ctx, make_tenant):
    tenant = make_tenant()
    clock.set_now(SEALED_AT)
    sealed = seal(tenant)
    clock.set_now(SEALED_AT + timedelta(days=3 * 365))
    assert verify_pdf(sealed).valid  # checked at the signing time the seal states
    assert verify_pdf(seal(tenant)).valid and len(certificates(tenant)) == 2


def test_a_seal_key_is_usable_only_inside_its_own_tenant(ctx, make_tenant):
    owner, other = make_tenant(), make_tenant()
    seal(owner)
    pdf = html_to_pdf(HTML, tenant_name="x")
    db.session.commit()
    tenancy.set_tenant(other.id)
    with pytest.raises(pki.SealKeyError):
        seal_pdf(owner.id, pdf, reason="not mine")
    assert db.session.scalars(sa.select(SealCertificate)).all() == []  # other's view: nothing of owner
    db.session.commit()
    tenancy.set_tenant(None)
    with pytest.raises((pki.SealKeyError, NoTenantError)):
        seal_pdf(owner.id, pdf, reason="no tenant")
    [row] = certificates(owner)  # even the owner's row, carried into another tenant, does not decrypt there
    db.session.expunge(row)
    db.session.commit()
    tenancy.set_tenant(other.id)
    with pytest.raises(KeyMissing):
        _ = row.private_key


def test_sealing_refuses_what_is_not_a_pdf(ctx, make_tenant):
    tenant = make_tenant()
    db.session.commit()
    tenancy.set_tenant(tenant.id)
    with pytest.raises(SealError):
        seal_pdf(tenant.id, b"<html>no</html>", reason="x")
    with pytest.raises(SealError):
        seal_pdf(tenant.id, b"%PDF-1.7\nbroken", reason="x")


# --- the keys stay secret ----------------------------------------------------------------------------
def _dump(url: str, pg_server) -> bytes:
    if DB_KIND == "sqlite":
        return Path(make_url(url).database).read_bytes()
    return subprocess.run(
        [services._pg_bin("pg_dump"), "-h", pg_server.host, "-p", str(pg_server.port), "-U", "postgres",
         "--data-only", make_url(url).database], capture_output=True, check=True).stdout


def _secret_forms(private_key) -> list[bytes]:
    der = private_key.private_bytes(serialization.Encoding.DER, serialization.PrivateFormat.PKCS8,
                                    serialization.NoEncryption())
    pem = private_key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                    serialization.NoEncryption())
    numbers = private_key.private_numbers()
    scalar = numbers.private_value if hasattr(numbers, "private_value") else numbers.d
    raw = scalar.to_bytes((scalar.bit_length() + 7) // 8, "big")
    body_lines = [line for line in pem.splitlines() if line and not line.startswith(b"-----")]
    return [der, der.hex().encode(), raw, raw.hex().encode(), *body_lines[1:4]]


def test_no_private_key_is_stored_in_plain_text_anywhere(ctx, make_tenant, settings, pg_server):
    tenant = make_tenant()
    seal(tenant)
    root_key = pki._root_private_key()
    tenancy.set_tenant(tenant.id)
    seal_key = pki.seal_identity(tenant.id).private_key
    db.session.commit()
    places = [_dump(settings.database_url, pg_server), _dump(settings.keys_database_url, pg_server)]
    places += [p.read_bytes() for p in Path(settings.instance_path).rglob("*") if p.is_file()]
    assert any(pki.platform_ca_certificate().public_bytes(serialization.Encoding.DER) in place
               or pki.platform_ca_certificate().public_bytes(serialization.Encoding.DER).hex().encode() in place
               for place in places), "the dumps do not show the platform certificate at all"
    for secret in _secret_forms(root_key) + _secret_forms(seal_key):
        assert not any(secret in place for place in places)


def test_master_key_rotation_rewraps_the_root_ca_key(ctx, make_tenant, settings):
    tenant = make_tenant()
    seal(tenant)
    before = db.session.get(PlatformCertificate, pki.ROOT)
    old_id, old_wrapped = before.master_key_id, before.wrapped_key
    key_operations.rotate_master(settings)
    db.session.expire_all()
    after = db.session.get(PlatformCertificate, pki.ROOT)
    assert after.master_key_id != old_id and after.master_key_id == Path(settings.master_key_file).read_text().split(":")[0]
    assert after.wrapped_key != old_wrapped
    forget_cached_keys()
    newcomer = make_tenant()
    assert verify_pdf(seal(newcomer)).valid  # a new seal certificate needs the root key: still readable


def test_tenant_key_rotation_moves_the_seal_key_and_sealing_goes_on(ctx, make_tenant):
    tenant = make_tenant()
    seal(tenant)
    [record] = certificates(tenant)
    assert box.header_of(record.ciphertext) == (box.KIND_TENANT, 1)
    version = key_operations.start_tenant_rotation(tenant.id)
    db.session.commit()
    assert key_jobs.rotate_tenant_key(tenant_id=tenant.id, version=version)["finished"]
    forget_cached_keys()
    [record] = certificates(tenant)
    assert box.header_of(record.ciphertext) == (box.KIND_TENANT, version)
    assert verify_pdf(seal(tenant)).valid and len(certificates(tenant)) == 1


# --- CLI -----------------------------------------------------------------------------------------------
def test_cli_prints_the_ca_issues_and_verifies(app, ctx, make_tenant, tmp_path):
    runner = app.test_cli_runner()
    out = runner.invoke(seals_cli.seals, ["ca-cert"])
    assert out.exit_code == 0 and out.output.encode() == pki.platform_ca_pem()
    assert x509.load_pem_x509_certificate(out.output.encode()).subject == pki.platform_ca_certificate().subject

    tenant = make_tenant(name="KVGO")
    issued = runner.invoke(seals_cli.seals, ["issue", "--tenant", tenant.slug])
    assert issued.exit_code == 0 and "Seal certificate" in issued.output and "KVGO" in issued.output
    assert runner.invoke(seals_cli.seals, ["issue", "--tenant", "no-such-tenant"]).exit_code != 0

    clock.set_now(datetime(2026, 1, 15, 9, 0, 0, tzinfo=timezone.utc))
    path = tmp_path / "sealed.pdf"
    path.write_bytes(seal(tenant))
    tenancy.set_tenant(None)
    good = runner.invoke(seals_cli.seals, ["verify", str(path)])
    assert good.exit_code == 0, good.output
    assert good.output.startswith("VALID") and "Tenant:    KVGO" in good.output
    assert "2026-01-15 09:00:00 UTC (2026-01-15 10:00:00 CET Europe/Amsterdam)" in good.output
    path.write_bytes(path.read_bytes() + b"\n%appended\n")
    bad = runner.invoke(seals_cli.seals, ["verify", str(path)])
    assert bad.exit_code == 1 and bad.output.startswith("INVALID") and "Whole document covered: no" in bad.output
