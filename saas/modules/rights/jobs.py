"""Periodic work of rights requests (saas/jobs/schedule.py): reminders to admins before a deadline passes."""
from __future__ import annotations

from saas.extensions import db
from saas.modules.rights import operations


def send_reminders() -> int:
    """Run daily per tenant. Idempotent: a request is reminded once per deadline (its `reminded_*_on`)."""
    sent = operations.send_reminders()
    db.session.commit()
    return sent
