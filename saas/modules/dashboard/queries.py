"""Counts for the dashboard. Counting reads no personal field, so nothing here is decrypted."""
from __future__ import annotations

from datetime import datetime, time, timezone

import sqlalchemy as sa

from saas.core import clock
from saas.extensions import db
from saas.modules.accounts.models import Membership
from saas.modules.audit.models import AuditEntry
from saas.modules.clients.models import ClientOrganisation
from saas.modules.subjects.models import DataSubject


def _count(statement) -> int:
    return db.session.scalar(sa.select(sa.func.count()).select_from(statement.subquery()))


def members_by_role() -> dict[str, int]:
    rows = db.session.execute(sa.select(Membership.role, sa.func.count()).group_by(Membership.role))
    return dict(rows.all())


def subjects_by_category(conditions: list) -> dict[str, int]:
    """The data subjects under `conditions` (the member's scope from the access policy), by category."""
    statement = sa.select(DataSubject.category, sa.func.count()).where(*conditions).group_by(DataSubject.category)
    return dict(db.session.execute(statement).all())


def client_organisation_count() -> int:
    return _count(sa.select(ClientOrganisation.id).where(ClientOrganisation.active.is_(True)))


def audit_entries_today() -> int:
    """Entries since midnight in Amsterdam, the day the tenant lives by."""
    midnight = datetime.combine(clock.today(), time(0), tzinfo=clock.AMSTERDAM).astimezone(timezone.utc)
    return _count(sa.select(AuditEntry.seq).where(AuditEntry.at >= midnight))
