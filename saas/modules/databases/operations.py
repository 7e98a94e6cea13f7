"""Deleting from a client's database, always through the one erasure path (`saas.modules.erasure`): chosen
people, or the whole database (its assignments with their call notes, then every person). General company
data stays (seed 004 s.4.1: it serves every client). Erasures commit as the erasure path does (rows, then
key); the rest of a request commits at the commit point. Audit lines hold ids and counts only."""
from __future__ import annotations

import uuid
from collections.abc import Callable

import sqlalchemy as sa
from flask_babel import lazy_gettext as _l

from saas.access import scopes
from saas.core.errors import DomainError
from saas.extensions import db
from saas.modules.assignments import operations as assignments
from saas.modules.assignments.models import Assignment
from saas.modules.audit import operations as audit
from saas.modules.clients.models import ClientOrganisation
from saas.modules.databases import queries
from saas.modules.erasure import operations as erasure
from saas.modules.subjects.models import DataSubject

REASON = "client_request"     # why: the client deleted it from its own database (seed 004 s.3)
BULK_MAX = 200                # people one request may erase; more is the whole-database job
SYNC_LIMIT = 200              # a database up to this size is deleted in the request, a larger one by a job
JOB_BATCH = 100


class DeleteRefused(DomainError):
    """A delete the page must refuse with a message (nothing chosen, too many, a wrong confirmation)."""


def erase_people(organisation: ClientOrganisation, subject_ids: list[uuid.UUID], membership) -> int:
    """Erase the chosen people of this organisation's database that `membership` sees; ids of anyone else
    are left alone (never revealed). Returns how many were erased."""
    wanted = list(dict.fromkeys(subject_ids))
    if not wanted:
        raise DeleteRefused(_l("Choose the records to delete."), reason="nothing_chosen")
    if len(wanted) > BULK_MAX:
        raise DeleteRefused(_l("Delete at most %(max)s records at once, or delete the whole database.",
                                 max=BULK_MAX), reason="too_many")
    found = list(db.session.scalars(sa.select(DataSubject).where(
        DataSubject.id.in_(wanted), DataSubject.client_org_id == organisation.id,
        *scopes.subject_conditions(membership))))
    for subject in found:
        erasure.erase_subject(subject, reason=REASON)   # commits: rows, then key
    audit.record("database.erase", "client_organisation", organisation.id, detail={"count": len(found)})
    return len(found)


def check_confirmation(organisation: ClientOrganisation, typed: str) -> None:
    if " ".join((typed or "").split()).casefold() != organisation.name.casefold():
        raise DeleteRefused(_l("Type the name of the client organisation exactly to confirm."), reason="wrong_name")


def delete_database(client_org_id: uuid.UUID, progress: Callable[[int, int, str], None] | None = None) -> int:
    """Delete the organisation's whole database: its assignments (their call notes, agents and links go with
    them) and every person through the erasure path, in batches. Safe to run again after a crash: it takes
    what is left. Returns how many people were erased."""
    report = progress or (lambda done, total, stage: None)
    for assignment in list(db.session.scalars(sa.select(Assignment).where(Assignment.client_org_id == client_org_id))):
        assignments.delete_assignment(assignment)
    total, done = queries.people_count(client_org_id), 0
    report(0, total, "erase")
    while ids := queries.people_ids(client_org_id, JOB_BATCH):
        for subject_id in ids:
            subject = db.session.get(DataSubject, subject_id)
            if subject is not None:
                erasure.erase_subject(subject, reason=REASON)
        done += len(ids)
        report(done, total, "erase")
    audit.record("database.delete", "client_organisation", client_org_id, detail={"people": done})
    return done
