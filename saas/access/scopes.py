"""Need-to-know as SQL conditions: which records of the tenant a member may see (seed 004, sections 3 and 9).

- admin: every record of the tenant except HR files;
- supervisor: the assignments they supervise (with their call notes); the people of the client organisations of
  those assignments (all of them: the client's database "in zijn geheel", section 3) and the tenant's own
  relations (no client organisation), never HR files; the companies of the records they see;
- agent: only the assignments open for them now: active and, where the tenant makes a processor agreement
  per assignment, with that agreement completed. Through those, their usable people and call notes;
  never a person flagged for verification or restricted, except on the verification page;
- client: the assignments, people, call notes and companies of its own client organisation;
- board: the HR files (people in `roles.HR_CATEGORIES`), nothing else; documents of board-only types (staff
  files, talk notes) are the board's alone, whoever else sees their person.
`membership` None means system code (jobs, commands): the whole tenant.

The role x action matrix is in `policy`; this module narrows a role to its records. Queries, views, API
endpoints and jobs use these functions; nothing else decides who sees which record.
"""
from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.orm import aliased

from saas.core import clock
from saas.core.tenancy import require_tenant_id
from saas.extensions import db
from saas.plugins.manager import current_registry
from saas.access.roles import ADMIN, AGENT, BOARD, CLIENT, HR_CATEGORIES, SUPERVISOR
from saas.modules.agreements.models import Agreement
from saas.modules.assignments.models import Assignment, AssignmentAgent, AssignmentSubject, CallNote
from saas.modules.companies.models import Company
from saas.modules.documents.models import Document
from saas.modules.subjects.models import DataSubject
from saas.modules.tenants.models import Tenant

COMPLETED = "completed"
_NOTHING = sa.false()


def agreement_required() -> bool:
    """Whether agents need the assignment's processor agreement completed before they see its data: a
    behaviour one of the tenant's plugins declares (leadgen: a new agreement for every assignment)."""
    tenant = db.session.get(Tenant, require_tenant_id())
    return bool(current_registry().plugins_with("agreement_per_assignment", tenant.plugins or [], tenant.settings or {}))


def work_queue_in_use() -> bool:
    """Whether agents see only the records checked out to them (seed 004 s.3: "krijgen alleen die gegevens
    te zien waar ze daadwerkelijk aan werken op dat moment"): a behaviour one of the tenant's plugins declares
    (leadgen), switched off per tenant by its setting of the same name."""
    tenant = db.session.get(Tenant, require_tenant_id())
    return bool(current_registry().plugins_with("work_queue", tenant.plugins or [], tenant.settings or {}))


def checked_out_to(membership):
    """WHERE condition on AssignmentSubject: the links checked out to this agent, not yet expired."""
    return sa.and_(AssignmentSubject.checked_out_to == membership.user_id,
                   AssignmentSubject.checked_out_until > clock.now())


def open_assignment_ids(membership) -> sa.Select:
    """The ids of the assignments that give this agent access right now."""
    query = (sa.select(AssignmentAgent.assignment_id)
             .join(Assignment, Assignment.id == AssignmentAgent.assignment_id)
             .where(AssignmentAgent.user_id == membership.user_id, Assignment.active.is_(True)))
    if agreement_required():
        query = query.join(Agreement, Agreement.id == Assignment.agreement_id).where(Agreement.status == COMPLETED)
    return query


def usable_by_agents(*, verifying: bool = False):
    """A person an agent may use: not flagged for verification, not restricted, not known to have left
    the company (such a contact is deleted by the next sweep). `verifying` lets the flagged ones through."""
    conditions = [DataSubject.restricted_at.is_(None), DataSubject.left_company_on.is_(None)]
    if not verifying:
        conditions.append(DataSubject.needs_verification_since.is_(None))
    return sa.and_(*conditions)


def uses_only_usable(membership) -> bool:
    """Agents never use a flagged or restricted person; they see flagged ones only to verify them."""
    return membership is not None and membership.role == AGENT


# ---- people ----------------------------------------------------------------------------------------------

def visible_subject_ids_for(membership, *, verifying: bool = False) -> sa.Select:
    """The ids of the people of this agent's open assignments who belong to the assignment's client
    organisation (a link to anyone else is a broken record: never shown). With the work queue, only those
    checked out to the agent now; `verifying` also lets through the people flagged for verification (seed
    004 s.4.2: the agent is asked to check them; they are never handed out for use)."""
    person = aliased(DataSubject)  # its own alias: not correlated with an outer query on DataSubject
    query = (sa.select(AssignmentSubject.subject_id)
             .join(Assignment, Assignment.id == AssignmentSubject.assignment_id)
             .join(person, person.id == AssignmentSubject.subject_id)
             .where(AssignmentSubject.assignment_id.in_(open_assignment_ids(membership)),
                    person.client_org_id == Assignment.client_org_id))
    if work_queue_in_use():   # only what is checked out to them now, not the whole assignment
        held = checked_out_to(membership)
        query = query.where(sa.or_(held, person.needs_verification_since.is_not(None)) if verifying else held)
    return query


def _not_hr():
    return DataSubject.category.not_in(sorted(HR_CATEGORIES))


def supervised_client_org_ids(membership) -> sa.Select:
    """The client organisations of the assignments this supervisor supervises (active or not: the supervisor
    keeps the client's database after the calls end, as the client does)."""
    return (sa.select(Assignment.client_org_id)
            .where(Assignment.supervisor_id == membership.user_id, Assignment.client_org_id.is_not(None)))


def _supervised_or_own(membership, column):
    """A record of no client organisation (the tenant's own relations) or of one this supervisor supervises an
    assignment for. Seed 004, section 3: "Een door de opdrachtgever geüploade database is in zijn geheel alleen
    in te zien door de opdrachtgever, door de interne opdrachtbegeleider van Leadhunter en door de
    systeembeheerder": the supervisor of the assignment, not every supervisor."""
    return sa.or_(column.is_(None), column.in_(supervised_client_org_ids(membership)))


def subject_conditions(membership, *, verifying: bool = False) -> list:
    """WHERE conditions on DataSubject for what `membership` may see. `verifying`: the verification page,
    where an agent opens a flagged person of its assignments to check it."""
    if membership is None:
        return []
    role = membership.role
    if role == ADMIN:
        return [_not_hr()]
    if role == SUPERVISOR:
        return [_supervised_or_own(membership, DataSubject.client_org_id), _not_hr()]
    if role == BOARD:
        return [DataSubject.category.in_(sorted(HR_CATEGORIES))]
    if role == CLIENT:
        return [DataSubject.client_org_id == membership.client_org_id, _not_hr()]
    if role == AGENT:
        return [DataSubject.id.in_(visible_subject_ids_for(membership, verifying=verifying)),
                usable_by_agents(verifying=verifying),
                _not_hr()]
    return [_NOTHING]


def category_in_scope(membership, category: str) -> bool:
    """Whether a person of this category stays within what `membership` sees: HR files for the board
    only, everything else for everyone but the board."""
    if membership is None:
        return True
    return (category in HR_CATEGORIES) == (membership.role == BOARD)


def _client_orgs_kept_by(membership) -> set | None:
    """The client organisations (None: the tenant's own relations) a member keeps people and companies in;
    None when not limited. A client only its own; a supervisor those of the assignments they supervise, or none."""
    if membership is None or membership.role in (ADMIN, BOARD, AGENT):
        return None  # agents write no people; the board's HR files are the tenant's own anyway
    if membership.role == CLIENT:
        return {membership.client_org_id}
    if membership.role == SUPERVISOR:
        return {None, *db.session.scalars(supervised_client_org_ids(membership))}
    return set()


def client_org_in_scope(membership, client_org_id) -> bool:
    """Whether a record of this client organisation (None: the tenant's own) stays within what `membership` sees."""
    kept = _client_orgs_kept_by(membership)
    return kept is None or client_org_id in kept


def client_orgs_in_scope(membership, organisations) -> list:
    """Of `organisations` (records with `id`), those a member may put a person or company in."""
    kept = _client_orgs_kept_by(membership)
    return [org for org in organisations if kept is None or org.id in kept]


def own_client_org(membership):
    """The client organisation a member's records always belong to (a client user's), else None."""
    if membership is not None and membership.role == CLIENT:
        return membership.client_org_id
    return None


def assignment_count_of_subject(subject: DataSubject) -> int:
    return db.session.scalar(sa.select(sa.func.count()).select_from(AssignmentSubject)
                             .where(AssignmentSubject.subject_id == subject.id))


def can_see_subject(membership, subject: DataSubject, *, verifying: bool = False) -> bool:
    return _exists(DataSubject, subject.id, subject_conditions(membership, verifying=verifying))


# ---- assignments and call notes ------------------------------------------------------------------------

def assignment_conditions(membership) -> list:
    """WHERE conditions on Assignment: the assignments `membership` sees (and whose call notes it reads)."""
    if membership is None or membership.role == ADMIN:
        return []
    if membership.role == SUPERVISOR:
        return [Assignment.supervisor_id == membership.user_id]
    if membership.role == CLIENT:
        return [Assignment.client_org_id == membership.client_org_id]
    if membership.role == AGENT:
        return [Assignment.id.in_(open_assignment_ids(membership))]
    return [_NOTHING]


def can_see_assignment(membership, assignment: Assignment) -> bool:
    return _exists(Assignment, assignment.id, assignment_conditions(membership))


def can_manage_assignment(membership, assignment: Assignment | None = None) -> bool:
    """Admins manage every assignment, supervisors those they supervise (or a new one)."""
    if membership is None or membership.role == ADMIN:
        return True
    if membership.role != SUPERVISOR:
        return False
    return assignment is None or assignment.supervisor_id == membership.user_id


def can_write_call_notes(membership, assignment: Assignment) -> bool:
    """Managers of the assignment, and its agents while it is open for them."""
    if membership is None:
        return True
    if membership.role == AGENT:
        return can_see_assignment(membership, assignment)
    return membership.role in (ADMIN, SUPERVISOR) and can_manage_assignment(membership, assignment)


def assignment_people(assignment: Assignment) -> list:
    """WHERE conditions on DataSubject: the people of an assignment who may appear in it, those of its client
    organisation (seed 004: a client's database is its own), never the tenant's own staff or applicants."""
    linked = sa.select(AssignmentSubject.subject_id).where(AssignmentSubject.assignment_id == assignment.id)
    return [DataSubject.id.in_(linked), DataSubject.client_org_id == assignment.client_org_id]


def database_in_scope(membership, client_org_id) -> bool:
    """Whether `membership` sees this client organisation's whole database (seed 004 s.3): the client its
    own, the supervisor of one of its assignments, the administrator every one; nobody else."""
    if membership is None or membership.role == ADMIN:
        return True
    if membership.role == CLIENT:
        return membership.client_org_id == client_org_id
    if membership.role == SUPERVISOR:
        return client_org_id in set(db.session.scalars(supervised_client_org_ids(membership)))
    return False


# ---- companies -------------------------------------------------------------------------------------------

def company_conditions(membership) -> list:
    """WHERE conditions on Company. A client sees a company only through records of its own organisation:
    the company is the organisation's own, or one of the organisation's people works there. A supervisor, the
    same way, through the records they see: the company is the tenant's own (no client organisation: general
    business data, seed 004 section 4.1) or of a client organisation they supervise an assignment for, or one of
    the people they see works there."""
    if membership is None or membership.role in (ADMIN, AGENT):
        return []
    if membership.role == SUPERVISOR:
        person = aliased(DataSubject)
        seen_people = sa.select(person.company_id).where(
            person.company_id.is_not(None), person.category.not_in(sorted(HR_CATEGORIES)),
            sa.or_(person.client_org_id.is_(None), person.client_org_id.in_(supervised_client_org_ids(membership))))
        return [sa.or_(_supervised_or_own(membership, Company.client_org_id), Company.id.in_(seen_people))]
    if membership.role == CLIENT:
        person = aliased(DataSubject)
        own_people = sa.select(person.company_id).where(
            person.client_org_id == membership.client_org_id, person.company_id.is_not(None), person.category.not_in(sorted(HR_CATEGORIES)))
        return [sa.or_(Company.client_org_id == membership.client_org_id, Company.id.in_(own_people))]
    return [_NOTHING]


def can_see_company(membership, company: Company) -> bool:
    return _exists(Company, company.id, company_conditions(membership))


# ---- documents -------------------------------------------------------------------------------------------

def document_conditions(membership) -> list:
    """WHERE conditions on Document, besides seeing its person: board-only types (staff files, talk notes;
    seed 004 section 9 "alleen zichtbaar voor de bestuurders") for the board only."""
    if membership is None or membership.role == BOARD:
        return []
    return [Document.board_only.is_(False)]


def document_type_in_scope(membership, board_only: bool) -> bool:
    """Whether a member may file or read documents of a type: board-only types for the board only."""
    return membership is None or not board_only or membership.role == BOARD


def can_see_document(membership, document: Document) -> bool:
    subject = db.session.get(DataSubject, document.subject_id)
    return (subject is not None and can_see_subject(membership, subject)
            and _exists(Document, document.id, document_conditions(membership)))


# ---- any record ---------------------------------------------------------------------------------------------

_KINDS = {DataSubject: "person", Assignment: "assignment", Company: "company", CallNote: "call_note",
          Document: "document"}


def kind_of(record) -> str:
    for model, kind in _KINDS.items():
        if isinstance(record, model):
            return kind
    raise TypeError(f"no access scope for {type(record).__name__}")


def in_scope(membership, action: str, record) -> bool:
    """Need-to-know for one record, after the matrix allowed the action on its kind."""
    if isinstance(record, DataSubject):
        return can_see_subject(membership, record, verifying=action == "verify")
    if isinstance(record, Assignment):
        if action == "erase" and membership is not None and membership.role == CLIENT:
            return can_see_assignment(membership, record)   # seed 004 s.4.3: the client deletes its own
        if action in ("create", "edit", "erase", "manage"):
            return can_see_assignment(membership, record) and can_manage_assignment(membership, record)
        if action == "note":
            return can_write_call_notes(membership, record)
        return can_see_assignment(membership, record)
    if isinstance(record, Company):
        return can_see_company(membership, record)
    if isinstance(record, Document):
        return can_see_document(membership, record)
    if isinstance(record, CallNote):
        assignment = db.session.get(Assignment, record.assignment_id)
        subject = db.session.get(DataSubject, record.subject_id)
        return (assignment is not None and subject is not None and can_see_assignment(membership, assignment)
                and can_see_subject(membership, subject))
    raise TypeError(f"no access scope for {type(record).__name__}")


def _exists(model, object_id, conditions: list) -> bool:
    if not conditions:
        return True
    return db.session.scalar(sa.select(model.id).where(model.id == object_id, *conditions)) is not None
