"""Reads of assignments, and the one place that decides need-to-know (seed 004).

Who sees what:
- admin: everything of the tenant;
- supervisor: the assignments they supervise (with their subjects and call notes); all data subjects;
- agent: only the assignments they are assigned to that are *open* for them: active, and, where the tenant
  makes a processor agreement per assignment (`[settings.leadgen] agreement_per_assignment`), with that
  agreement completed. Through those, their subjects and call notes; never a subject flagged for
  verification or restricted, except on the verification page;
- client user: the assignments, subjects and call notes of its own client organisation.
`membership` None means system code (jobs, commands): the whole tenant.

Subjects' pages and API use `subject_conditions` / `can_see_subject`; assignments' use the rest.
"""
from __future__ import annotations

import uuid
from dataclasses import dataclass

import sqlalchemy as sa

from saas.core.crypto.keyring import keyring
from saas.core.tenancy import require_tenant_id
from saas.core.web import get_or_404
from saas.extensions import db
from saas.modules.accounts.models import Membership, User
from saas.modules.agreements.models import Agreement
from saas.modules.assignments.models import Assignment, AssignmentAgent, AssignmentSubject, CallNote
from saas.modules.clients.models import ClientOrganisation
from saas.modules.subjects.models import DataSubject
from saas.modules.tenants.models import Tenant

COMPLETED = "completed"
MANAGERS = ("admin", "supervisor")


def agreement_required() -> bool:
    """Whether agents need the assignment's processor agreement completed before they see its data."""
    tenant = db.session.get(Tenant, require_tenant_id())
    return bool(tenant.plugin_settings("leadgen").get("agreement_per_assignment"))


def open_assignment_ids(membership: Membership) -> sa.Select:
    """The ids of the assignments that give this agent access right now."""
    query = (sa.select(AssignmentAgent.assignment_id)
             .join(Assignment, Assignment.id == AssignmentAgent.assignment_id)
             .where(AssignmentAgent.user_id == membership.user_id, Assignment.active.is_(True)))
    if agreement_required():
        query = query.join(Agreement, Agreement.id == Assignment.agreement_id).where(Agreement.status == COMPLETED)
    return query


def usable_by_agents(*, verifying: bool = False):
    """A subject an agent may use: not flagged for verification, not restricted, not known to have left
    the company (such a contact is deleted by the next sweep). `verifying` lets the flagged ones through."""
    conditions = [DataSubject.restricted_at.is_(None), DataSubject.left_company_on.is_(None)]
    if not verifying:
        conditions.append(DataSubject.needs_verification_since.is_(None))
    return sa.and_(*conditions)


# ---- data subjects -------------------------------------------------------------------------------------

def visible_subject_ids_for(membership: Membership) -> sa.Select:
    """The ids of the subjects of this agent's open assignments (flagged ones included: filter them out
    with `usable_by_agents()` unless verifying)."""
    return sa.select(AssignmentSubject.subject_id).where(
        AssignmentSubject.assignment_id.in_(open_assignment_ids(membership)))


def subject_conditions(membership: Membership | None, *, verifying: bool = False) -> list:
    """WHERE conditions on DataSubject for what `membership` may see. `verifying`: the verification page,
    where an agent opens a flagged subject of its assignments to check it."""
    if membership is None or membership.role in MANAGERS:
        return []
    if membership.role == "client":
        return [DataSubject.client_org_id == membership.client_org_id]
    return [DataSubject.id.in_(visible_subject_ids_for(membership)), usable_by_agents(verifying=verifying)]


def can_see_subject(membership: Membership | None, subject: DataSubject, *, verifying: bool = False) -> bool:
    conditions = subject_conditions(membership, verifying=verifying)
    if not conditions:
        return True
    return db.session.scalar(
        sa.select(DataSubject.id).where(DataSubject.id == subject.id, *conditions)) is not None


# ---- assignments -----------------------------------------------------------------------------------------

def assignment_conditions(membership: Membership | None) -> list:
    """WHERE conditions on Assignment: the assignments `membership` sees (and whose call notes it reads)."""
    if membership is None or membership.role == "admin":
        return []
    if membership.role == "supervisor":
        return [Assignment.supervisor_id == membership.user_id]
    if membership.role == "client":
        return [Assignment.client_org_id == membership.client_org_id]
    return [Assignment.id.in_(open_assignment_ids(membership))]


def find_assignment(assignment_id, action: str = "assignment.read") -> Assignment:
    """The assignment if the current member may see it; otherwise 404 (a refusal within the tenant is audited)."""
    from saas.modules.subjects import queries as subjects_queries  # it imports this module

    assignment = get_or_404(Assignment, assignment_id)
    if not can_see_assignment(subjects_queries.viewer(), assignment):
        subjects_queries.refuse(action, assignment.id)
    return assignment


def can_see_assignment(membership: Membership | None, assignment: Assignment) -> bool:
    conditions = assignment_conditions(membership)
    if not conditions:
        return True
    return db.session.scalar(
        sa.select(Assignment.id).where(Assignment.id == assignment.id, *conditions)) is not None


def can_see_call_notes(membership: Membership | None, assignment: Assignment) -> bool:
    """Client, supervisor, admin always; the assignment's agents only while it is open for them."""
    return can_see_assignment(membership, assignment)


def can_manage(membership: Membership | None, assignment: Assignment | None = None) -> bool:
    """Admins manage every assignment, supervisors those they supervise (or a new one)."""
    if membership is None or membership.role == "admin":
        return True
    if membership.role != "supervisor":
        return False
    return assignment is None or assignment.supervisor_id == membership.user_id


def can_write_call_notes(membership: Membership | None, assignment: Assignment) -> bool:
    if membership is not None and membership.role == "client":
        return False
    return can_manage(membership, assignment) or (
        membership.role == "agent" and can_see_assignment(membership, assignment))


@dataclass(frozen=True)
class AssignmentRow:
    assignment: Assignment
    client_org_name: str
    supervisor_name: str | None
    agents: int
    subjects: int


def list_assignments(membership: Membership | None, *, active: bool | None = None) -> list[AssignmentRow]:
    """The assignments `membership` sees, newest first, with counts (no personal data read)."""
    conditions = assignment_conditions(membership)
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
    """The assignment's subjects; for an agent flagged and restricted ones are left out (see
    `flagged_subjects_of`)."""
    conditions = [] if membership is None or membership.role != "agent" else [usable_by_agents()]
    return _subjects(assignment, conditions)


def flagged_subjects_of(assignment: Assignment) -> list[DataSubject]:
    """Subjects waiting for verification: an agent sees them only to verify them."""
    return _subjects(assignment, [DataSubject.needs_verification_since.is_not(None),
                                  usable_by_agents(verifying=True)])


def _subjects(assignment: Assignment, conditions: list) -> list[DataSubject]:
    subjects = list(db.session.scalars(
        sa.select(DataSubject).join(AssignmentSubject, AssignmentSubject.subject_id == DataSubject.id)
        .where(AssignmentSubject.assignment_id == assignment.id, *conditions)
        .order_by(DataSubject.created_at, DataSubject.id)))
    keyring().prefetch([subject.id for subject in subjects])
    return subjects


def subject_ids_of(assignment: Assignment) -> set[uuid.UUID]:
    return set(db.session.scalars(
        sa.select(AssignmentSubject.subject_id).where(AssignmentSubject.assignment_id == assignment.id)))


def call_notes(assignment: Assignment, membership: Membership | None) -> list[CallNote]:
    """The assignment's call notes, oldest first, if `membership` may read them; an agent does not get
    the notes of a subject flagged for verification."""
    if not can_see_call_notes(membership, assignment):
        return []
    query = sa.select(CallNote).where(CallNote.assignment_id == assignment.id)
    if membership is not None and membership.role == "agent":
        query = query.join(DataSubject, DataSubject.id == CallNote.subject_id).where(usable_by_agents())
    return list(db.session.scalars(query.order_by(CallNote.created_at, CallNote.id)))


def call_notes_of_subject(subject: DataSubject, membership: Membership | None) -> list[tuple[CallNote, Assignment]]:
    """A subject's call notes in the assignments whose notes `membership` may read, newest first."""
    return list(db.session.execute(
        sa.select(CallNote, Assignment).join(Assignment, Assignment.id == CallNote.assignment_id)
        .where(CallNote.subject_id == subject.id, *assignment_conditions(membership))
        .order_by(CallNote.created_at.desc(), CallNote.id)
    ).all())


def assignments_of_subject(subject: DataSubject, membership: Membership | None) -> list[Assignment]:
    return list(db.session.scalars(
        sa.select(Assignment).join(AssignmentSubject, AssignmentSubject.assignment_id == Assignment.id)
        .where(AssignmentSubject.subject_id == subject.id, *assignment_conditions(membership))
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
