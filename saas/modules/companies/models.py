from __future__ import annotations

import uuid
from datetime import date

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from saas.core.models import Timestamps, UuidPk, tenant_fk
from saas.core.tenancy import TenantScoped
from saas.extensions import db


class Company(UuidPk, TenantScoped, Timestamps, db.Model):
    """A company the tenant works with or calls (leadgen: the businesses behind the prospects).
    General business data, not personal data: kept in plain text, never deleted by retention, only flagged
    for verification (seed 004)."""

    __tablename__ = "company"
    __table_args__ = (
        sa.Index("ix_company_tenant_name", "tenant_id", "name"),
        sa.UniqueConstraint("tenant_id", "kvk_number"),
        tenant_fk("client_org_id", "client_organisation"),
    )
    name: Mapped[str] = mapped_column(sa.String(200))
    kvk_number: Mapped[str | None] = mapped_column(sa.String(8))
    city: Mapped[str | None] = mapped_column(sa.String(100))
    # Dutch postcode without the space ("1234AB"): with the normalised name, the match of a company without KvK
    # number in an import (seed 004, 4.1).
    postcode: Mapped[str | None] = mapped_column(sa.String(6))
    # The company no longer exists (seed 004, 4.1: "niet meer bestaat"): its people are not imported.
    ceased_on: Mapped[date | None] = mapped_column(sa.Date)
    website: Mapped[str | None] = mapped_column(sa.String(200))
    client_org_id: Mapped[uuid.UUID | None] = mapped_column(sa.Uuid, index=True)
    last_verified_on: Mapped[date | None] = mapped_column(sa.Date)
    needs_verification_since: Mapped[date | None] = mapped_column(sa.Date)
