"""A document kept with a person: its type (declared by a sector plugin), its encrypted file, and the dates
its retention counts from. The file itself is a `files.StoredFile` under the person's key, so erasing the
person shreds it; the row names the person, so the generic erasure deletes it too."""
from __future__ import annotations

import uuid
from datetime import date

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from saas.core.models import Timestamps, UuidPk, tenant_fk
from saas.core.tenancy import TenantScoped
from saas.extensions import db


class Document(UuidPk, TenantScoped, Timestamps, db.Model):
    __tablename__ = "document"
    __table_args__ = (tenant_fk("subject_id", "data_subject", ondelete="CASCADE"),
                      tenant_fk("file_id", "stored_file", ondelete="CASCADE"))
    subject_id: Mapped[uuid.UUID] = mapped_column(sa.Uuid, index=True)
    file_id: Mapped[uuid.UUID] = mapped_column(sa.Uuid, index=True)
    doc_type: Mapped[str] = mapped_column(sa.String(80))
    type_version: Mapped[int] = mapped_column(sa.Integer)
    # Copied from the type when stored: the need-to-know filter is one SQL condition (board-only types).
    board_only: Mapped[bool] = mapped_column(sa.Boolean, default=False)
    uploaded_on: Mapped[date] = mapped_column(sa.Date)
    expires_on: Mapped[date | None] = mapped_column(sa.Date)   # e.g. the end of an NDA's confidentiality
    uploaded_by: Mapped[uuid.UUID | None] = mapped_column(sa.Uuid)
