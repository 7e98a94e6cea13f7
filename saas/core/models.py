"""Column mixins shared by the feature models."""
from __future__ import annotations

import uuid
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from saas.core import clock
from saas.core.tenancy import current_tenant_id, new_id


class UuidPk:
    """Random UUID ids, known before the insert: encrypted fields bind their ciphertext to the row id,
    and ids in URLs are not guessable."""

    id: Mapped[uuid.UUID] = mapped_column(sa.Uuid, primary_key=True, default=new_id)

    def __init__(self, **kwargs):
        self.id = kwargs.pop("id", None) or new_id()
        if getattr(self, "__tenant_scoped__", False):
            self.tenant_id = kwargs.pop("tenant_id", None) or current_tenant_id()
        self._after_identity()
        for key, value in kwargs.items():
            if not hasattr(type(self), key):
                raise TypeError(f"{type(self).__name__} has no attribute {key!r}")
            setattr(self, key, value)

    def _after_identity(self) -> None:
        """Hook for rows that need their id before other fields (a subject creates its key)."""


class Timestamps:
    created_at: Mapped[datetime] = mapped_column(sa.DateTime(timezone=True), default=clock.now)
    updated_at: Mapped[datetime] = mapped_column(sa.DateTime(timezone=True), default=clock.now, onupdate=clock.now)
