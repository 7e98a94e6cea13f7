from __future__ import annotations

import uuid

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from saas.core.crypto.fields import EncryptedField, EncryptedRow
from saas.core.models import Timestamps, UuidPk
from saas.core.tenancy import TenantScoped
from saas.extensions import db


class StoredFile(UuidPk, EncryptedRow, TenantScoped, Timestamps, db.Model):
    """A document (NDA, signed PDF, export) kept encrypted in the storage folder.
    A file of a data subject uses the subject's key, so erasing the subject shreds the file too."""

    __tablename__ = "stored_file"
    subject_id: Mapped[uuid.UUID | None] = mapped_column(sa.Uuid, index=True)
    purpose: Mapped[str] = mapped_column(sa.String(30))
    content_type: Mapped[str] = mapped_column(sa.String(100))
    size: Mapped[int] = mapped_column(sa.Integer)
    sha256: Mapped[str] = mapped_column(sa.String(64))
    key_kind: Mapped[str] = mapped_column(sa.String(1))  # s (subject key) | t (tenant key)
    key_generation: Mapped[int] = mapped_column(sa.Integer)
    filename = EncryptedField()
