"""The platform's own PKI: one root CA, and per tenant a seal certificate issued by it.

Anyone can check a sealed document with the root certificate alone (`saas seals ca-cert`, or
`/verify/ca.pem`): it is the only trust root the verification accepts.

- Root CA: EC P-384, self-signed, 30 years. Made once (on first need, in its own transaction); its
  private key is wrapped by the master key and only unwrapped to issue a seal certificate.
- Seal certificate: RSA-3072 (read by every PDF reader), subject O=<tenant name>,
  CN="<tenant name> – elektronisch zegel", key usage digitalSignature + nonRepudiation, extended key
  usage document signing (1.3.6.1.5.5.7.3.36), valid two years. Issued lazily on the first seal,
  again when the current one is within `RENEW_BEFORE` of its end or the tenant was renamed. Its
  private key is encrypted with the tenant data key, so it is usable only inside that tenant.
"""
from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone

import sqlalchemy as sa
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.oid import NameOID
from flask import current_app
from sqlalchemy.exc import IntegrityError

from saas.core import clock
from saas.core.crypto import aead as box
from saas.core.crypto.keyring import KeyMissing, keyring
from saas.core.tenancy import current_tenant_id
from saas.extensions import db
from saas.modules.seals.models import PlatformCertificate, SealCertificate

ROOT = "root-ca"
ROOT_NAME = "Privacyportaal Root CA"
ROOT_ORGANISATION = "Privacyportaal"
ROOT_VALIDITY = timedelta(days=30 * 365)
SEAL_VALIDITY = timedelta(days=730)
RENEW_BEFORE = timedelta(days=60)
BACKDATE = timedelta(minutes=5)   # clock skew between machines must not make a new certificate "not yet valid"
SEAL_SUFFIX = " – elektronisch zegel"
DOCUMENT_SIGNING = x509.ObjectIdentifier("1.3.6.1.5.5.7.3.36")  # id-kp-documentSigning (RFC 9336)
_NAME_MAX = 64  # RFC 5280 upper bound of organizationName and commonName
_CA_CACHE = "saas.seals.root"


class SealKeyError(RuntimeError):
    """A seal key was asked for outside its own tenant, or cannot be read."""


@dataclass(frozen=True)
class SealIdentity:
    """What signing needs: the tenant's certificate and key, and the chain up to the root."""

    certificate: x509.Certificate
    private_key: rsa.RSAPrivateKey
    chain: tuple[x509.Certificate, ...]
    record_id: uuid.UUID


# --- root CA -------------------------------------------------------------------------------------
def _root_aad(serial: str) -> bytes:
    return f"platform-key|{ROOT}|{serial}".encode()


def _key_usage(*, signing: bool) -> x509.KeyUsage:
    return x509.KeyUsage(
        digital_signature=signing, content_commitment=signing, key_encipherment=False,
        data_encipherment=False, key_agreement=False, key_cert_sign=not signing, crl_sign=not signing,
        encipher_only=False, decipher_only=False,
    )


def _make_root(now: datetime) -> tuple[x509.Certificate, ec.EllipticCurvePrivateKey]:
    key = ec.generate_private_key(ec.SECP384R1())
    name = x509.Name([
        x509.NameAttribute(NameOID.COUNTRY_NAME, "NL"),
        x509.NameAttribute(NameOID.ORGANIZATION_NAME, ROOT_ORGANISATION),
        x509.NameAttribute(NameOID.COMMON_NAME, ROOT_NAME),
    ])
    cert = (
        x509.CertificateBuilder()
        .subject_name(name).issuer_name(name).public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - BACKDATE).not_valid_after(now + ROOT_VALIDITY)
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(_key_usage(signing=False), critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .sign(key, hashes.SHA384())
    )
    return cert, key


def _store_root() -> None:
    """Make the root CA in its own short transaction on the key store, whatever unit of work the
    caller has open. Two processes racing: the primary key keeps one, the other reads it back."""
    cert, key = _make_root(clock.now())
    serial = format(cert.serial_number, "x")
    master = keyring().master
    der = key.private_bytes(serialization.Encoding.DER, serialization.PrivateFormat.PKCS8,
                            serialization.NoEncryption())
    row = {
        "purpose": ROOT, "serial": serial, "certificate": cert.public_bytes(serialization.Encoding.DER),
        "not_after": cert.not_valid_after_utc, "master_key_id": master.active_id, "created_at": clock.now(),
        "wrapped_key": box.wrap(master.aead(master.active_id), der, _root_aad(serial)),
    }
    try:
        with db.engines["keys"].begin() as connection:
            connection.execute(sa.insert(PlatformCertificate.__table__).values(**row))
    except IntegrityError:
        pass  # another process made it first


def _root_row() -> PlatformCertificate | None:
    return db.session.get(PlatformCertificate, ROOT)


def _ensure_root_row() -> PlatformCertificate:
    row = _root_row()
    if row is None:
        _store_root()
        row = _root_row()
    return row


def platform_ca_certificate() -> x509.Certificate:
    """The root CA certificate (made on first use). Public: anyone may have it."""
    cached = current_app.extensions.get(_CA_CACHE)
    if cached is None:
        cached = x509.load_der_x509_certificate(_ensure_root_row().certificate)
        current_app.extensions[_CA_CACHE] = cached
    return cached


def platform_ca_pem() -> bytes:
    return platform_ca_certificate().public_bytes(serialization.Encoding.PEM)


def _root_private_key() -> ec.EllipticCurvePrivateKey:
    row = _ensure_root_row()
    der = box.unwrap(keyring()._master_aead(row.master_key_id), row.wrapped_key, _root_aad(row.serial))
    return serialization.load_der_private_key(der, password=None)


def rewrap_platform_keys() -> int:
    """Master key rotation: wrap the root CA key with the active master key. Returns how many changed."""
    row = _root_row()
    active = keyring().master.active_id
    if row is None or row.master_key_id == active:
        return 0
    der = box.unwrap(keyring()._master_aead(row.master_key_id), row.wrapped_key, _root_aad(row.serial))
    row.wrapped_key = box.wrap(keyring().master.aead(active), der, _root_aad(row.serial))
    row.master_key_id = active
    db.session.commit()
    return 1


# --- seal certificates ---------------------------------------------------------------------------
def _short(text: str, limit: int) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def seal_subject(tenant_name: str) -> x509.Name:
    return x509.Name([
        x509.NameAttribute(NameOID.COUNTRY_NAME, "NL"),
        x509.NameAttribute(NameOID.ORGANIZATION_NAME, _short(tenant_name, _NAME_MAX)),
        x509.NameAttribute(NameOID.COMMON_NAME, _short(tenant_name, _NAME_MAX - len(SEAL_SUFFIX)) + SEAL_SUFFIX),
    ])


def _check_tenant(tenant_id: int) -> None:
    if current_tenant_id() != tenant_id:
        raise SealKeyError("a seal key is used only inside its own tenant")


def _tenant_name(tenant_id: int) -> str:
    from saas.modules.tenants.models import Tenant

    return db.session.get(Tenant, tenant_id).name


def issue_seal_certificate(tenant_id: int) -> SealCertificate:
    """A new seal certificate for the current tenant, added to the session (the caller commits)."""
    from saas.modules.audit import operations as audit

    _check_tenant(tenant_id)
    root_cert, root_key = platform_ca_certificate(), _root_private_key()
    key = rsa.generate_private_key(public_exponent=65537, key_size=3072)
    now = clock.now()
    name = _tenant_name(tenant_id)
    cert = (
        x509.CertificateBuilder()
        .subject_name(seal_subject(name)).issuer_name(root_cert.subject).public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - BACKDATE).not_valid_after(now + SEAL_VALIDITY)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(_key_usage(signing=True), critical=True)
        .add_extension(x509.ExtendedKeyUsage([DOCUMENT_SIGNING]), critical=False)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(root_key.public_key()), critical=False)
        .sign(root_key, hashes.SHA384())
    )
    record = SealCertificate(
        tenant_id=tenant_id, serial=format(cert.serial_number, "x"), subject_name=name,
        certificate=cert.public_bytes(serialization.Encoding.DER),
        not_before=cert.not_valid_before_utc, not_after=cert.not_valid_after_utc,
    )
    record.private_key = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()).decode()
    db.session.add(record)
    db.session.flush()
    audit.record("seals.issue", "seal_certificate", record.id,
                 detail={"serial": record.serial, "not_after": record.not_after.isoformat()})
    return record


def current_seal_certificate(tenant_id: int) -> SealCertificate | None:
    """The newest seal certificate of the current tenant, whatever its state."""
    _check_tenant(tenant_id)
    query = sa.select(SealCertificate).order_by(SealCertificate.not_after.desc()).limit(1)
    return db.session.scalar(query)


def _needs_new(record: SealCertificate | None, tenant_id: int) -> bool:
    if record is None:
        return True
    now = clock.now()
    not_before, not_after = _aware(record.not_before), _aware(record.not_after)
    return not (not_before <= now < not_after - RENEW_BEFORE) or record.subject_name != _tenant_name(tenant_id)


def _aware(moment: datetime) -> datetime:
    return moment if moment.tzinfo else moment.replace(tzinfo=timezone.utc)  # SQLite returns naive UTC


def ensure_seal_certificate(tenant_id: int) -> SealCertificate:
    """The certificate to seal with now: the current one, or a new one when there is none, it ends
    within `RENEW_BEFORE`, it is not valid yet (the clock was set back), or the tenant's name changed."""
    record = current_seal_certificate(tenant_id)
    if _needs_new(record, tenant_id):
        record = issue_seal_certificate(tenant_id)
    return record


def seal_identity(tenant_id: int) -> SealIdentity:
    """The current tenant's seal key and certificate chain (issued here if needed)."""
    record = ensure_seal_certificate(tenant_id)
    try:
        pem = record.private_key
    except (KeyMissing, box.DecryptionError) as exc:
        raise SealKeyError("the seal key cannot be read with this tenant's key") from exc
    # Authenticated by AES-GCM and made here: re-checking the RSA primes (0.2 s) would prove nothing.
    key = serialization.load_pem_private_key(pem.encode(), password=None, unsafe_skip_rsa_key_validation=True)
    cert = x509.load_der_x509_certificate(record.certificate)
    return SealIdentity(cert, key, (cert, platform_ca_certificate()), record.id)
