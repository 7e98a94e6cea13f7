from __future__ import annotations

import uuid
from datetime import date

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from saas.core.crypto.fields import EncryptedField, EncryptedRow
from saas.core.models import Timestamps, UuidPk, tenant_fk
from saas.core.tenancy import TenantScoped
from saas.extensions import db


class Assignment(UuidPk, TenantScoped, Timestamps, db.Model):
    """An assignment (opdracht) of a client organisation, run by a supervisor with assigned agents.
    Leadhunter: agents see its data only while it is active and its processor agreement is completed."""

    __tablename__ = "assignment"
    __table_args__ = (
        tenant_fk("client_org_id", "client_organisation"),
        tenant_fk("agreement_id", "agreement", ondelete="SET NULL"),
    )
    client_org_id: Mapped[uuid.UUID] = mapped_column(sa.Uuid, index=True)
    title: Mapped[str] = mapped_column(sa.String(200))
    supervisor_id: Mapped[uuid.UUID | None] = mapped_column(sa.ForeignKey("user_account.id"))
    active: Mapped[bool] = mapped_column(sa.Boolean, default=True)
    starts_on: Mapped[date | None] = mapped_column(sa.Date)
    ends_on: Mapped[date | None] = mapped_column(sa.Date)
    # The processor agreement that covers this assignment (issue: one agreement per assignment).
    agreement_id: Mapped[uuid.UUID | None] = mapped_column(sa.Uuid)


class AssignmentAgent(UuidPk, TenantScoped, db.Model):
    """An agent assigned to an assignment: need-to-know access to its subjects and call notes."""

    __tablename__ = "assignment_agent"
    __table_args__ = (
        sa.UniqueConstraint("tenant_id", "assignment_id", "user_id"),
        tenant_fk("assignment_id", "assignment", ondelete="CASCADE"),
    )
    assignment_id: Mapped[uuid.UUID] = mapped_column(sa.Uuid)
    user_id: Mapped[uuid.UUID] = mapped_column(sa.ForeignKey("user_account.id"), index=True)


class AssignmentSubject(UuidPk, TenantScoped, db.Model):
    """A subject (prospect) worked on in an assignment."""

    __tablename__ = "assignment_subject"
    __table_args__ = (
        sa.UniqueConstraint("tenant_id", "assignment_id", "subject_id"),
        tenant_fk("assignment_id", "assignment", ondelete="CASCADE"),
        tenant_fk("subject_id", "data_subject", ondelete="CASCADE"),
    )
    assignment_id: Mapped[uuid.UUID] = mapped_column(sa.Uuid)
    subject_id: Mapped[uuid.UUID] = mapped_column(sa.Uuid, index=True)


class CallNote(UuidPk, EncryptedRow, TenantScoped, Timestamps, db.Model):
    """A note of a call with a subject within an assignment. Encrypted with the subject's key, so purging
    the subject shreds its notes too; deleted with the assignment (seed 004)."""

    __tablename__ = "call_note"
    __table_args__ = (
        sa.Index("ix_call_note_assignment", "tenant_id", "assignment_id"),
        tenant_fk("assignment_id", "assignment", ondelete="CASCADE"),
        tenant_fk("subject_id", "data_subject", ondelete="CASCADE"),
    )
    assignment_id: Mapped[uuid.UUID] = mapped_column(sa.Uuid)
    subject_id: Mapped[uuid.UUID] = mapped_column(sa.Uuid, index=True)
    author_id: Mapped[uuid.UUID | None] = mapped_column(sa.ForeignKey("user_account.id"))
    body = EncryptedField()

    def encryption_subject_id(self):
        return self.subject_id
