from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from saas.core.models import Timestamps, UuidPk
from saas.core.tenancy import TenantScoped
from saas.extensions import db


class ClientOrganisation(UuidPk, TenantScoped, Timestamps, db.Model):
    """A client of the tenant (opdrachtgever): the controller whose data the tenant processes.
    General business data, not personal data."""

    __tablename__ = "client_organisation"
    __table_args__ = (sa.UniqueConstraint("tenant_id", "name"),)
    name: Mapped[str] = mapped_column(sa.String(200))
    kvk_number: Mapped[str | None] = mapped_column(sa.String(8))
    active: Mapped[bool] = mapped_column(sa.Boolean, default=True)
