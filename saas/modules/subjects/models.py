from __future__ import annotations

import uuid
from datetime import date, datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from saas.core.crypto.fields import EncryptedField, EncryptedRow, normalise_email, normalise_phone
from saas.core.crypto.keyring import keyring
from saas.core.models import Timestamps, UuidPk, tenant_fk
from saas.core.tenancy import TenantScoped
from saas.extensions import db
from saas.plugins.lifecycle import LIFECYCLE


def _lifecycle_columns() -> type:
    """One nullable column per lifecycle date of the registry (a choice is stored as its short text):
    plain values the retention rules count from, with no personal content on their own."""
    columns = {entry.name: mapped_column(sa.Date if entry.is_date else sa.String(16), nullable=True)
               for entry in LIFECYCLE}
    return type("LifecycleColumns", (), columns)


LifecycleColumns = _lifecycle_columns()


class DataSubject(UuidPk, EncryptedRow, TenantScoped, Timestamps, LifecycleColumns, db.Model):
    """A person whose data a tenant holds. Every personal field is encrypted with the subject's own key."""

    __tablename__ = "data_subject"
    __table_args__ = (
        sa.Index("ix_data_subject_tenant_email", "tenant_id", "email_bidx"),
        sa.Index("ix_data_subject_tenant_phone", "tenant_id", "phone_bidx"),
        sa.Index("ix_data_subject_tenant_category", "tenant_id", "category"),
        tenant_fk("client_org_id", "client_organisation"),
        tenant_fk("company_id", "company"),
    )
    category: Mapped[str] = mapped_column(sa.String(24))
    client_org_id: Mapped[uuid.UUID | None] = mapped_column(sa.Uuid, index=True)
    source: Mapped[str | None] = mapped_column(sa.String(40))
    company_id: Mapped[uuid.UUID | None] = mapped_column(sa.Uuid, index=True)

    # Set by a "flag" decision: the record may not be used (called, mailed, exported) until verified.
    needs_verification_since: Mapped[date | None] = mapped_column(sa.Date)
    # Set by a "restrict" decision or an erasure under a legal hold: only the held fields remain.
    restricted_at: Mapped[datetime | None] = mapped_column(sa.DateTime(timezone=True))
    restriction_reason: Mapped[str | None] = mapped_column(sa.String(200))

    email_bidx: Mapped[bytes | None] = mapped_column(sa.LargeBinary(16))
    phone_bidx: Mapped[bytes | None] = mapped_column(sa.LargeBinary(16))

    given_name = EncryptedField()
    family_name = EncryptedField()
    email = EncryptedField(index="email", normalise=normalise_email)
    phone = EncryptedField(index="phone", normalise=normalise_phone)
    job_title = EncryptedField()
    city = EncryptedField()
    notes = EncryptedField()
    address = EncryptedField()      # billing address (fiscal)
    iban = EncryptedField()         # billing account (fiscal)

    def _after_identity(self) -> None:
        keyring().new_subject_key(self.tenant_id, self.id)

    def encryption_subject_id(self):
        return self.id

    @property
    def full_name(self) -> str:
        return " ".join(p for p in (self.given_name, self.family_name) if p)
