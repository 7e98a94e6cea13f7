from __future__ import annotations

import uuid
from datetime import date, datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from saas.core.models import Timestamps, UuidPk, tenant_fk
from saas.core.tenancy import TenantScoped
from saas.extensions import db

# Art. 6(1) (a)-(f), in the order the law lists them.
LEGAL_BASES = ("consent", "contract", "legal_obligation", "vital_interest", "public_task", "legitimate_interest")
CHANNELS = ("web", "email", "phone", "paper", "portal", "import")


class ConsentRecord(UuidPk, TenantScoped, Timestamps, db.Model):
    """One grant of consent (or another legal basis) for one purpose. Never updated except to record its
    withdrawal: a new grant is a new row, so the rows of a subject are its history."""

    __tablename__ = "consent_record"
    __table_args__ = (
        sa.Index("ix_consent_subject_purpose", "tenant_id", "subject_id", "purpose"),
        # A purge deletes by subject and a request's removal nulls `request_id`: both need an index of their own.
        sa.Index("ix_consent_subject", "subject_id"),
        sa.Index("ix_consent_request", "request_id"),
        tenant_fk("subject_id", "data_subject", ondelete="CASCADE"),
        tenant_fk("request_id", "consent_request", ondelete="SET NULL"),
    )
    subject_id: Mapped[uuid.UUID] = mapped_column(sa.Uuid)
    purpose: Mapped[str] = mapped_column(sa.String(60))
    legal_basis: Mapped[str] = mapped_column(sa.String(24))
    # Evidence: the exact text shown (not personal data), when, and through which channel.
    evidence_text: Mapped[str] = mapped_column(sa.Text)
    evidence_at: Mapped[datetime] = mapped_column(sa.DateTime(timezone=True))
    channel: Mapped[str] = mapped_column(sa.String(16))
    given_at: Mapped[datetime] = mapped_column(sa.DateTime(timezone=True))
    expires_on: Mapped[date | None] = mapped_column(sa.Date)
    withdrawn_at: Mapped[datetime | None] = mapped_column(sa.DateTime(timezone=True))
    # The re-consent request this grant answered, if any.
    request_id: Mapped[uuid.UUID | None] = mapped_column(sa.Uuid)


class ConsentRequest(UuidPk, TenantScoped, Timestamps, db.Model):
    """A request for (re-)consent mailed to a subject: the link carries a random token, stored hashed.
    One per subject per due date, so a rerun of a sweep never mails twice."""

    __tablename__ = "consent_request"
    __table_args__ = (
        sa.UniqueConstraint("tenant_id", "subject_id", "purpose", "due_on"),
        sa.UniqueConstraint("tenant_id", "token_hash"),
        tenant_fk("subject_id", "data_subject", ondelete="CASCADE"),
    )
    subject_id: Mapped[uuid.UUID] = mapped_column(sa.Uuid, index=True)
    purpose: Mapped[str] = mapped_column(sa.String(60))
    due_on: Mapped[date] = mapped_column(sa.Date)
    token_hash: Mapped[bytes] = mapped_column(sa.LargeBinary(32))
    expires_at: Mapped[datetime] = mapped_column(sa.DateTime(timezone=True))
    mail_id: Mapped[uuid.UUID | None] = mapped_column(sa.Uuid)
    answered_at: Mapped[datetime | None] = mapped_column(sa.DateTime(timezone=True))
    answer: Mapped[str | None] = mapped_column(sa.String(8))   # yes | no
