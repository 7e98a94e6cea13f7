"""The key store. It lives in its own database (bind "keys"), never in a dump of the data:
destroying a subject's key here makes every earlier copy of that subject's data unreadable."""
from __future__ import annotations

import uuid
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from saas.core import clock
from saas.core.tenancy import TenantScoped
from saas.extensions import db


class TenantKey(TenantScoped, db.Model):
    """A tenant's data key ("data") or blind-index key ("index"), wrapped by a master key.
    A retired version keeps its row (history) but loses its wrapped key."""

    __bind_key__ = "keys"
    __tablename__ = "tenant_key"
    tenant_id: Mapped[int] = mapped_column(sa.Integer, primary_key=True)
    purpose: Mapped[str] = mapped_column(sa.String(8), primary_key=True)
    version: Mapped[int] = mapped_column(sa.Integer, primary_key=True)
    state: Mapped[str] = mapped_column(sa.String(10), default="active")  # active | retiring | retired
    master_key_id: Mapped[str] = mapped_column(sa.String(20))
    wrapped: Mapped[bytes | None] = mapped_column(sa.LargeBinary)
    created_at: Mapped[datetime] = mapped_column(sa.DateTime(timezone=True), default=clock.now)


class SubjectKey(TenantScoped, db.Model):
    """One generation of a data subject's key, wrapped by a tenant data key. Deleting a subject's rows
    is crypto-shredding. A subject has one generation, two only while a key rotation moves its data
    (the key store and the data are separate databases, so both keys stay until the data is moved)."""

    __bind_key__ = "keys"
    __tablename__ = "subject_key"
    __table_args__ = (sa.Index("ix_subject_key_tenant_version", "tenant_id", "tenant_key_version"),)
    # Primary key (tenant_id, subject_id, generation), as for every tenant table (`TenantScoped`); the ORM
    # knows a key by subject and generation, as before.
    __mapper_args__ = {"primary_key": ["subject_id", "generation"]}
    subject_id: Mapped[uuid.UUID] = mapped_column(sa.Uuid, primary_key=True)
    generation: Mapped[int] = mapped_column(sa.Integer, primary_key=True, default=1)
    tenant_key_version: Mapped[int] = mapped_column(sa.Integer)
    wrapped: Mapped[bytes] = mapped_column(sa.LargeBinary)
    created_at: Mapped[datetime] = mapped_column(sa.DateTime(timezone=True), default=clock.now)


class ShreddedSubject(TenantScoped, db.Model):
    """Ledger of erased subjects: re-applied after restoring an older copy of the data."""

    __bind_key__ = "keys"
    __tablename__ = "shredded_subject"
    __mapper_args__ = {"primary_key": ["subject_id"]}   # table: (tenant_id, subject_id)
    subject_id: Mapped[uuid.UUID] = mapped_column(sa.Uuid, primary_key=True)
    shredded_at: Mapped[datetime] = mapped_column(sa.DateTime(timezone=True), default=clock.now)
    reason: Mapped[str] = mapped_column(sa.String(40))


class RestrictedSubject(TenantScoped, db.Model):
    """Ledger of erasures that kept fields for a legal hold (the key stays for them): a restore of an
    older copy of the data erases the other fields again. The names of the kept fields and the legal
    reason only, never a value. A later purge of the subject adds its `ShreddedSubject` line."""

    __bind_key__ = "keys"
    __tablename__ = "restricted_subject"
    __mapper_args__ = {"primary_key": ["subject_id"]}   # table: (tenant_id, subject_id)
    subject_id: Mapped[uuid.UUID] = mapped_column(sa.Uuid, primary_key=True)
    kept_fields: Mapped[str] = mapped_column(sa.String(300))     # field names, comma-separated
    reason: Mapped[str | None] = mapped_column(sa.String(200))
    restricted_at: Mapped[datetime] = mapped_column(sa.DateTime(timezone=True), default=clock.now)

