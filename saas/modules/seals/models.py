"""The platform's own PKI, in the key store (bind "keys"), never in a dump of the data.

- `PlatformCertificate`: the root CA. Its private key is wrapped by the master key (like the tenant
  keys), so a master key rotation re-wraps it too (`saas.modules.seals.pki.rewrap_platform_keys`).
- `SealCertificate`: a tenant's seal certificate, issued by the root CA. Its private key is an
  encrypted value under the tenant data key: readable only inside that tenant, and moved along by a
  tenant key rotation like every other tenant-level value.
"""
from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from saas.core import clock
from saas.core.crypto.fields import EncryptedField, EncryptedRow
from saas.core.models import UuidPk
from saas.core.tenancy import TenantScoped
from saas.extensions import db


class PlatformCertificate(db.Model):
    """A platform key pair (today only the root CA, purpose "root-ca"). The certificate is public."""

    __bind_key__ = "keys"
    __tablename__ = "platform_certificate"
    purpose: Mapped[str] = mapped_column(sa.String(20), primary_key=True)
    serial: Mapped[str] = mapped_column(sa.String(48))            # hex
    certificate: Mapped[bytes] = mapped_column(sa.LargeBinary)     # DER
    not_after: Mapped[datetime] = mapped_column(sa.DateTime(timezone=True))
    master_key_id: Mapped[str] = mapped_column(sa.String(20))
    wrapped_key: Mapped[bytes] = mapped_column(sa.LargeBinary)     # PKCS#8 DER, AES-GCM by the master key
    created_at: Mapped[datetime] = mapped_column(sa.DateTime(timezone=True), default=clock.now)


class SealCertificate(UuidPk, EncryptedRow, TenantScoped, db.Model):
    """One seal certificate of a tenant. The newest one still valid seals; older ones stay for history."""

    __bind_key__ = "keys"
    __tablename__ = "seal_certificate"
    __table_args__ = (sa.Index("ix_seal_certificate_tenant_not_after", "tenant_id", "not_after"),)
    serial: Mapped[str] = mapped_column(sa.String(48))             # hex
    subject_name: Mapped[str] = mapped_column(sa.String(200))      # the tenant name it was issued to
    certificate: Mapped[bytes] = mapped_column(sa.LargeBinary)     # DER
    not_before: Mapped[datetime] = mapped_column(sa.DateTime(timezone=True))
    not_after: Mapped[datetime] = mapped_column(sa.DateTime(timezone=True))
    created_at: Mapped[datetime] = mapped_column(sa.DateTime(timezone=True), default=clock.now)
    private_key = EncryptedField()                                  # PKCS#8 PEM, tenant data key

    def encryption_subject_id(self):
        return None  # tenant-level: no data subject's key
