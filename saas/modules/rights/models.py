"""A rights request and what belongs to it: the people found, the letters sent, the download links.

The requester's own contact details (name, address, phone, what they wrote) are encrypted with the tenant
key, not a subject's: the request is the tenant's accountability record and outlives an erasure it asks for.
No table here has a `subject_id` column or a foreign key to `data_subject`, for the same reason: the erasure
path deletes every row that names a subject that way.
"""
from __future__ import annotations

import uuid
from datetime import date, datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from saas.core.crypto.fields import EncryptedField, EncryptedRow, normalise_email, normalise_phone
from saas.core.models import Timestamps, UuidPk, tenant_fk
from saas.core.tenancy import TenantScoped
from saas.extensions import db

# The rights of the GDPR a request can invoke, with their article.
KINDS = ("access", "rectification", "erasure", "restriction", "portability", "objection", "withdrawal",
         "do_not_contact")
ARTICLES = {"access": "15", "rectification": "16", "erasure": "17", "restriction": "18", "portability": "20",
            "objection": "21", "withdrawal": "7(3)", "do_not_contact": "21(2)"}
CHANNELS = ("web", "email", "phone", "letter", "api")
# received -> (identity established) verified -> answered | refused
RECEIVED, VERIFIED, ANSWERED, REFUSED = "received", "verified", "answered", "refused"
STATUSES = (RECEIVED, VERIFIED, ANSWERED, REFUSED)
OPEN_STATUSES = (RECEIVED, VERIFIED)
# How identity was established.
BY_EMAIL_CODE, BY_STAFF_CHECK = "email_code", "staff_check"
IDENTITY_METHODS = (BY_EMAIL_CODE, BY_STAFF_CHECK)
# Grounds a refusal may rest on (nothing else).
REFUSAL_GROUNDS = ("art_12_5_unfounded", "art_12_5_excessive", "art_17_3_b_legal_obligation",
                   "art_17_3_e_legal_claims")


class RightsRequest(UuidPk, EncryptedRow, TenantScoped, Timestamps, db.Model):
    __tablename__ = "rights_request"
    __table_args__ = (
        sa.CheckConstraint("status IN ('received','verified','answered','refused')", name="status"),
        sa.Index("ix_rights_request_tenant_status", "tenant_id", "status"),
        sa.Index("ix_rights_request_tenant_received", "tenant_id", "received_on"),
    )
    kind: Mapped[str] = mapped_column(sa.String(16))
    channel: Mapped[str] = mapped_column(sa.String(8))
    status: Mapped[str] = mapped_column(sa.String(10), default=RECEIVED)
    locale: Mapped[str] = mapped_column(sa.String(2), default="nl")
    received_on: Mapped[date] = mapped_column(sa.Date)
    # The two deadlines, kept apart: the law's (art. 12(3), extendable once) and the tenant's own promise.
    legal_due_on: Mapped[date] = mapped_column(sa.Date)
    target_due_on: Mapped[date] = mapped_column(sa.Date)
    extended_due_on: Mapped[date | None] = mapped_column(sa.Date)
    extension_reason: Mapped[str | None] = mapped_column(sa.String(500))   # sent to the person; no personal data
    extended_at: Mapped[datetime | None] = mapped_column(sa.DateTime(timezone=True))
    # Authenticity: a code mailed to the address given, which must be one we hold; or a staff check.
    identity_method: Mapped[str | None] = mapped_column(sa.String(12))
    identity_checked_at: Mapped[datetime | None] = mapped_column(sa.DateTime(timezone=True))
    identity_checked_by: Mapped[uuid.UUID | None] = mapped_column(sa.Uuid)
    code_hash: Mapped[bytes | None] = mapped_column(sa.LargeBinary(32))
    code_expires_at: Mapped[datetime | None] = mapped_column(sa.DateTime(timezone=True))
    code_attempts: Mapped[int] = mapped_column(sa.Integer, default=0)
    # The answer.
    answered_at: Mapped[datetime | None] = mapped_column(sa.DateTime(timezone=True))
    refusal_ground: Mapped[str | None] = mapped_column(sa.String(40))
    outcome: Mapped[dict] = mapped_column(sa.JSON, default=dict)    # ids, field names, counts only
    # Reminders to admins already sent (one each), so the daily job never repeats one.
    reminded_target_on: Mapped[date | None] = mapped_column(sa.Date)
    reminded_legal_on: Mapped[date | None] = mapped_column(sa.Date)

    email_bidx: Mapped[bytes | None] = mapped_column(sa.LargeBinary(16))
    phone_bidx: Mapped[bytes | None] = mapped_column(sa.LargeBinary(16))
    name = EncryptedField()
    email = EncryptedField(index="email", normalise=normalise_email)
    phone = EncryptedField(index="phone", normalise=normalise_phone)
    details = EncryptedField()          # what the person wrote (the correction asked for, say)
    identity_note = EncryptedField()    # how staff checked identity (e.g. "called back on the number on file")

    def encryption_subject_id(self):
        return None   # the tenant key: the register of requests outlives the people it names

    @property
    def effective_legal_due_on(self) -> date:
        return self.extended_due_on or self.legal_due_on

    @property
    def is_open(self) -> bool:
        return self.status in OPEN_STATUSES


class RightsRequestPerson(UuidPk, TenantScoped, db.Model):
    """A data subject record a request was matched to (by blind index, or by staff). A plain id, no foreign
    key: the link stays as history after the person is erased."""

    __tablename__ = "rights_request_person"
    __table_args__ = (sa.UniqueConstraint("tenant_id", "request_id", "person_id"),
                      tenant_fk("request_id", "rights_request", ondelete="CASCADE"))
    request_id: Mapped[uuid.UUID] = mapped_column(sa.Uuid, index=True)
    person_id: Mapped[uuid.UUID] = mapped_column(sa.Uuid, index=True)
    matched_on: Mapped[str] = mapped_column(sa.String(12))    # email | phone | staff


class RightsLetter(UuidPk, EncryptedRow, TenantScoped, Timestamps, db.Model):
    """A letter sent for a request, rendered from a versioned template and kept encrypted (tenant key)."""

    __tablename__ = "rights_letter"
    __table_args__ = (tenant_fk("request_id", "rights_request", ondelete="CASCADE"),)
    request_id: Mapped[uuid.UUID] = mapped_column(sa.Uuid, index=True)
    template: Mapped[str] = mapped_column(sa.String(40))
    template_version: Mapped[int] = mapped_column(sa.Integer)
    locale: Mapped[str] = mapped_column(sa.String(2))
    mail_id: Mapped[uuid.UUID | None] = mapped_column(sa.Uuid)
    subject_line = EncryptedField()
    body = EncryptedField()

    def encryption_subject_id(self):
        return None


class RightsDownload(UuidPk, TenantScoped, Timestamps, db.Model):
    """An expiring link to the answer's files (PDF, JSON, CSV) that asks for a code sent separately."""

    __tablename__ = "rights_download"
    __table_args__ = (tenant_fk("request_id", "rights_request", ondelete="CASCADE"),
                      sa.UniqueConstraint("tenant_id", "token_hash"))
    request_id: Mapped[uuid.UUID] = mapped_column(sa.Uuid, index=True)
    token_hash: Mapped[bytes] = mapped_column(sa.LargeBinary(32))
    code_hash: Mapped[bytes] = mapped_column(sa.LargeBinary(32))
    expires_at: Mapped[datetime] = mapped_column(sa.DateTime(timezone=True))
    attempts: Mapped[int] = mapped_column(sa.Integer, default=0)
    files: Mapped[list] = mapped_column(sa.JSON, default=list)    # [{"file_id", "name"}]
    opened_at: Mapped[datetime | None] = mapped_column(sa.DateTime(timezone=True))


class PersonalLink(UuidPk, EncryptedRow, TenantScoped, Timestamps, db.Model):
    """A mailed link to the personal page (issue 12 item 7): opened with a code from the same mail, valid a
    short while. The address is the one the person typed; the page shows only records holding exactly it."""

    __tablename__ = "rights_personal_link"
    __table_args__ = (sa.UniqueConstraint("tenant_id", "token_hash"),)
    token_hash: Mapped[bytes] = mapped_column(sa.LargeBinary(32))
    code_hash: Mapped[bytes] = mapped_column(sa.LargeBinary(32))
    expires_at: Mapped[datetime] = mapped_column(sa.DateTime(timezone=True))
    attempts: Mapped[int] = mapped_column(sa.Integer, default=0)
    opened_at: Mapped[datetime | None] = mapped_column(sa.DateTime(timezone=True))
    locale: Mapped[str] = mapped_column(sa.String(2), default="nl")
    email_bidx: Mapped[bytes | None] = mapped_column(sa.LargeBinary(16))
    email = EncryptedField(index="email", normalise=normalise_email)

    def encryption_subject_id(self):
        return None
