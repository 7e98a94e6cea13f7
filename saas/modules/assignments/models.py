from __future__ import annotations

import uuid
from datetime import date, datetime

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
    # The work queue (seed 004 s.3: an agent sees only what they work on at that moment): the agent this
    # record is checked out to, and until when. Expired or empty: back in the queue.
    checked_out_to: Mapped[uuid.UUID | None] = mapped_column(sa.ForeignKey("user_account.id", ondelete="SET NULL"))
    checked_out_until: Mapped[datetime | None] = mapped_column(sa.DateTime(timezone=True))


# The results a call note can record, in the order the portal offers them.
RESULTS = ("appointment", "interested", "callback", "no_interest", "not_reached", "wrong_contact", "other")


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
    # What the conversation came to (seed 004 s.4.3: sortable by company, result and date, never by content):
    # one of `RESULTS`, plain text so it can be sorted; the note's text stays encrypted.
    result: Mapped[str | None] = mapped_column(sa.String(24))
    body = EncryptedField()

    def encryption_subject_id(self):
        return self.subject_id
