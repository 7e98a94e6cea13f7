"""Reads of a client organisation's database: one page of its people with what their calls came to, its
assignments with their agreements. Every read that shows personal data is audited by the caller."""
from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, timezone
from zoneinfo import ZoneInfo

import sqlalchemy as sa

from saas.access import scopes
from saas.core.crypto.keyring import keyring
from saas.core.paging import Page
from saas.extensions import db
from saas.modules.agreements.models import Agreement
from saas.modules.assignments.models import Assignment, AssignmentSubject, CallNote
from saas.modules.clients.models import ClientOrganisation
from saas.modules.companies.models import Company
from saas.modules.erasure import queries as erasure_queries
from saas.modules.subjects.models import DataSubject

PER_PAGE = 50
LOCAL_ZONE = ZoneInfo("Europe/Amsterdam")


@dataclass(frozen=True)
class Search:
    """What the database page filters on: a part of the company name, a call result, a period of calls."""

    company: str | None = None
    result: str | None = None
    called_from: date | None = None
    called_to: date | None = None

    def as_args(self) -> dict:
        return {key: value for key, value in (("company", self.company), ("result", self.result),
                                              ("from", self.called_from), ("to", self.called_to)) if value}


@dataclass(frozen=True)
class PersonRow:
    subject: DataSubject
    company: str | None
    last_result: str | None
    last_call_at: datetime | None
    assignments: tuple[str, ...]


def databases_in_scope(membership) -> list[ClientOrganisation]:
    """The client organisations whose database this member sees (a client: its own)."""
    organisations = db.session.scalars(sa.select(ClientOrganisation).order_by(ClientOrganisation.name))
    return [org for org in organisations if scopes.database_in_scope(membership, org.id)]


def _org_notes(client_org_id):
    return (sa.select(CallNote.subject_id).join(Assignment, Assignment.id == CallNote.assignment_id)
            .where(Assignment.client_org_id == client_org_id))


def _conditions(client_org_id, membership, search: Search) -> list:
    conditions = [DataSubject.client_org_id == client_org_id, DataSubject.restricted_at.is_(None),
                  *scopes.subject_conditions(membership)]
    if search.company:
        pattern = "%" + search.company.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
        conditions.append(DataSubject.company_id.in_(
            sa.select(Company.id).where(Company.name.ilike(pattern, escape="\\"))))
    if search.result or search.called_from or search.called_to:
        notes = _org_notes(client_org_id)
        if search.result:
            notes = notes.where(CallNote.result == search.result)
        if search.called_from:
            notes = notes.where(CallNote.created_at >= _local_midnight(search.called_from))
        if search.called_to:
            notes = notes.where(CallNote.created_at < _local_midnight(search.called_to + timedelta(days=1)))
        conditions.append(DataSubject.id.in_(notes))
    return conditions


def _local_midnight(day: date) -> datetime:
    """The start of a day as people in the Netherlands count it, in UTC as stored."""
    return datetime.combine(day, time.min, LOCAL_ZONE).astimezone(timezone.utc)


def people(client_org_id: uuid.UUID, membership, search: Search, page: int, per_page: int = PER_PAGE) -> Page:
    """One page of the organisation's people, newest first, with company, last call result and assignments."""
    conditions = _conditions(client_org_id, membership, search)
    total = db.session.scalar(sa.select(sa.func.count(DataSubject.id)).where(*conditions))
    subjects = list(db.session.scalars(sa.select(DataSubject).where(*conditions)
                                       .order_by(DataSubject.created_at.desc(), DataSubject.id)
                                       .limit(per_page).offset((page - 1) * per_page)))
    erased = erasure_queries.erased_ids([s.id for s in subjects])
    subjects = [s for s in subjects if s.id not in erased]
    keyring().prefetch([s.id for s in subjects])
    return Page(_rows(subjects, client_org_id), total - len(erased), page, per_page)


def _rows(subjects: list[DataSubject], client_org_id) -> list[PersonRow]:
    ids = [s.id for s in subjects]
    companies = dict(db.session.execute(sa.select(Company.id, Company.name).where(
        Company.id.in_({s.company_id for s in subjects if s.company_id}))).all())
    last: dict = {}
    for subject_id, result, created_at in db.session.execute(
            sa.select(CallNote.subject_id, CallNote.result, CallNote.created_at)
            .join(Assignment, Assignment.id == CallNote.assignment_id)
            .where(CallNote.subject_id.in_(ids), Assignment.client_org_id == client_org_id)
            .order_by(CallNote.created_at, CallNote.id)):
        last[subject_id] = (result, created_at)
    titles: dict = {}
    for subject_id, title in db.session.execute(
            sa.select(AssignmentSubject.subject_id, Assignment.title)
            .join(Assignment, Assignment.id == AssignmentSubject.assignment_id)
            .where(AssignmentSubject.subject_id.in_(ids), Assignment.client_org_id == client_org_id)
            .order_by(Assignment.title)):
        titles.setdefault(subject_id, []).append(title)
    return [PersonRow(s, companies.get(s.company_id), *last.get(s.id, (None, None)), tuple(titles.get(s.id, ())))
            for s in subjects]


def people_count(client_org_id) -> int:
    return db.session.scalar(sa.select(sa.func.count(DataSubject.id)).where(DataSubject.client_org_id == client_org_id))


def people_ids(client_org_id, limit: int) -> list[uuid.UUID]:
    """The next `limit` people of the organisation (the whole-database delete takes them batch by batch)."""
    return list(db.session.scalars(sa.select(DataSubject.id).where(DataSubject.client_org_id == client_org_id)
                                   .order_by(DataSubject.id).limit(limit)))


@dataclass(frozen=True)
class AssignmentRow:
    assignment: Assignment
    people: int
    notes: int
    agreement: Agreement | None


def assignments(client_org_id) -> list[AssignmentRow]:
    """The organisation's assignments, active or not, with counts and their processor agreement."""
    found = list(db.session.scalars(sa.select(Assignment).where(Assignment.client_org_id == client_org_id)
                                    .order_by(Assignment.created_at.desc(), Assignment.id)))
    ids = [a.id for a in found]
    people_per = dict(db.session.execute(sa.select(AssignmentSubject.assignment_id, sa.func.count())
                                         .where(AssignmentSubject.assignment_id.in_(ids))
                                         .group_by(AssignmentSubject.assignment_id)).all())
    notes_per = dict(db.session.execute(sa.select(CallNote.assignment_id, sa.func.count())
                                        .where(CallNote.assignment_id.in_(ids)).group_by(CallNote.assignment_id)).all())
    agreements = {a.id: a for a in db.session.scalars(sa.select(Agreement).where(
        Agreement.id.in_({a.agreement_id for a in found if a.agreement_id})))}
    return [AssignmentRow(a, people_per.get(a.id, 0), notes_per.get(a.id, 0), agreements.get(a.agreement_id))
            for a in found]


def agreement_of(assignment: Assignment) -> Agreement | None:
    return db.session.get(Agreement, assignment.agreement_id) if assignment.agreement_id else None
