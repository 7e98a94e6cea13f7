from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from saas.core import clock
from saas.extensions import db


class Tenant(db.Model):
    """An organisation using the platform. Its configuration comes from `tenants/<slug>.toml`."""

    __tablename__ = "tenant"
    id: Mapped[int] = mapped_column(sa.Integer, primary_key=True)
    slug: Mapped[str] = mapped_column(sa.String(40), unique=True)
    name: Mapped[str] = mapped_column(sa.String(200))
    locale: Mapped[str] = mapped_column(sa.String(5), default="nl")
    plugins: Mapped[list] = mapped_column(sa.JSON, default=list)
    settings: Mapped[dict] = mapped_column(sa.JSON, default=dict)
    # `[retention."<policy name>"]` overrides from the TOML file: years/months/weeks/days, anchor, enabled.
    retention: Mapped[dict] = mapped_column(sa.JSON, default=dict)
    rights_request_days: Mapped[int] = mapped_column(sa.Integer, default=30)
    # The organisation's own privacy contact (art. 13(1)(a-b), art. 30(1)(a)): role, email, phone, address.
    contact: Mapped[dict] = mapped_column(sa.JSON, default=dict)
    # Roles that must use two-factor login in this tenant. `saas tenants sync` fills in the default
    # (admin, supervisor) when the tenant file leaves `two_factor_roles` out; see tenants/schemas.py.
    two_factor_roles: Mapped[list] = mapped_column(sa.JSON, default=list)
    config_hash: Mapped[str] = mapped_column(sa.String(64), default="")
    active: Mapped[bool] = mapped_column(sa.Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(sa.DateTime(timezone=True), default=clock.now)
    updated_at: Mapped[datetime] = mapped_column(sa.DateTime(timezone=True), default=clock.now, onupdate=clock.now)

    def plugin_settings(self, plugin: str) -> dict:
        """This tenant's validated `[settings.<plugin>]`, defaults filled in by `saas tenants sync`."""
        return (self.settings or {}).get(plugin, {})
