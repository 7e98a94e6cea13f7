"""The rows of a client organisation's database, or of one of its assignments, for a download.

Read by key in batches of `BATCH` people (no OFFSET, no result set held): memory stays flat whatever the
size. One row per person and assignment (a person in no assignment: one row without one); the company
columns are the general company data as it is now (seed 004 s.4.1: "de meest actuele stand van zaken");
erased and restricted people are absent (s.4.2: "verwijderde gegevens zijn ook in die download verwijderd");
the call notes of the row's assignment are included, active or not (s.4.3).
"""
from __future__ import annotations

import uuid
from collections.abc import Iterator

import sqlalchemy as sa

from saas.access import policy as access
from saas.access import scopes
from saas.core.crypto.keyring import keyring
from saas.core.web import get_or_404
from saas.extensions import db
from saas.modules.assignments.models import Assignment, AssignmentSubject, CallNote
from saas.modules.clients.models import ClientOrganisation
from saas.modules.companies.models import Company
from saas.modules.erasure import queries as erasure_queries
from saas.modules.subjects.models import DataSubject

BATCH = 1000
COLUMNS = ("person_id", "assignment", "assignment_active", "company", "kvk_number", "company_city", "website",
           "given_name", "family_name", "email", "phone", "job_title", "city", "added_on", "last_result",
           "last_call_on", "call_notes")


def find_database(client_org_id, action: str = "view") -> ClientOrganisation:
    """The client organisation whose whole database the current member may `action` (view, export, erase);
    otherwise 404 with an audited refusal (another client's id, an agent, the board)."""
    organisation = get_or_404(ClientOrganisation, client_org_id)
    membership = access.current_membership()
    if not access.can(membership, action, "client_database") or not scopes.database_in_scope(
            membership, organisation.id):
        access.refuse(action, "client_database", organisation.id)
    return organisation


def _people(client_org_id, assignment_id, membership) -> sa.Select:
    query = sa.select(DataSubject.id).where(DataSubject.client_org_id == client_org_id,
                                            DataSubject.restricted_at.is_(None),
                                            *scopes.subject_conditions(membership))
    if assignment_id is not None:
        query = query.where(DataSubject.id.in_(sa.select(AssignmentSubject.subject_id).where(
            AssignmentSubject.assignment_id == assignment_id)))
    return query.order_by(DataSubject.id)


def export_rows(client_org_id: uuid.UUID, membership, assignment_id: uuid.UUID | None = None,
                batch: int = BATCH) -> Iterator[dict]:
    """Every row of the database (or of one assignment), people in id order; see the module docstring."""
    after = None
    while True:
        query = _people(client_org_id, assignment_id, membership).limit(batch)
        if after is not None:
            query = query.where(DataSubject.id > after)
        ids = list(db.session.scalars(query))
        if not ids:
            return
        after = ids[-1]
        yield from _batch_rows(ids, client_org_id, assignment_id)


def _batch_rows(ids: list, client_org_id, assignment_id) -> list[dict]:
    """The rows of one batch of people, made at once (the batch is read and decrypted in one session)."""
    erased = erasure_queries.erased_ids(ids)
    ids = [subject_id for subject_id in ids if subject_id not in erased]
    keyring().prefetch(ids)
    people = list(db.session.scalars(sa.select(DataSubject).where(DataSubject.id.in_(ids))
                                     .order_by(DataSubject.id)))
    companies = {c.id: c for c in db.session.scalars(sa.select(Company).where(
        Company.id.in_({p.company_id for p in people if p.company_id is not None})))}
    links = _links(ids, client_org_id, assignment_id)
    notes = _notes(ids, client_org_id, assignment_id)
    rows = []
    for person in people:
        company = companies.get(person.company_id)
        for assignment in links.get(person.id) or [None]:
            row_notes = notes.get((person.id, assignment.id if assignment else None), [])
            rows.append(_row(person, company, assignment, row_notes))
    loaded = [*people, *companies.values(), *(n for group in notes.values() for n in group)]
    for obj in loaded:   # the session forgets each batch: memory stays flat
        if obj in db.session:
            db.session.expunge(obj)
    for assignment_rows in links.values():
        for assignment in assignment_rows:
            if assignment in db.session:
                db.session.expunge(assignment)
    # And the batch's subject keys: the session's key cache would otherwise grow with every batch (an XLSX
    # is written in one step). The keyring has no public call for this yet.
    keyring()._forget_subjects(ids)
    return rows


def _links(ids, client_org_id, assignment_id) -> dict:
    query = (sa.select(AssignmentSubject.subject_id, Assignment)
             .join(Assignment, Assignment.id == AssignmentSubject.assignment_id)
             .where(AssignmentSubject.subject_id.in_(ids), Assignment.client_org_id == client_org_id)
             .order_by(Assignment.title, Assignment.id))
    if assignment_id is not None:
        query = query.where(Assignment.id == assignment_id)
    found: dict = {}
    for subject_id, assignment in db.session.execute(query):
        found.setdefault(subject_id, []).append(assignment)
    return found


def _notes(ids, client_org_id, assignment_id) -> dict:
    query = (sa.select(CallNote).join(Assignment, Assignment.id == CallNote.assignment_id)
             .where(CallNote.subject_id.in_(ids), Assignment.client_org_id == client_org_id)
             .order_by(CallNote.created_at, CallNote.id))
    if assignment_id is not None:
        query = query.where(CallNote.assignment_id == assignment_id)
    found: dict = {}
    for note in db.session.scalars(query):
        found.setdefault((note.subject_id, note.assignment_id), []).append(note)
    return found


def _row(person: DataSubject, company: Company | None, assignment: Assignment | None, notes: list) -> dict:
    last = notes[-1] if notes else None
    return {
        "person_id": str(person.id),
        "assignment": assignment.title if assignment else None,
        "assignment_active": assignment.active if assignment else None,
        "company": company.name if company else None,
        "kvk_number": company.kvk_number if company else None,
        "company_city": company.city if company else None,
        "website": company.website if company else None,
        "given_name": person.given_name, "family_name": person.family_name, "email": person.email,
        "phone": person.phone, "job_title": person.job_title, "city": person.city,
        "added_on": person.created_at.date().isoformat() if person.created_at else None,
        "last_result": last.result if last else None,
        "last_call_on": last.created_at.date().isoformat() if last else None,
        "call_notes": [{"date": note.created_at.date().isoformat(), "result": note.result, "note": note.body}
                       for note in notes],
    }
