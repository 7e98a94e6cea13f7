"""Is this PDF, byte for byte, what a tenant sealed? `verify_pdf(data) -> Verification`.

Valid only when all of these hold:
- it is a PDF with at least one signature, and pyHanko validates every signature in it: intact
  (the digest matches), cryptographically sound, and its certificate chains to the platform root CA,
  the only trust root (a certificate from anyone else's CA is "untrusted"), with key usage
  digitalSignature + nonRepudiation, and no change the earlier signatures' DocMDP forbids;
- the last signature (the seal) covers the entire file: anything appended after sealing, plain bytes
  or a well-formed incremental update, is reported as invalid ("not the whole document");
- nothing unsigned inside a signature's /Contents was changed (`_container_untouched`): pyHanko
  checks only what the signature covers, so a byte changed in the zero padding, in the case of a hex
  digit or in the copy of the root certificate carried in the CMS would otherwise still verify.
  With this check any one-byte change anywhere in the file is caught.

Certificates are checked at the signing time the seal states: a document sealed in 2026 stays valid
after its seal certificate expires in 2028. There is no timestamp authority, so that time is the
platform's word (as good as the seal key itself); a time in the future is refused.

Limits (`VerifyLimits`): a file larger than `max_bytes`, with more than `max_objects` objects or more
than `max_signature_fields` signature fields is refused (`Refused`) before any signature is validated:
a 500 KB file with thousands of signature fields cost 30 s of CPU. A file from outside (the public page,
the CLIs) is checked by `saas.modules.seals.isolation`, in a separate process that also has a time and
memory limit. This module imports nothing of the app's database, so that process can use it alone.
"""
from __future__ import annotations

import hashlib
import io
import itertools
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone

from asn1crypto import cms
from asn1crypto import parser as asn1_parser
from asn1crypto import x509 as asn1_x509
from cryptography.hazmat.primitives import serialization
from pyhanko.pdf_utils.reader import PdfFileReader
from pyhanko.sign.fields import enumerate_sig_fields
from pyhanko.sign.validation import validate_pdf_signature
from pyhanko.sign.validation.settings import KeyUsageConstraints
from pyhanko.sign.validation.status import SignatureCoverageLevel
from pyhanko_certvalidator import ValidationContext

from saas.core import clock

FUTURE_TOLERANCE = timedelta(minutes=10)
_KEY_USAGE = KeyUsageConstraints(key_usage={"digital_signature", "non_repudiation"}, match_all_key_usages=True)

# Why a document is (in)valid; `reason` gives the English sentence, the web page its own wording.
REASONS = {
    "valid": "The seal is valid and covers the whole document.",
    "not_pdf": "This is not a PDF file.",
    "unreadable": "The PDF cannot be read.",
    "no_signature": "The PDF carries no seal or signature.",
    "tampered": "The document was changed after it was sealed.",
    "untrusted": "The seal was not made with a certificate of this platform valid at the signing time.",
    "appended": "Content was added after sealing: the seal does not cover the whole document.",
    "future": "The seal states a signing time in the future.",
}


@dataclass(frozen=True)
class VerifyLimits:
    """What one check may cost. A sealed agreement has one signature field and some tens of objects."""
    max_bytes: int = 10 * 1024 * 1024
    max_objects: int = 10_000
    max_signature_fields: int = 10
    seconds: int = 15          # wall clock and CPU time of the separate process
    memory_mb: int = 1024      # address space of the separate process

    @classmethod
    def from_config(cls, config) -> "VerifyLimits":
        """The app's SAAS_VERIFY_* settings where given, else the defaults above."""
        defaults = cls()
        return cls(**{name: int(config.get(f"SAAS_VERIFY_{name.upper()}", getattr(defaults, name)))
                      for name in cls.__dataclass_fields__})


class Refused(Exception):
    """The file exceeds a limit (or no checking process is free) and was not checked.
    `code`: too_large | too_many_objects | too_many_signature_fields | too_slow | busy."""

    def __init__(self, code: str, limit: int = 0):
        super().__init__(f"{code} (limit {limit})")
        self.code, self.limit = code, limit


@dataclass(frozen=True)
class Verification:
    valid: bool
    reason: str                       # an English sentence (REASONS[code])
    signer: str                       # the seal certificate's common name, "" if none
    signed_at: datetime | None        # UTC, as the seal states it
    tenant: str | None                # the organisation (O) of the seal certificate
    covers_whole_document: bool
    sha256: str                       # of the bytes checked
    code: str = "valid"               # a key of REASONS

    @property
    def signed_at_local(self) -> datetime | None:
        return clock.local(self.signed_at) if self.signed_at else None


def _result(code: str, sha256: str, signer: str = "", signed_at=None, tenant=None, whole=False) -> Verification:
    return Verification(code == "valid", REASONS[code], signer, signed_at, tenant, whole, sha256, code)


def _name_part(cert: asn1_x509.Certificate | None, part: str) -> str | None:
    return cert.subject.native.get(part) if cert is not None else None


def _container_untouched(data: bytes, sig, root_der: bytes) -> bool:
    """Nothing unsigned in the signature container was changed. Outside /Contents every byte is
    covered by the signature; inside it, pyHanko checks only what the signature covers. So: the gap
    left by /ByteRange holds exactly `<hex(CMS + zero padding)>` in one case (pyHanko writes upper
    case; one letter's case changed makes it mixed), and the unsigned parts of the CMS are, byte for
    byte, what sealing writes: the seal certificate and the root CA, no CRLs, one signer named by the
    seal certificate's own issuer and serial, no unsigned attributes, version 1, the signer's digest
    algorithm and detached data."""
    start1, length1, start2, _ = (int(x) for x in sig.byte_range)
    raw = sig.pkcs7_content
    try:
        _, _, _, header, content, _ = asn1_parser.parse(raw)
    except ValueError:
        return False
    padding = raw[len(header) + len(content):]
    hex_digits = raw.hex().encode()
    if padding.count(0) != len(padding) or data[start1 + length1:start2] not in (
            b"<" + hex_digits.upper() + b">", b"<" + hex_digits + b">"):
        return False
    signed_data = sig.signed_data
    [signer_info] = signed_data["signer_infos"]
    cert = sig.signer_cert
    sid = signer_info["sid"].chosen
    v1 = cms.CMSVersion("v1").dump()
    return (
        all(choice.chosen.dump() in (cert.dump(), root_der) for choice in signed_data["certificates"])
        and signed_data["crls"].native is None
        and signer_info["unsigned_attrs"].native is None
        and signed_data["version"].dump() == signer_info["version"].dump() == v1
        and sid["issuer"].dump() == cert["tbs_certificate"]["issuer"].dump()
        and sid["serial_number"].dump() == cert["tbs_certificate"]["serial_number"].dump()
        and signed_data["digest_algorithms"].dump() == cms.DigestAlgorithms([signer_info["digest_algorithm"]]).dump()
        and signed_data["encap_content_info"].dump() == cms.EncapsulatedContentInfo({"content_type": "data"}).dump()
    )


def sha256_hex(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def check_limits(data: bytes, reader: PdfFileReader, limits: VerifyLimits) -> None:
    """Refused unless size, object count and signature field count are within the limits; cheap: it
    counts the cross-reference entries and stops walking the form fields one past the limit."""
    if len(data) > limits.max_bytes:
        raise Refused("too_large", limits.max_bytes)
    xrefs = reader.xrefs
    objects = sum(len(xrefs.explicit_refs_in_revision(r)) for r in range(xrefs.total_revisions))
    if objects > limits.max_objects:
        raise Refused("too_many_objects", limits.max_objects)
    fields = itertools.islice(enumerate_sig_fields(reader, filled_status=None), limits.max_signature_fields + 1)
    if sum(1 for _ in fields) > limits.max_signature_fields:
        raise Refused("too_many_signature_fields", limits.max_signature_fields)


def _check(data: bytes, sig, root_der: bytes, now: datetime) -> tuple[str, object]:
    """(code, pyHanko status) for one embedded signature."""
    signed_at = sig.self_reported_timestamp
    if signed_at is not None and signed_at > now + FUTURE_TOLERANCE:
        return "future", None
    context = ValidationContext(trust_roots=[asn1_x509.Certificate.load(root_der)], moment=signed_at,
                                allow_fetching=False)
    status = validate_pdf_signature(sig, context, key_usage_settings=_KEY_USAGE)
    if not (status.intact and status.valid):
        return "tampered", status
    if not status.trusted:
        return "untrusted", status
    if not _container_untouched(data, sig, root_der) or not status.bottom_line:
        return "tampered", status   # or a change the DocMDP setting of an earlier signature forbids
    return "valid", status


def platform_root_der() -> bytes:
    from saas.modules.seals.pki import platform_ca_certificate   # the database: only where the app runs

    return platform_ca_certificate().public_bytes(serialization.Encoding.DER)


def verify_pdf(data: bytes, *, root_der: bytes | None = None, now: datetime | None = None,
               limits: VerifyLimits | None = None) -> Verification:
    """Check a sealed PDF against the platform CA (`root_der`, by default read from the database) at
    `now` (default: the clock). Bad input answers invalid; a file beyond `limits` (default: the
    defaults) raises Refused. In-process: for a file from outside use `isolation.verify_untrusted`."""
    limits = limits or VerifyLimits()
    if len(data) > limits.max_bytes:
        raise Refused("too_large", limits.max_bytes)
    sha256 = sha256_hex(data)
    if not data.startswith(b"%PDF-"):
        return _result("not_pdf", sha256)
    try:
        reader = PdfFileReader(io.BytesIO(data), strict=False)
        check_limits(data, reader, limits)
        signatures = reader.embedded_signatures
    except Refused:
        raise
    except Exception:  # noqa: BLE001 - any parser failure means the same to the reader
        # A signature dictionary whose CMS no longer parses was changed; anything else is just broken.
        return _result("tampered" if b"/ByteRange" in data else "unreadable", sha256)
    if not signatures:
        return _result("no_signature", sha256)
    root_der = root_der if root_der is not None else platform_root_der()
    now = now or clock.now()
    codes, status = [], None
    for sig in signatures:
        try:
            sig_code, status = _check(data, sig, root_der, now)
        except Exception:  # noqa: BLE001 - pyHanko fails in many ways on an altered CMS (even AttributeError)
            sig_code, status = "tampered", None
        codes.append(sig_code)
    code = next((c for c in codes if c != "valid"), "valid")
    whole = status is not None and status.coverage == SignatureCoverageLevel.ENTIRE_FILE  # the last one: the seal
    if code == "valid" and not whole:
        code = "appended"
    cert, signed_at = _claims(signatures[-1])
    return _result(code, sha256, signer=_name_part(cert, "common_name") or "", signed_at=signed_at, whole=whole,
                   # whose seal it is, only when the platform issued the certificate (else it is a mere claim)
                   tenant=None if "untrusted" in codes else _name_part(cert, "organization_name"))


def _claims(sig) -> tuple[asn1_x509.Certificate | None, datetime | None]:
    """The certificate and signing time the seal names, as far as an altered one still names them."""
    try:
        cert = sig.signer_cert
    except Exception:  # noqa: BLE001 - reported as tampered already
        cert = None
    try:
        signed_at = sig.self_reported_timestamp
    except Exception:  # noqa: BLE001
        signed_at = None
    return cert, signed_at.astimezone(timezone.utc) if signed_at else None

