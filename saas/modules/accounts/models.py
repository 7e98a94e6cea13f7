from __future__ import annotations

import uuid
from datetime import datetime

import sqlalchemy as sa
from flask_login import UserMixin
from sqlalchemy.orm import Mapped, mapped_column, relationship

from saas.core import clock
from saas.core.crypto.fields import EncryptedField, EncryptedRow, normalise_email
from saas.core.models import Timestamps, UuidPk, tenant_fk
from saas.core.tenancy import TenantScoped
from saas.extensions import db

ROLES = ("admin", "supervisor", "agent", "client", "board")


class User(UuidPk, Timestamps, UserMixin, db.Model):
    """A person who logs in. Platform-wide: one login, memberships in several tenants.
    The email is the login name and stays readable for that reason; staff names are kept short."""

    __tablename__ = "user_account"
    email: Mapped[str] = mapped_column(sa.String(254), unique=True)
    display_name: Mapped[str] = mapped_column(sa.String(120))
    password_hash: Mapped[str] = mapped_column(sa.String(200))
    locale: Mapped[str | None] = mapped_column(sa.String(5))
    is_operator: Mapped[bool] = mapped_column(sa.Boolean, default=False)
    active: Mapped[bool] = mapped_column(sa.Boolean, default=True)
    last_login_at: Mapped[datetime | None] = mapped_column(sa.DateTime(timezone=True))
    # Part of the session cookie's user id: raising it (log out, password change or reset) makes every
    # session cookie issued before worthless on the server, also a copy replayed later.
    session_epoch: Mapped[int] = mapped_column(sa.Integer, default=0)
    # A password someone else chose or saw (a generated one from the command line): changed at first login.
    must_change_password: Mapped[bool] = mapped_column(sa.Boolean, default=False)
    # Lockout per account: failures in a row and, after too many, the time the account opens again.
    failed_logins: Mapped[int] = mapped_column(sa.Integer, default=0)
    locked_until: Mapped[datetime | None] = mapped_column(sa.DateTime(timezone=True))
    # TOTP: the secret wrapped by the master key (like the platform CA key), the key's id, and the last
    # time step used, so a code is accepted once.
    totp_master_key_id: Mapped[str | None] = mapped_column(sa.String(20))
    totp_secret_wrapped: Mapped[bytes | None] = mapped_column(sa.LargeBinary)
    totp_enabled_at: Mapped[datetime | None] = mapped_column(sa.DateTime(timezone=True))
    totp_last_step: Mapped[int | None] = mapped_column(sa.BigInteger)

    def get_id(self) -> str:
        return f"{self.id}.{self.session_epoch or 0}"

    @property
    def has_totp(self) -> bool:
        return self.totp_enabled_at is not None

    @property
    def is_active(self) -> bool:
        return self.active


class Membership(UuidPk, TenantScoped, Timestamps, db.Model):
    """A user's role in one tenant; a client user belongs to exactly one client organisation."""

    __tablename__ = "membership"
    __table_args__ = (
        sa.UniqueConstraint("tenant_id", "user_id"),
        tenant_fk("client_org_id", "client_organisation"),
        sa.CheckConstraint("role IN ('admin','supervisor','agent','client','board')", name="role"),
        sa.CheckConstraint("(role = 'client') = (client_org_id IS NOT NULL)", name="client_has_org"),
    )
    user_id: Mapped[uuid.UUID] = mapped_column(sa.ForeignKey("user_account.id", ondelete="CASCADE"), index=True)
    role: Mapped[str] = mapped_column(sa.String(12))
    client_org_id: Mapped[uuid.UUID | None] = mapped_column(sa.Uuid)
    user: Mapped[User] = relationship(lazy="joined")


class ApiToken(UuidPk, TenantScoped, db.Model):
    """A personal API token of one user in one tenant. Only its SHA-256 is stored; the token is
    shown once. `prefix` (the token's first characters) names it in lists and in the audit log."""

    __tablename__ = "api_token"
    __table_args__ = (sa.UniqueConstraint("tenant_id", "prefix"), sa.UniqueConstraint("tenant_id", "token_hash"))
    user_id: Mapped[uuid.UUID] = mapped_column(sa.ForeignKey("user_account.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(sa.String(80))
    prefix: Mapped[str] = mapped_column(sa.String(12))
    token_hash: Mapped[str] = mapped_column(sa.String(64))
    created_at: Mapped[datetime] = mapped_column(sa.DateTime(timezone=True), default=clock.now)
    last_used_at: Mapped[datetime | None] = mapped_column(sa.DateTime(timezone=True))
    expires_at: Mapped[datetime | None] = mapped_column(sa.DateTime(timezone=True))
    revoked_at: Mapped[datetime | None] = mapped_column(sa.DateTime(timezone=True))


class RecoveryCode(UuidPk, db.Model):
    """A one-time recovery code for two-factor login; only its SHA-256 is stored, shown once."""

    __tablename__ = "recovery_code"
    user_id: Mapped[uuid.UUID] = mapped_column(sa.ForeignKey("user_account.id", ondelete="CASCADE"), index=True)
    code_hash: Mapped[str] = mapped_column(sa.String(64))
    used_at: Mapped[datetime | None] = mapped_column(sa.DateTime(timezone=True))


class PasswordReset(UuidPk, db.Model):
    """A password reset link: SHA-256 of its token, short-lived, used once."""

    __tablename__ = "password_reset"
    user_id: Mapped[uuid.UUID] = mapped_column(sa.ForeignKey("user_account.id", ondelete="CASCADE"), index=True)
    token_hash: Mapped[str] = mapped_column(sa.String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(sa.DateTime(timezone=True), default=clock.now)
    expires_at: Mapped[datetime] = mapped_column(sa.DateTime(timezone=True))
    used_at: Mapped[datetime | None] = mapped_column(sa.DateTime(timezone=True))


class Invitation(UuidPk, EncryptedRow, TenantScoped, Timestamps, db.Model):
    """An invitation to become a member of a tenant, sent by mail. The membership exists only once the
    invited person accepted. The address is encrypted with the tenant key; the token is stored as SHA-256."""

    __tablename__ = "invitation"
    __table_args__ = (
        sa.UniqueConstraint("tenant_id", "token_hash"),
        tenant_fk("client_org_id", "client_organisation"),
        sa.CheckConstraint("role IN ('admin','supervisor','agent','client')", name="role"),
        sa.CheckConstraint("(role = 'client') = (client_org_id IS NOT NULL)", name="client_has_org"),
    )
    role: Mapped[str] = mapped_column(sa.String(12))
    client_org_id: Mapped[uuid.UUID | None] = mapped_column(sa.Uuid)
    token_hash: Mapped[str] = mapped_column(sa.String(64))
    expires_at: Mapped[datetime] = mapped_column(sa.DateTime(timezone=True))
    invited_by: Mapped[uuid.UUID | None] = mapped_column(sa.Uuid)
    accepted_at: Mapped[datetime | None] = mapped_column(sa.DateTime(timezone=True))
    accepted_by: Mapped[uuid.UUID | None] = mapped_column(sa.Uuid)
    revoked_at: Mapped[datetime | None] = mapped_column(sa.DateTime(timezone=True))
    email_bidx: Mapped[bytes | None] = mapped_column(sa.LargeBinary(16))

    email = EncryptedField(index="email", normalise=normalise_email)

    def encryption_subject_id(self):
        return None  # tenant-level data: the tenant key protects it

    @property
    def pending(self) -> bool:
        return self.accepted_at is None and self.revoked_at is None
