from __future__ import annotations

import uuid
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from saas.core import clock
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
    Status: queued -> sending -> sent, or `outbox` when no SMTP server is configured (laptop); `failed`
    when the server refused it for good, when the person it was about was erased, or when temporary failures
    went on past the give-up period. The relay (`saas.modules.outbox.relay`) sends what is due: queued with
    `next_attempt_at` reached, or "sending" whose claim (`lease_until`) ran out because its relay died.
    """

    __tablename__ = "outbox_mail"
    __table_args__ = (
        sa.CheckConstraint("status IN ('queued','sending','sent','outbox','failed')", name="status"),
        sa.Index("ix_outbox_mail_tenant_created", "tenant_id", "created_at"),
        sa.Index("ix_outbox_mail_due", "tenant_id", "status", "next_attempt_at"),
    )
    subject_id: Mapped[uuid.UUID | None] = mapped_column(sa.Uuid, index=True)
    template: Mapped[str] = mapped_column(sa.String(60))
    status: Mapped[str] = mapped_column(sa.String(8), default=QUEUED)
    attempts: Mapped[int] = mapped_column(sa.Integer, default=0)
    last_error: Mapped[str | None] = mapped_column(sa.String(80))  # an exception class, never data
    sent_at: Mapped[datetime | None] = mapped_column(sa.DateTime(timezone=True))
    # When the current round of attempts began (queued, or queued again by an admin): the give-up clock.
    queued_at: Mapped[datetime] = mapped_column(sa.DateTime(timezone=True), default=clock.now)
    # A queued mail is due from this moment on (back-off after a temporary failure moves it).
    next_attempt_at: Mapped[datetime] = mapped_column(sa.DateTime(timezone=True), default=clock.now)
    # A "sending" mail belongs to the relay that claimed it until then; afterwards another relay takes it over.
    lease_until: Mapped[datetime | None] = mapped_column(sa.DateTime(timezone=True))
    # Stored files (saas.modules.files) attached when sent: [{"file_id", "filename"}], no personal data.
    attachments: Mapped[list] = mapped_column(sa.JSON, default=list)

    recipient_bidx: Mapped[bytes | None] = mapped_column(sa.LargeBinary(16))

    recipient = EncryptedField(index="email", normalise=normalise_email)
    subject_line = EncryptedField()
    body = EncryptedField()
