"""Reads of client organisations with how many users and data subjects each has."""
from __future__ import annotations

from dataclasses import dataclass

import sqlalchemy as sa

from saas.extensions import db
from saas.modules.accounts.models import Membership
from saas.modules.clients.models import ClientOrganisation
from saas.modules.subjects.models import DataSubject


@dataclass(frozen=True)
class OrganisationRow:
    organisation: ClientOrganisation
    users: int
    subjects: int


def find_by_name(name: str) -> ClientOrganisation | None:
    return db.session.scalar(sa.select(ClientOrganisation).where(
        sa.func.lower(ClientOrganisation.name) == name.lower()
    ))


def _counts(model) -> dict:
    rows = db.session.execute(
        sa.select(model.client_org_id, sa.func.count()).where(model.client_org_id.is_not(None))
        .group_by(model.client_org_id)
    )
    return dict(rows.all())


def organisations() -> list[OrganisationRow]:
    users, subjects = _counts(Membership), _counts(DataSubject)
    orgs = db.session.scalars(sa.select(ClientOrganisation).order_by(ClientOrganisation.name))
    return [OrganisationRow(org, users.get(org.id, 0), subjects.get(org.id, 0)) for org in orgs]
