from __future__ import annotations

import uuid
from datetime import date, datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from saas.core.crypto.fields import EncryptedField, EncryptedRow, normalise_email, normalise_phone
from saas.core.crypto.keyring import keyring
from saas.core.models import Timestamps, UuidPk
from saas.core.tenancy import TenantScoped
from saas.extensions import db

PROCEDURE_OUTCOMES = ("hired", "rejected", "withdrawn")
CATEGORIES = (
    "candidate", "applicant", "employee", "client_contact", "prospect", "member",
    "training_participant", "relation",
)


class DataSubject(UuidPk, EncryptedRow, TenantScoped, Timestamps, db.Model):
    """A person whose data a tenant holds. Every personal field is encrypted with the subject's own key."""

    __tablename__ = "data_subject"
    __table_args__ = (
        sa.Index("ix_data_subject_tenant_email", "tenant_id", "email_bidx"),
        sa.Index("ix_data_subject_tenant_phone", "tenant_id", "phone_bidx"),
        sa.Index("ix_data_subject_tenant_category", "tenant_id", "category"),
    )
    category: Mapped[str] = mapped_column(sa.String(24))
    client_org_id: Mapped[uuid.UUID | None] = mapped_column(sa.ForeignKey("client_organisation.id"), index=True)
    source: Mapped[str | None] = mapped_column(sa.String(40))
    last_contact_on: Mapped[date | None] = mapped_column(sa.Date)
    company_id: Mapped[uuid.UUID | None] = mapped_column(sa.ForeignKey("company.id"), index=True)

    # Lifecycle dates the retention rules count from (plain dates: no personal content on their own).
    placed_from: Mapped[date | None] = mapped_column(sa.Date)          # recruitment: placed with a client
    placed_to: Mapped[date | None] = mapped_column(sa.Date)
    employed_from: Mapped[date | None] = mapped_column(sa.Date)        # employment
    employed_to: Mapped[date | None] = mapped_column(sa.Date)
    relationship_ended_on: Mapped[date | None] = mapped_column(sa.Date)  # client, member, hosting contract
    procedure_closed_on: Mapped[date | None] = mapped_column(sa.Date)  # applicants
    procedure_outcome: Mapped[str | None] = mapped_column(sa.String(16))  # hired | rejected | withdrawn
    last_verified_on: Mapped[date | None] = mapped_column(sa.Date)     # leadgen: last checked by an agent
    left_company_on: Mapped[date | None] = mapped_column(sa.Date)      # leadgen: contact no longer works there
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
