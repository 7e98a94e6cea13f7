"""`verify_pdf`: valid only for an unchanged, entirely sealed PDF from a platform certificate; and what
poppler's `pdfsig` says about the same files."""
import io
import subprocess
from datetime import datetime, timedelta, timezone

import pytest
from asn1crypto import keys as asn1_keys
from asn1crypto import x509 as asn1_x509
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from pyhanko.pdf_utils import generic
from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
from pyhanko.pdf_utils.reader import PdfFileReader
from pyhanko.sign import signers
from pyhanko.sign.fields import SigSeedSubFilter
from pyhanko_certvalidator.registry import SimpleCertificateStore

from saas.core import clock, tenancy
from saas.extensions import db
from saas.modules.seals import pki
from saas.modules.seals.operations import seal_pdf
from saas.modules.seals.pdf import html_to_pdf
from saas.modules.seals.verify import verify_pdf

HTML = ('<html lang="nl"><head><title>Verwerkersovereenkomst</title></head><body><h1>Verwerkersovereenkomst</h1>'
        + "<p>Artikel. De verwerker treft passende technische en organisatorische maatregelen.</p>" * 60
        + "</body></html>")


@pytest.fixture(autouse=True)
def _real_clock_afterwards():
    yield
    clock.set_now(None)


@pytest.fixture()
def tenant(make_tenant):
    return make_tenant(name="Leadhunter B.V.")


@pytest.fixture()
def plain_pdf(tenant):
    return html_to_pdf(HTML, tenant_name=tenant.name)


@pytest.fixture()
def sealed(ctx, tenant, plain_pdf):
    db.session.commit()
    tenancy.set_tenant(tenant.id)
    data = seal_pdf(tenant.id, plain_pdf, reason="Verwerkersovereenkomst voltooid")
    db.session.commit()
    tenancy.set_tenant(None)
    return data


def contents_span(data: bytes) -> tuple[int, int]:
    """Start and end of the hex digits of the (last) signature's /Contents."""
    sig = PdfFileReader(io.BytesIO(data)).embedded_signatures[-1]
    start1, length1, start2, _ = (int(x) for x in sig.byte_range)
    return start1 + length1 + 1, start2 - 1


def changed(data: bytes, position: int, new: int | None = None) -> bytes:
    value = data[position] ^ 0x01 if new is None else new
    return data[:position] + bytes([value]) + data[position + 1:]


def pdfsig(data: bytes, tmp_path) -> str:
    path = tmp_path / "doc.pdf"
    path.write_bytes(data)
    return subprocess.run(["/usr/bin/pdfsig", "-no-ocsp", str(path)], capture_output=True, text=True).stdout


# --- valid --------------------------------------------------------------------------------------------
def test_the_sealed_file_is_valid(sealed):
    result = verify_pdf(sealed)
    assert (result.valid, result.code, result.covers_whole_document) == (True, "valid", True)
    assert result.tenant == "Leadhunter B.V."


def test_pdfsig_reports_a_valid_signature_over_the_total_document(sealed, tmp_path):
    """pdfsig trusts what its NSS database trusts. Without our root in such a database (none here:
    no certutil to make one) it cannot call the certificate trusted and prints a certificate problem;
    so only the signature and its coverage are asserted. Its exit code is 0 even for a broken digest,
    so the output is what counts."""
    out = pdfsig(sealed, tmp_path)
    assert "Signature Validation: Signature is Valid." in out
    assert "- Total document signed" in out and "Not total document signed" not in out
    assert "Signer Certificate Common Name: Leadhunter B.V. – elektronisch zegel" in out
    assert "Signature Type: ETSI.CAdES.detached" in out
    assert "Certificate Validation:" in out and "Certificate is Trusted." not in out


# --- one byte changed ------------------------------------------------------------------------------------
def test_any_single_byte_changed_is_invalid(sealed):
    """Every 499th byte of the file, plus the first and the last, flipped one at a time."""
    positions = sorted({0, len(sealed) - 1, *range(7, len(sealed), 499)})
    valid = [p for p in positions if verify_pdf(changed(sealed, p)).valid]
    assert valid == [] and len(positions) > 50


def test_a_changed_byte_in_the_signature_padding_is_invalid(sealed):
    """pyHanko itself ignores the zero padding after the CMS: this is `_contents_canonical`'s case."""
    start, end = contents_span(sealed)
    assert sealed[end - 20:end] == b"0" * 20
    result = verify_pdf(changed(sealed, end - 10, ord("1")))
    assert not result.valid and result.code == "tampered"


def test_a_hex_digit_written_in_the_other_case_is_invalid(sealed):
    start, end = contents_span(sealed)
    hex_digits = sealed[start:end]
    letter = next(i for i, ch in enumerate(hex_digits) if chr(ch) in "ABCDEF")
    result = verify_pdf(changed(sealed, start + letter, ord(chr(hex_digits[letter]).lower())))
    assert not result.valid and result.code == "tampered"


def test_pdfsig_sees_the_digest_mismatch_too(sealed, tmp_path):
    out = pdfsig(changed(sealed, 2000), tmp_path)
    assert "Signature is Valid." not in out


# --- content appended ------------------------------------------------------------------------------------
def test_plain_bytes_appended_are_invalid(sealed, tmp_path):
    appended = sealed + b"\n% a comment added later\n"
    result = verify_pdf(appended)
    assert not result.valid and result.code == "appended" and not result.covers_whole_document
    assert "Not total document signed" in pdfsig(appended, tmp_path)


@pytest.mark.parametrize("change", ["new object", "catalog entry", "document info"])
def test_an_incremental_update_after_sealing_is_invalid(sealed, tmp_path, change):
    writer = IncrementalPdfFileWriter(io.BytesIO(sealed))
    if change == "new object":
        writer.root["/Extra"] = writer.add_object(generic.TextStringObject("added after sealing"))
        writer.update_root()
    elif change == "catalog entry":
        writer.root["/PageMode"] = generic.NameObject("/UseOutlines")
        writer.update_root()
    else:
        writer.set_info(generic.DictionaryObject({generic.NameObject("/Title"): generic.TextStringObject("Changed")}))
    out = io.BytesIO()
    writer.write(out)
    updated = out.getvalue()
    assert updated.startswith(sealed) and len(updated) > len(sealed)
    result = verify_pdf(updated)
    assert not result.valid and not result.covers_whole_document
    assert result.code in ("appended", "tampered")
    out = pdfsig(updated, tmp_path)
    assert "Not total document signed" in out


def test_a_truncated_file_is_invalid(sealed):
    assert not verify_pdf(sealed[:-200]).valid


# --- not our certificate ------------------------------------------------------------------------------------
def self_made_signer(subject_of):
    """A CA of one's own and a seal certificate that copies a tenant's subject exactly."""
    now = datetime.now(timezone.utc)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(x509.NameOID.COMMON_NAME, pki.ROOT_NAME)])  # even the same name
    ca = (x509.CertificateBuilder().subject_name(ca_name).issuer_name(ca_name).public_key(ca_key.public_key())
          .serial_number(x509.random_serial_number()).not_valid_before(now - timedelta(days=1))
          .not_valid_after(now + timedelta(days=365))
          .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
          .sign(ca_key, hashes.SHA256()))
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    cert = (x509.CertificateBuilder().subject_name(subject_of).issuer_name(ca_name).public_key(key.public_key())
            .serial_number(x509.random_serial_number()).not_valid_before(now - timedelta(days=1))
            .not_valid_after(now + timedelta(days=365))
            .add_extension(pki._key_usage(signing=True), critical=True)
            .sign(ca_key, hashes.SHA256()))
    chain = [asn1_x509.Certificate.load(c.public_bytes(serialization.Encoding.DER)) for c in (cert, ca)]
    key_info = asn1_keys.PrivateKeyInfo.load(key.private_bytes(
        serialization.Encoding.DER, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()))
    return signers.SimpleSigner(signing_cert=chain[0], signing_key=key_info,
                                cert_registry=SimpleCertificateStore.from_certs(chain))


def test_a_pdf_sealed_with_a_self_made_certificate_is_invalid(ctx, tenant, plain_pdf):
    forged = signers.PdfSigner(
        signers.PdfSignatureMetadata(field_name="Zegel", subfilter=SigSeedSubFilter.PADES, md_algorithm="sha256"),
        self_made_signer(pki.seal_subject(tenant.name)),
    ).sign_pdf(IncrementalPdfFileWriter(io.BytesIO(plain_pdf))).getvalue()
    result = verify_pdf(forged)
    assert not result.valid and result.code == "untrusted"
    assert result.tenant is None  # the name in a foreign certificate is only a claim
    assert result.signer == "Leadhunter B.V. – elektronisch zegel" and result.covers_whole_document


# --- not a sealed PDF ---------------------------------------------------------------------------------------
@pytest.mark.parametrize("data, code", [
    (b"", "not_pdf"),
    (b"PK\x03\x04 a zip file", "not_pdf"),
    (b"%PDF-1.7\n this is not really a pdf", "unreadable"),
])
def test_what_is_not_a_sealed_pdf_is_invalid(ctx, data, code):
    result = verify_pdf(data)
    assert (result.valid, result.code, result.signer, result.tenant) == (False, code, "", None)


def test_an_unsealed_pdf_is_invalid(ctx, plain_pdf):
    result = verify_pdf(plain_pdf)
    assert not result.valid and result.code == "no_signature"


def test_a_signing_time_in_the_future_is_refused(ctx, tenant, plain_pdf):
    db.session.commit()
    tenancy.set_tenant(tenant.id)
    clock.set_now(datetime.now(timezone.utc) + timedelta(days=2))
    future = seal_pdf(tenant.id, plain_pdf, reason="x")
    db.session.commit()
    assert verify_pdf(future).valid  # at that time it is fine ...
    clock.set_now(None)
    result = verify_pdf(future)      # ... today it is not
    assert not result.valid and result.code == "future"
