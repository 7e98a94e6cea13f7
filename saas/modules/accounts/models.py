from __future__ import annotations

import uuid
from datetime import datetime

import sqlalchemy as sa
from flask_login import UserMixin
from sqlalchemy.orm import Mapped, mapped_column, relationship

from saas.core import clock
from saas.core.models import Timestamps, UuidPk
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

    def get_id(self) -> str:
        return str(self.id)

    @property
    def is_active(self) -> bool:
        return self.active


class Membership(UuidPk, TenantScoped, Timestamps, db.Model):
    """A user's role in one tenant; a client user belongs to exactly one client organisation."""

    __tablename__ = "membership"
    __table_args__ = (
        sa.UniqueConstraint("tenant_id", "user_id"),
        sa.CheckConstraint("role IN ('admin','supervisor','agent','client','board')", name="role"),
        sa.CheckConstraint("(role = 'client') = (client_org_id IS NOT NULL)", name="client_has_org"),
    )
    user_id: Mapped[uuid.UUID] = mapped_column(sa.ForeignKey("user_account.id", ondelete="CASCADE"), index=True)
    role: Mapped[str] = mapped_column(sa.String(12))
    client_org_id: Mapped[uuid.UUID | None] = mapped_column(sa.ForeignKey("client_organisation.id"))
    user: Mapped[User] = relationship(lazy="joined")


class ApiToken(UuidPk, TenantScoped, db.Model):
    """A personal API token of one user in one tenant. Only its SHA-256 is stored; the token is
    shown once. `prefix` (the token's first characters) names it in lists and in the audit log."""

    __tablename__ = "api_token"
    __table_args__ = (sa.UniqueConstraint("tenant_id", "prefix"),)
    user_id: Mapped[uuid.UUID] = mapped_column(sa.ForeignKey("user_account.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(sa.String(80))
    prefix: Mapped[str] = mapped_column(sa.String(12))
    token_hash: Mapped[str] = mapped_column(sa.String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(sa.DateTime(timezone=True), default=clock.now)
    last_used_at: Mapped[datetime | None] = mapped_column(sa.DateTime(timezone=True))
    expires_at: Mapped[datetime | None] = mapped_column(sa.DateTime(timezone=True))
    revoked_at: Mapped[datetime | None] = mapped_column(sa.DateTime(timezone=True))
