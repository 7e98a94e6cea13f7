"""Reads of assignments, their agents, people and call notes.

Who sees what is decided by the access policy (`saas.access`): `scopes` gives the SQL conditions
used here (need-to-know of seed 004). `membership` None means system code (jobs, commands): the whole tenant.
"""
from __future__ import annotations

import uuid
from dataclasses import dataclass

import sqlalchemy as sa

from saas.core import clock
from saas.core.crypto.keyring import keyring
from saas.core.web import get_or_404
from saas.extensions import db
from saas.access import policy as access
from saas.access import scopes
from saas.modules.accounts.models import Membership, User
from saas.modules.agreements.models import Agreement
from saas.modules.assignments.models import Assignment, AssignmentAgent, AssignmentSubject, CallNote
from saas.modules.clients.models import ClientOrganisation
from saas.modules.erasure import queries as erasure_queries
from saas.modules.companies.models import Company
from saas.modules.subjects.models import DataSubject

# The processor-agreement setting of the leadgen plugin is read in one function: scopes.agreement_required.
agreement_required = scopes.agreement_required


def find_assignment(assignment_id, action: str = "view") -> Assignment:
    """The assignment if the current member may do `action` (a policy action: view, edit, manage, note,
    erase) with it; otherwise 404, with an audited refusal."""
    assignment = get_or_404(Assignment, assignment_id)
    access.require(action, assignment)
    return assignment


@dataclass(frozen=True)
class AssignmentRow:
    assignment: Assignment
    client_org_name: str
    supervisor_name: str | None
    agents: int
    subjects: int


def list_assignments(membership: Membership | None, *, active: bool | None = None) -> list[AssignmentRow]:
    """The assignments `membership` sees, newest first, with counts (no personal data read)."""
    conditions = scopes.assignment_conditions(membership)
    if active is not None:
        conditions.append(Assignment.active.is_(active))
    agents = _counts(AssignmentAgent)
    subjects = _counts(AssignmentSubject)
    rows = db.session.execute(
        sa.select(Assignment, ClientOrganisation.name, User.display_name)
        .join(ClientOrganisation, ClientOrganisation.id == Assignment.client_org_id)
        .outerjoin(User, User.id == Assignment.supervisor_id)
        .where(*conditions).order_by(Assignment.created_at.desc(), Assignment.id)
    ).all()
    return [AssignmentRow(a, org, sup, agents.get(a.id, 0), subjects.get(a.id, 0)) for a, org, sup in rows]


def _counts(model) -> dict:
    return dict(db.session.execute(
        sa.select(model.assignment_id, sa.func.count()).group_by(model.assignment_id)).all())


def agents_of(assignment: Assignment) -> list[tuple[AssignmentAgent, User]]:
    return list(db.session.execute(
        sa.select(AssignmentAgent, User).join(User, User.id == AssignmentAgent.user_id)
        .where(AssignmentAgent.assignment_id == assignment.id).order_by(User.display_name)
    ).all())


def subjects_of(assignment: Assignment, membership: Membership | None) -> list[DataSubject]:
    """The assignment's people `membership` may see: only those of its client organisation, and for an
    agent not the flagged or restricted ones (see `flagged_subjects_of`)."""
    return _subjects(assignment, scopes.subject_conditions(membership))


def flagged_subjects_of(assignment: Assignment, membership: Membership | None = None) -> list[DataSubject]:
    """People waiting for verification: an agent sees them only to verify them."""
    return _subjects(assignment, [DataSubject.needs_verification_since.is_not(None),
                                  *scopes.subject_conditions(membership, verifying=True)])


def _subjects(assignment: Assignment, conditions: list) -> list[DataSubject]:
    subjects = list(db.session.scalars(
        sa.select(DataSubject).where(*scopes.assignment_people(assignment), *conditions)
        .order_by(DataSubject.created_at, DataSubject.id)))
    gone = erasure_queries.gone_ids([subject.id for subject in subjects])   # fetches the others' keys
    return [subject for subject in subjects if subject.id not in gone] if gone else subjects


def subject_ids_of(assignment: Assignment) -> set[uuid.UUID]:
    return set(db.session.scalars(
        sa.select(AssignmentSubject.subject_id).where(AssignmentSubject.assignment_id == assignment.id)))


# Seed 004 s.4.3: call notes are sortable by company name, result and date, never by their content.
NOTE_SORTS = ("date", "company", "result")


def call_notes(assignment: Assignment, membership: Membership | None, sort: str = "date") -> list[CallNote]:
    """The assignment's call notes on the people `membership` may see in it (an agent does not get the notes
    of a person flagged for verification), oldest first or by company name or result (`NOTE_SORTS`)."""
    if not scopes.can_see_assignment(membership, assignment):
        return []
    query = (sa.select(CallNote).join(DataSubject, DataSubject.id == CallNote.subject_id)
             .outerjoin(Company, Company.id == DataSubject.company_id)
             .where(CallNote.assignment_id == assignment.id, DataSubject.client_org_id == assignment.client_org_id,
                    *scopes.subject_conditions(membership)))
    order = {"company": (Company.name, CallNote.created_at), "result": (CallNote.result, CallNote.created_at)}
    notes = list(db.session.scalars(query.order_by(*order.get(sort, ()), CallNote.created_at, CallNote.id)))
    gone = erasure_queries.gone_ids([note.subject_id for note in notes])   # a note is sealed with its person's key
    return [note for note in notes if note.subject_id not in gone] if gone else notes


def company_names_of(subject_ids) -> dict:
    """subject id -> the name of the company the person works at (general business data)."""
    ids = list(subject_ids)
    if not ids:
        return {}
    return dict(db.session.execute(sa.select(DataSubject.id, Company.name)
                                   .join(Company, Company.id == DataSubject.company_id)
                                   .where(DataSubject.id.in_(ids))).all())


def checked_out(assignment: Assignment, membership: Membership) -> list[tuple[DataSubject, object]]:
    """The records of this assignment checked out to this member now, with until when."""
    rows = list(db.session.execute(
        sa.select(DataSubject, AssignmentSubject.checked_out_until)
        .join(AssignmentSubject, AssignmentSubject.subject_id == DataSubject.id)
        .where(AssignmentSubject.assignment_id == assignment.id, scopes.checked_out_to(membership),
               *scopes.assignment_people(assignment), scopes.usable_by_agents())
        .order_by(DataSubject.created_at, DataSubject.id)).all())
    keyring().prefetch([subject.id for subject, _until in rows])
    return rows


def queue_size(assignment: Assignment) -> int:
    """How many records of the assignment nobody holds now (counts only)."""
    return db.session.scalar(
        sa.select(sa.func.count()).select_from(AssignmentSubject)
        .join(DataSubject, DataSubject.id == AssignmentSubject.subject_id)
        .where(AssignmentSubject.assignment_id == assignment.id, DataSubject.client_org_id == assignment.client_org_id,
               scopes.usable_by_agents(),
               sa.or_(AssignmentSubject.checked_out_to.is_(None), AssignmentSubject.checked_out_until <= clock.now())))


def call_notes_of_subject(subject: DataSubject, membership: Membership | None) -> list[tuple[CallNote, Assignment]]:
    """A person's call notes in the assignments whose notes `membership` may read, newest first."""
    return list(db.session.execute(
        sa.select(CallNote, Assignment).join(Assignment, Assignment.id == CallNote.assignment_id)
        .where(CallNote.subject_id == subject.id, Assignment.client_org_id == subject.client_org_id,
               *scopes.assignment_conditions(membership))
        .order_by(CallNote.created_at.desc(), CallNote.id)
    ).all())


def assignments_of_subject(subject: DataSubject, membership: Membership | None) -> list[Assignment]:
    return list(db.session.scalars(
        sa.select(Assignment).join(AssignmentSubject, AssignmentSubject.assignment_id == Assignment.id)
        .where(AssignmentSubject.subject_id == subject.id, Assignment.client_org_id == subject.client_org_id,
               *scopes.assignment_conditions(membership))
        .order_by(Assignment.title)))


def members_with_role(*roles: str) -> list[tuple[Membership, User]]:
    """Members of the tenant in these roles (agents to assign, supervisors to choose)."""
    return list(db.session.execute(
        sa.select(Membership, User).join(User, User.id == Membership.user_id)
        .where(Membership.role.in_(roles)).order_by(User.display_name)
    ).all())


def agreements() -> list[Agreement]:
    """Processor agreements an assignment can point at."""
    return list(db.session.scalars(sa.select(Agreement).order_by(Agreement.number)))


def agreement_status(assignment: Assignment) -> str | None:
    if assignment.agreement_id is None:
        return None
    agreement = db.session.get(Agreement, assignment.agreement_id)
    return agreement.status if agreement is not None else None


def call_note_count(assignment: Assignment) -> int:
    return db.session.scalar(sa.select(sa.func.count(CallNote.id)).where(CallNote.assignment_id == assignment.id))


def display_name(user_id) -> str | None:
    user = db.session.get(User, user_id) if user_id is not None else None
    return user.display_name if user is not None else None
