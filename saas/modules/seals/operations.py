"""Sealing: a PAdES signature (baseline B-B) by the tenant's seal certificate over the whole PDF.

The seal is a certification signature that allows no later change (DocMDP "no changes"): anything
added afterwards, even by a valid incremental update, makes `verify_pdf` answer invalid. It carries
the seal certificate and the platform root CA, so the file can be checked with the root alone.
No timestamp authority is used: the signing time is the one the platform states (`saas.core.clock`),
written as /M in the signature dictionary as PAdES B-B asks (no signing-time attribute in the CMS).
"""
from __future__ import annotations

import hashlib
import io

from asn1crypto import x509 as asn1_x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import padding as asym_padding
from cryptography.x509.oid import NameOID
from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
from pyhanko.pdf_utils.misc import PdfError
from pyhanko.sign import signers
from pyhanko.sign.general import SigningError, get_pyca_cryptography_hash
from pyhanko.sign.fields import MDPPerm, SigSeedSubFilter
from pyhanko_certvalidator.registry import SimpleCertificateStore

from saas.core import clock
from saas.modules.seals import pki


# Room for the CMS in the file, in hex digits: the seal's is about 6,600 (RSA-3072, two certificates).
# Reserving it skips pyHanko's size estimate, which would sign a dummy first.
SIGNATURE_SPACE = 12_288


class SealError(ValueError):
    """The bytes cannot be sealed (not a PDF, or a PDF pyHanko cannot update)."""


def sha256_hex(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


class _ClockedPdfSigner(signers.PdfSigner):
    """pyHanko takes the signing time from the system clock; the platform takes it from its own
    (`PdfSigningSession.system_time`, which pyHanko writes to /M and the appearance)."""

    def init_signing_session(self, pdf_out, existing_fields_only=False):
        session = super().init_signing_session(pdf_out, existing_fields_only=existing_fields_only)
        session.system_time = clock.now()
        return session


def _asn1_certificate(cert) -> asn1_x509.Certificate:
    return asn1_x509.Certificate.load(cert.public_bytes(serialization.Encoding.DER))


class _SealSigner(signers.Signer):
    """pyHanko's SimpleSigner parses the private key again for every signature, and for an RSA key
    that costs about 0.2 s (it re-checks the primes). This one signs with the key already loaded."""

    def __init__(self, identity: pki.SealIdentity):
        chain = [_asn1_certificate(cert) for cert in identity.chain]
        super().__init__(signing_cert=chain[0], cert_registry=SimpleCertificateStore.from_certs(chain))
        self._key = identity.private_key

    async def async_sign_raw(self, data: bytes, digest_algorithm: str, dry_run=False) -> bytes:
        mechanism = self.get_signature_mechanism_for_digest(digest_algorithm).signature_algo
        if mechanism != "rsassa_pkcs1v15":
            raise SigningError(f"seal keys sign with RSA PKCS#1 v1.5, not {mechanism}")
        return self._key.sign(data, asym_padding.PKCS1v15(), get_pyca_cryptography_hash(digest_algorithm))


def seal_pdf(tenant_id: int, pdf: bytes, *, reason: str, location: str = "", field_name: str = "Zegel") -> bytes:
    """The PDF sealed by the tenant's seal certificate (issued here on first use; the caller commits).

    Run inside the tenant (`tenancy.set_tenant(tenant_id)`): the seal key is readable nowhere else.
    A PDF without signatures gets a certification signature (no later changes allowed); one that
    already has signatures gets an approval signature. Returns the new bytes; `pdf` is not changed.
    """
    if not pdf.startswith(b"%PDF-"):
        raise SealError("not a PDF")
    identity = pki.seal_identity(tenant_id)
    try:
        writer = IncrementalPdfFileWriter(io.BytesIO(pdf))
        first = not writer.prev.embedded_signatures
        meta = signers.PdfSignatureMetadata(
            field_name=field_name, subfilter=SigSeedSubFilter.PADES, md_algorithm="sha256",
            reason=reason or None, location=location or None,
            name=identity.certificate.subject.get_attributes_for_oid(NameOID.ORGANIZATION_NAME)[0].value,
            certify=first, docmdp_permissions=MDPPerm.NO_CHANGES,
        )
        output = _ClockedPdfSigner(meta, _SealSigner(identity)).sign_pdf(writer, bytes_reserved=SIGNATURE_SPACE)
    except (PdfError, SigningError) as exc:
        raise SealError(f"the PDF cannot be sealed: {exc}") from exc
    sealed = output.getvalue()
    _audit_seal(identity, sealed)
    return sealed


def _audit_seal(identity: pki.SealIdentity, sealed: bytes) -> None:
    from saas.modules.audit import operations as audit

    audit.record("seals.seal", "seal_certificate", identity.record_id,
                 detail={"serial": format(identity.certificate.serial_number, "x"), "sha256": sha256_hex(sealed)})
