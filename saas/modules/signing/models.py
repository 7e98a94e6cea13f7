from __future__ import annotations

import uuid
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from saas.core.models import Timestamps, UuidPk, tenant_fk
from saas.core.tenancy import TenantScoped
from saas.extensions import db


class SigningToken(UuidPk, TenantScoped, Timestamps, db.Model):
    """The secret in an invitation link. Only its SHA-256 is stored; it expires and can be revoked.
    Opening the link does not use it up (mail scanners open links), signing does."""

    __tablename__ = "signing_token"
    __table_args__ = (
        tenant_fk("signer_id", "agreement_signer", ondelete="CASCADE"),
        sa.UniqueConstraint("tenant_id", "token_hash"),
    )
    signer_id: Mapped[uuid.UUID] = mapped_column(sa.Uuid, index=True)
    token_hash: Mapped[bytes] = mapped_column(sa.LargeBinary(32))
    expires_at: Mapped[datetime] = mapped_column(sa.DateTime(timezone=True))
    revoked_at: Mapped[datetime | None] = mapped_column(sa.DateTime(timezone=True))
    used_at: Mapped[datetime | None] = mapped_column(sa.DateTime(timezone=True))
    last_opened_at: Mapped[datetime | None] = mapped_column(sa.DateTime(timezone=True))


class OneTimeCode(UuidPk, TenantScoped, Timestamps, db.Model):
    """A code mailed to the invited address before viewing and signing: hashed, short-lived, few tries."""

    __tablename__ = "signing_code"
    __table_args__ = (tenant_fk("signer_id", "agreement_signer", ondelete="CASCADE"),)
    signer_id: Mapped[uuid.UUID] = mapped_column(sa.Uuid, index=True)
    code_hash: Mapped[bytes] = mapped_column(sa.LargeBinary(32))
    expires_at: Mapped[datetime] = mapped_column(sa.DateTime(timezone=True))
    attempts: Mapped[int] = mapped_column(sa.Integer, default=0)
    verified_at: Mapped[datetime | None] = mapped_column(sa.DateTime(timezone=True))
    mail_id: Mapped[uuid.UUID | None] = mapped_column(sa.Uuid)
