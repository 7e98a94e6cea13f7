"""Writes of client organisations (opdrachtgevers). Callers commit."""
from __future__ import annotations

from saas.extensions import db
from saas.modules.audit import operations as audit
from saas.modules.clients import queries
from saas.modules.clients.models import ClientOrganisation


class DuplicateName(ValueError):
    """The tenant has a client organisation with this name already."""


def create_organisation(name: str, kvk_number: str | None = None) -> ClientOrganisation:
    name = " ".join(name.split())
    if queries.find_by_name(name) is not None:
        raise DuplicateName(name)
    org = ClientOrganisation(name=name, kvk_number=kvk_number or None, active=True)
    db.session.add(org)
    db.session.flush()
    audit.record("client_org.create", "client_organisation", org.id)
    return org
