from __future__ import annotations

import uuid
from datetime import date, datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from saas.core import clock
from saas.core.models import UuidPk
from saas.core.tenancy import TenantScoped
from saas.extensions import db

ACTIONS = ("flag", "reconsent", "purge", "restrict", "hold", "review")
RECORD_KINDS = ("subject", "company")


class RetentionDecision(UuidPk, TenantScoped, db.Model):
    """One decision a policy made about one record, with the policy's name and version, so every flag,
    mail and purge can be explained later. Ids only: the record itself may be gone (purged).

    Unique per record, policy and due date: a rerun of a sweep finds the decision and does nothing twice.
    """

    __tablename__ = "retention_decision"
    __table_args__ = (
        sa.UniqueConstraint("tenant_id", "record_id", "policy", "due_on"),
        sa.Index("ix_retention_decision_run", "tenant_id", "sweep_run_id"),
        # The purges still waiting for their key to go: a handful at any time, however many decisions there
        # are, so finding and completing them stays cheap also while a first sweep grows the table faster
        # than the planner's statistics follow.
        sa.Index("ix_retention_decision_pending", "tenant_id", "id",
                 postgresql_where=sa.text("NOT completed"), sqlite_where=sa.text("NOT completed")),
    )
    record_kind: Mapped[str] = mapped_column(sa.String(10))
    record_id: Mapped[uuid.UUID] = mapped_column(sa.Uuid)
    category: Mapped[str] = mapped_column(sa.String(24))
    policy: Mapped[str] = mapped_column(sa.String(80))
    policy_version: Mapped[int] = mapped_column(sa.Integer)
    action: Mapped[str] = mapped_column(sa.String(12))
    due_on: Mapped[date] = mapped_column(sa.Date)
    decided_at: Mapped[datetime] = mapped_column(sa.DateTime(timezone=True), default=clock.now)
    sweep_run_id: Mapped[uuid.UUID | None] = mapped_column(sa.Uuid)
    # Purge happens in two stores: the rows here, the subject key in the key store. False until both are done,
    # so a sweep killed between the two finishes the key destruction on its next run.
    completed: Mapped[bool] = mapped_column(sa.Boolean, default=False)
    reason: Mapped[str | None] = mapped_column(sa.String(200))


class SweepRun(UuidPk, TenantScoped, db.Model):
    """One run of a tenant's retention sweep (or a dry run / forecast): what it did, per rule, and how long
    it took. `cursor` is the last record id finished, so a killed run resumes where it stopped.

    A running run's worker refreshes `heartbeat_at` (wall-clock time, not the settable business clock) at
    every batch commit and on a timer; a run whose heartbeat is older than the stale limit lost its worker
    and is resumed by the scheduler (`jobs.resume_stale_sweeps`). `job_id` names the job that owns the run
    now: a resume hands the run to a new job (`resumes` counts them), and an older job that comes back
    stops at its next batch. At most one real run per tenant is running: the database refuses a second."""

    __tablename__ = "sweep_run"
    __table_args__ = (
        sa.Index("ix_sweep_run_started", "tenant_id", "started_at"),
        # Two starts at the same instant (a double click, cron plus an admin) cannot both insert a run.
        sa.Index("uq_sweep_run_running", "tenant_id", unique=True,
                 postgresql_where=sa.text("status = 'running' AND NOT dry_run"),
                 sqlite_where=sa.text("status = 'running' AND NOT dry_run")),
    )
    as_of: Mapped[date] = mapped_column(sa.Date)
    dry_run: Mapped[bool] = mapped_column(sa.Boolean, default=False)
    status: Mapped[str] = mapped_column(sa.String(12), default="running")  # running | finished | failed
    trigger: Mapped[str] = mapped_column(sa.String(12), default="schedule")  # schedule | command | portal
    job_id: Mapped[str | None] = mapped_column(sa.String(120))
    phase: Mapped[str] = mapped_column(sa.String(20), default="subjects")
    cursor: Mapped[uuid.UUID | None] = mapped_column(sa.Uuid)
    evaluated: Mapped[int] = mapped_column(sa.Integer, default=0)
    counts: Mapped[dict] = mapped_column(sa.JSON, default=dict)   # {"policy@v1": {"purge": n}, ...}
    started_at: Mapped[datetime] = mapped_column(sa.DateTime(timezone=True), default=clock.now)
    finished_at: Mapped[datetime | None] = mapped_column(sa.DateTime(timezone=True))
    duration_ms: Mapped[int | None] = mapped_column(sa.Integer)
    error: Mapped[str | None] = mapped_column(sa.String(200))
    heartbeat_at: Mapped[datetime | None] = mapped_column(sa.DateTime(timezone=True))
    resumes: Mapped[int] = mapped_column(sa.Integer, default=0, server_default="0")


class SuppressionEntry(UuidPk, TenantScoped, db.Model):
    """A person who must not come back (purged prospect, rights request): blind indexes only, no readable
    personal data. Imports and new subjects are checked against it."""

    __tablename__ = "suppression_entry"
    __table_args__ = (
        sa.Index("ix_suppression_email", "tenant_id", "email_bidx"),
        sa.Index("ix_suppression_phone", "tenant_id", "phone_bidx"),
    )
    email_bidx: Mapped[bytes | None] = mapped_column(sa.LargeBinary(16))
    phone_bidx: Mapped[bytes | None] = mapped_column(sa.LargeBinary(16))
    reason: Mapped[str] = mapped_column(sa.String(40))          # policy name or "rights_request"
    created_at: Mapped[datetime] = mapped_column(sa.DateTime(timezone=True), default=clock.now)
