from __future__ import annotations

import uuid
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from saas.core.crypto.fields import EncryptedField, EncryptedRow, normalise_email
from saas.core.models import Timestamps, UuidPk
from saas.core.tenancy import TenantScoped
from saas.extensions import db

QUEUED, SENDING, SENT, OUTBOX, FAILED = "queued", "sending", "sent", "outbox", "failed"
STATUSES = (QUEUED, SENDING, SENT, OUTBOX, FAILED)


class OutboxMail(UuidPk, EncryptedRow, TenantScoped, Timestamps, db.Model):
    """A mail of a tenant, kept encrypted until (and after) it is sent.

    A mail about one data subject is encrypted with that subject's key, so erasing the subject
    makes the mail unreadable too; other mails use the tenant key (subject_id None).
    Status: queued -> sending -> sent, or `outbox` when no SMTP server is configured (laptop);
    `failed` after the last attempt or when a send was interrupted (never retried blindly).
    """

    __tablename__ = "outbox_mail"
    __table_args__ = (
        sa.CheckConstraint("status IN ('queued','sending','sent','outbox','failed')", name="status"),
        sa.Index("ix_outbox_mail_tenant_created", "tenant_id", "created_at"),
    )
    subject_id: Mapped[uuid.UUID | None] = mapped_column(sa.Uuid, index=True)
    template: Mapped[str] = mapped_column(sa.String(60))
    status: Mapped[str] = mapped_column(sa.String(8), default=QUEUED)
    attempts: Mapped[int] = mapped_column(sa.Integer, default=0)
    last_error: Mapped[str | None] = mapped_column(sa.String(80))  # an exception class, never data
    sent_at: Mapped[datetime | None] = mapped_column(sa.DateTime(timezone=True))
    # Stored files (saas.modules.files) attached when sent: [{"file_id", "filename"}], no personal data.
    attachments: Mapped[list] = mapped_column(sa.JSON, default=list)

    recipient_bidx: Mapped[bytes | None] = mapped_column(sa.LargeBinary(16))

    recipient = EncryptedField(index="email", normalise=normalise_email)
    subject_line = EncryptedField()
    body = EncryptedField()
