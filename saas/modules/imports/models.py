"""An import of a client's database into an assignment, the people it created (for undo), and the column
mapping remembered per client organisation.

Nothing here holds personal data: the report is counts and (row number, column number, reason code)
triples, never a value, so it is stored and shown as is. The uploaded file itself is a `StoredFile`
(encrypted with the tenant key) that is deleted once the import is done, cancelled or refused.
"""
from __future__ import annotations

import uuid
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from saas.core.models import Timestamps, UuidPk, tenant_fk
from saas.core.tenancy import TenantScoped
from saas.extensions import db

# The life of an import. UPLOADED: read and waiting for the mapping; QUEUED/RUNNING: the job; DONE: committed;
# REFUSED: the file or too many rows were refused (nothing written); CANCELLED; FAILED (nothing written);
# UNDONE: what it created was erased again.
UPLOADED, QUEUED, RUNNING, DONE, REFUSED, CANCELLED, FAILED, UNDOING, UNDONE = (
    "uploaded", "queued", "running", "done", "refused", "cancelled", "failed", "undoing", "undone")
FINISHED = frozenset({DONE, REFUSED, CANCELLED, FAILED, UNDOING, UNDONE})

COUNTERS = ("rows_read", "created", "matched", "corrected", "duplicates", "refused", "suppressed", "left_company",
            "companies_created", "companies_matched", "companies_corrected")


class ImportRun(UuidPk, TenantScoped, Timestamps, db.Model):
    """One uploaded file for one assignment, from upload to report."""

    __tablename__ = "import_run"
    __table_args__ = (sa.Index("ix_import_run_assignment", "tenant_id", "assignment_id"),
                      tenant_fk("assignment_id", "assignment", ondelete="CASCADE"),
                      tenant_fk("client_org_id", "client_organisation"))
    assignment_id: Mapped[uuid.UUID] = mapped_column(sa.Uuid)
    client_org_id: Mapped[uuid.UUID] = mapped_column(sa.Uuid, index=True)
    uploaded_by: Mapped[uuid.UUID | None] = mapped_column(sa.ForeignKey("user_account.id", ondelete="SET NULL"))
    file_id: Mapped[uuid.UUID | None] = mapped_column(sa.Uuid)     # the encrypted upload, until it is done
    file_kind: Mapped[str] = mapped_column(sa.String(8))           # csv | xlsx
    status: Mapped[str] = mapped_column(sa.String(12), default=UPLOADED)
    headers_count: Mapped[int] = mapped_column(sa.Integer, default=0)
    # {column number (str): field name}; the header texts are not kept here (they may name anything).
    mapping: Mapped[dict] = mapped_column(sa.JSON, default=dict)
    counts: Mapped[dict] = mapped_column(sa.JSON, default=dict)
    # [[row number, column number or 0, reason code], ...]: no values.
    problems: Mapped[list] = mapped_column(sa.JSON, default=list)
    error_code: Mapped[str | None] = mapped_column(sa.String(40))   # why the whole file was refused
    error_detail: Mapped[dict] = mapped_column(sa.JSON, default=dict)  # numbers only (row, column, limit)
    job_id: Mapped[str | None] = mapped_column(sa.String(64))
    cancel_requested: Mapped[bool] = mapped_column(sa.Boolean, default=False)
    finished_at: Mapped[datetime | None] = mapped_column(sa.DateTime(timezone=True))
    undone_at: Mapped[datetime | None] = mapped_column(sa.DateTime(timezone=True))

    def count(self, name: str) -> int:
        return int((self.counts or {}).get(name, 0))


class ImportCreated(UuidPk, TenantScoped, db.Model):
    """What an import added, so that undo can take it away again: a person it created (erased through the
    erasure path), a link to an existing person it added to the assignment, a company it created."""

    __tablename__ = "import_created"
    __table_args__ = (sa.Index("ix_import_created_run", "tenant_id", "import_id"),
                      tenant_fk("import_id", "import_run", ondelete="CASCADE"),
                      tenant_fk("subject_id", "data_subject", ondelete="CASCADE"),
                      tenant_fk("company_id", "company", ondelete="CASCADE"))
    import_id: Mapped[uuid.UUID] = mapped_column(sa.Uuid)
    kind: Mapped[str] = mapped_column(sa.String(8))        # person | link | company
    subject_id: Mapped[uuid.UUID | None] = mapped_column(sa.Uuid,
                                                         index=True)
    company_id: Mapped[uuid.UUID | None] = mapped_column(sa.Uuid)


class ImportMapping(UuidPk, TenantScoped, Timestamps, db.Model):
    """The column mapping a client organisation used last: {normalised header: field name}."""

    __tablename__ = "import_mapping"
    __table_args__ = (sa.UniqueConstraint("tenant_id", "client_org_id"),
                      tenant_fk("client_org_id", "client_organisation", ondelete="CASCADE"))
    client_org_id: Mapped[uuid.UUID] = mapped_column(sa.Uuid)
    columns: Mapped[dict] = mapped_column(sa.JSON, default=dict)
