from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from saas.core.tenancy import TenantScoped
from saas.extensions import db


class AuditEntry(TenantScoped, db.Model):
    """One line of a tenant's append-only, hash-chained audit log. Ids only, never personal data."""

    __tablename__ = "audit_entry"
    tenant_id: Mapped[int] = mapped_column(sa.Integer, primary_key=True)
    seq: Mapped[int] = mapped_column(sa.BigInteger().with_variant(sa.Integer, "sqlite"), primary_key=True)
    at: Mapped[datetime] = mapped_column(sa.DateTime(timezone=True))
    actor_kind: Mapped[str] = mapped_column(sa.String(10))  # user | api | system | signer | operator
    actor_id: Mapped[str | None] = mapped_column(sa.String(64))
    action: Mapped[str] = mapped_column(sa.String(60))
    object_type: Mapped[str | None] = mapped_column(sa.String(40))
    object_id: Mapped[str | None] = mapped_column(sa.String(64))
    outcome: Mapped[str] = mapped_column(sa.String(8))  # ok | denied | failed
    detail: Mapped[dict] = mapped_column(sa.JSON, default=dict)  # ids and counts only
    prev_hash: Mapped[str] = mapped_column(sa.String(64))
    hash: Mapped[str] = mapped_column(sa.String(64))


class AuditHead(TenantScoped, db.Model):
    """The last sequence number and hash per tenant: appends lock it, verification compares with it."""

    __tablename__ = "audit_head"
    tenant_id: Mapped[int] = mapped_column(sa.Integer, primary_key=True)
    seq: Mapped[int] = mapped_column(sa.BigInteger().with_variant(sa.Integer, "sqlite"), default=0)
    hash: Mapped[str] = mapped_column(sa.String(64))
