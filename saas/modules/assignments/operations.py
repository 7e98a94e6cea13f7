"""Writes of assignments, their agents, subjects and call notes. Callers commit.

Who may write is decided by the access policy (`saas.access`): admins manage every assignment, a
supervisor those they supervise; call notes are written by them and by the assignment's agents while it is
open for them, on people they may use. Refusals are 404 and audited; values that break a rule raise
`AssignmentRejected` before anything is written. Audit lines hold ids and counts, never a note's text.

Invariants kept here, whatever the caller (portal, API, job): the people of an assignment belong to its client
organisation (never the tenant's own staff or applicants, who have none), and an assignment that has people
or call notes stays with its client organisation.
"""
from __future__ import annotations

import uuid
from datetime import datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from flask_babel import lazy_gettext as _l

from saas.core import clock
from saas.extensions import db
from saas.access import policy as access
from saas.access import scopes
from saas.modules.accounts.models import Membership
from saas.modules.agreements.models import Agreement
from saas.modules.assignments import queries
from saas.modules.assignments.models import RESULTS, Assignment, AssignmentAgent, AssignmentSubject, CallNote
from saas.modules.audit import operations as audit
from saas.modules.clients.models import ClientOrganisation
from saas.modules.subjects import queries as subjects_queries
from saas.modules.subjects.models import DataSubject
from saas.modules.subjects.schemas import Rejected

NOTE_MAX = 4000
FIELDS = ("title", "client_org_id", "supervisor_id", "active", "starts_on", "ends_on", "agreement_id")


class AssignmentRejected(Rejected):
    """An assignment's values break a rule."""


def require_manager(action: str, assignment: Assignment | None = None) -> None:
    """`action` ("create", "edit", "erase", "manage") on this assignment, or 404 with an audited refusal."""
    access.require(action, assignment if assignment is not None else "assignment")


def _member_role(user_id) -> str | None:
    return db.session.scalar(sa.select(Membership.role).where(Membership.user_id == user_id))


def _problems(values: dict) -> dict:
    problems: dict[str, list] = {}
    title = values.get("title")
    if not title or len(title) > 200:
        problems["title"] = [_l("Give a title (at most 200 characters).")]
    org = db.session.get(ClientOrganisation, values["client_org_id"]) if values.get("client_org_id") else None
    if org is None:
        problems["client_org_id"] = [_l("Choose one of the client organisations.")]
    supervisor = values.get("supervisor_id")
    if supervisor is not None and _member_role(supervisor) not in access.roles_for("manage", "assignment"):
        problems["supervisor_id"] = [_l("Choose a supervisor or administrator of this organisation.")]
    agreement = db.session.get(Agreement, values["agreement_id"]) if values.get("agreement_id") else None
    if values.get("agreement_id") and agreement is None:
        problems["agreement_id"] = [_l("Unknown processor agreement.")]
    elif agreement is not None and org is not None and agreement.client_org_id not in (None, org.id):
        problems["agreement_id"] = [_l("This processor agreement is with another client organisation.")]
    starts, ends = values.get("starts_on"), values.get("ends_on")
    if starts is not None and ends is not None and ends < starts:
        problems["ends_on"] = [_l("The end date lies before the start date.")]
    return problems


def _check(values: dict) -> None:
    problems = _problems(values)
    if problems:
        raise AssignmentRejected(problems)


def create_assignment(data: dict) -> Assignment:
    """A new assignment; a supervisor who makes one supervises it."""
    require_manager("create")
    member = subjects_queries.viewer()
    data = {"active": True, **data, "title": " ".join((data.get("title") or "").split())}
    if not access.may_choose_supervisor(member):
        data["supervisor_id"] = member.user_id
    _check_client_org_handed_out(member, data.get("client_org_id"))
    _check(data)
    assignment = Assignment(**data)
    db.session.add(assignment)
    db.session.flush()
    audit.record("assignment.create", "assignment", assignment.id,
                 detail={"client_org_id": str(assignment.client_org_id)})
    return assignment


def update_assignment(assignment: Assignment, data: dict) -> Assignment:
    require_manager("edit", assignment)
    member = subjects_queries.viewer()
    if "title" in data:
        data = {**data, "title": " ".join((data["title"] or "").split())}
    supervisor = data.get("supervisor_id", assignment.supervisor_id)
    if not access.may_choose_supervisor(member) and supervisor != member.user_id:
        raise AssignmentRejected({"supervisor_id": [_l("Only an administrator hands an assignment to another "
                                                        "supervisor.")]})
    if "client_org_id" in data and data["client_org_id"] != assignment.client_org_id:
        if has_records(assignment):
            raise AssignmentRejected({"client_org_id": [_l(
                "This assignment has people or call notes of its client organisation: it cannot move to another "
                "client organisation. Make a new assignment instead.")]})
        _check_client_org_handed_out(member, data["client_org_id"])
    _check({**{name: getattr(assignment, name) for name in FIELDS}, **data})
    for name, value in data.items():
        setattr(assignment, name, value)
    db.session.flush()
    audit.record("assignment.update", "assignment", assignment.id, detail={"fields": sorted(data)})
    return assignment


def _check_client_org_handed_out(member, client_org_id) -> None:
    """An assignment gives its supervisor the client's whole database (seed 004, section 3): only an
    administrator starts one for, or moves one to, a client organisation the supervisor does not yet serve."""
    if client_org_id is not None and not scopes.client_org_in_scope(member, client_org_id):
        raise AssignmentRejected({"client_org_id": [_l(
            "Only an administrator starts an assignment for a client organisation you do not supervise yet: "
            "it gives its supervisor that client's whole database.")]})


def has_records(assignment: Assignment) -> bool:
    """Whether people or call notes hang on the assignment (then its client organisation is fixed)."""
    return any(db.session.scalar(sa.select(sa.func.count()).select_from(model).where(
        model.assignment_id == assignment.id)) for model in (AssignmentSubject, CallNote))


def set_active(assignment: Assignment, active: bool) -> Assignment:
    """Inactive: the agents lose access to its subjects and call notes (the notes stay for the others)."""
    require_manager("edit", assignment)
    if assignment.active != active:
        assignment.active = active
        db.session.flush()
        audit.record("assignment.activate" if active else "assignment.deactivate", "assignment", assignment.id)
    return assignment


def delete_assignment(assignment: Assignment) -> int:
    """Delete the assignment with its call notes (seed 004: "deleted with the assignment"), agents and subject
    links; the subjects themselves stay. Returns how many call notes went."""
    require_manager("erase", assignment)
    assignment_id = assignment.id
    notes = db.session.execute(sa.delete(CallNote).where(CallNote.assignment_id == assignment_id)).rowcount
    for model in (AssignmentAgent, AssignmentSubject):
        db.session.execute(sa.delete(model).where(model.assignment_id == assignment_id))
    db.session.delete(assignment)
    db.session.flush()
    audit.record("assignment.delete", "assignment", assignment_id, detail={"call_notes_deleted": notes})
    return notes


def add_agent(assignment: Assignment, user_id: uuid.UUID) -> AssignmentAgent:
    require_manager("manage", assignment)
    if _member_role(user_id) != "agent":
        raise AssignmentRejected({"user_id": [_l("Choose an agent of this organisation.")]})
    existing = db.session.scalar(sa.select(AssignmentAgent).where(
        AssignmentAgent.assignment_id == assignment.id, AssignmentAgent.user_id == user_id))
    if existing is not None:
        return existing
    link = AssignmentAgent(assignment_id=assignment.id, user_id=user_id)
    db.session.add(link)
    db.session.flush()
    audit.record("assignment.agent_add", "assignment", assignment.id, detail={"user_id": str(user_id)})
    return link


def remove_agent(assignment: Assignment, user_id: uuid.UUID) -> bool:
    require_manager("manage", assignment)
    removed = db.session.execute(sa.delete(AssignmentAgent).where(
        AssignmentAgent.assignment_id == assignment.id, AssignmentAgent.user_id == user_id)).rowcount
    if removed:
        audit.record("assignment.agent_remove", "assignment", assignment.id, detail={"user_id": str(user_id)})
    return bool(removed)


def add_subjects(assignment: Assignment, subject_ids) -> int:
    """Link people to the assignment: only the client organisation's own people, so one client's database
    never shows up in another client's assignment, and the tenant's own staff and applicants (no client
    organisation) never show up in any. Returns how many were new."""
    require_manager("manage", assignment)
    wanted = list(dict.fromkeys(subject_ids))
    found = dict(db.session.execute(
        sa.select(DataSubject.id, DataSubject.client_org_id).where(DataSubject.id.in_(wanted))).all())
    wrong = [sid for sid in wanted if sid not in found or found[sid] != assignment.client_org_id]
    if wrong:
        raise AssignmentRejected({"subject_ids": [_l("%(count)s of these data subjects are unknown or do not "
                                                     "belong to the assignment's client organisation.",
                                                     count=len(wrong))]})
    linked = queries.subject_ids_of(assignment)
    new = [sid for sid in wanted if sid not in linked]
    db.session.add_all(AssignmentSubject(assignment_id=assignment.id, subject_id=sid) for sid in new)
    db.session.flush()
    if new:
        audit.record("assignment.subjects_add", "assignment", assignment.id, detail={"count": len(new)})
    return len(new)


def remove_subject(assignment: Assignment, subject_id: uuid.UUID) -> bool:
    require_manager("manage", assignment)
    removed = db.session.execute(sa.delete(AssignmentSubject).where(
        AssignmentSubject.assignment_id == assignment.id, AssignmentSubject.subject_id == subject_id)).rowcount
    if removed:
        audit.record("assignment.subject_remove", "assignment", assignment.id, detail={"subject_id": str(subject_id)})
    return bool(removed)


def add_call_note(assignment: Assignment, subject_id: uuid.UUID, body: str, result: str | None = None) -> CallNote:
    """A note of a call with one of the assignment's subjects, encrypted with that subject's key, with what the
    call came to (`result`, one of `RESULTS`: plain, so the notes can be sorted by it)."""
    member = subjects_queries.viewer()
    access.require("note", assignment)
    body = (body or "").strip()
    problems = {}
    if not body or len(body) > NOTE_MAX:
        problems["body"] = [_l("Write the note (at most %(max)s characters).", max=NOTE_MAX)]
    if result is not None and result not in RESULTS:
        problems["result"] = [_l("Choose one of the results.")]
    if db.session.scalar(sa.select(DataSubject.id).where(
            DataSubject.id == subject_id, *scopes.assignment_people(assignment),
            *scopes.subject_conditions(member))) is None:
        problems["subject_id"] = [_l("Choose one of the assignment's data subjects that may be used.")]
    if problems:
        raise AssignmentRejected(problems)
    note = CallNote(assignment_id=assignment.id, subject_id=subject_id, result=result,
                    author_id=member.user_id if member is not None else None)
    note.body = body
    db.session.add(note)
    db.session.flush()
    audit.record("call_note.create", "call_note", note.id,
                 detail={"assignment_id": str(assignment.id), "subject_id": str(subject_id)})
    return note


# ---- the work queue (seed 004 s.3: an agent sees only what they work on at that moment) -------------------

QUEUE_MAX = 50
LOCAL_ZONE = ZoneInfo("Europe/Amsterdam")


def end_of_day(moment: datetime) -> datetime:
    """The next local midnight after `moment`, in UTC as stored (SQLite keeps no zone): a checked-out record
    returns to the queue then."""
    local = moment.astimezone(LOCAL_ZONE)
    return datetime.combine(local.date() + timedelta(days=1), datetime.min.time(), LOCAL_ZONE).astimezone(timezone.utc)


def check_out_next(assignment: Assignment, count: int) -> int:
    """Hand the current agent the next `count` free records of an open assignment, until the end of the day.
    A record is free when nobody holds it or their hold expired; flagged, restricted and departed people are
    never handed out. Rows are locked and skipped when another agent takes them at the same moment
    (PostgreSQL; SQLite runs one writer). Returns how many were checked out."""
    member = subjects_queries.viewer()
    access.require("note", assignment)
    if not 1 <= count <= QUEUE_MAX:
        raise AssignmentRejected({"count": [_l("Ask for 1 to %(max)s records.", max=QUEUE_MAX)]})
    if member is None or not assignment.active:
        return 0
    now = clock.now()
    free = (sa.select(AssignmentSubject).join(DataSubject, DataSubject.id == AssignmentSubject.subject_id)
            .where(AssignmentSubject.assignment_id == assignment.id,
                   DataSubject.client_org_id == assignment.client_org_id, scopes.usable_by_agents(),
                   sa.or_(AssignmentSubject.checked_out_to.is_(None), AssignmentSubject.checked_out_until <= now))
            .order_by(DataSubject.created_at, AssignmentSubject.id).limit(count)
            .with_for_update(of=AssignmentSubject, skip_locked=True))
    links = list(db.session.scalars(free))
    until = end_of_day(now)
    for link in links:
        link.checked_out_to, link.checked_out_until = member.user_id, until
    db.session.flush()
    if links:
        audit.record("assignment.check_out", "assignment", assignment.id, detail={"count": len(links)})
    return len(links)


def release_checked_out(assignment: Assignment) -> int:
    """Give the current agent's records of this assignment back to the queue."""
    member = subjects_queries.viewer()
    access.require("note", assignment)
    if member is None:
        return 0
    released = db.session.execute(
        sa.update(AssignmentSubject).where(AssignmentSubject.assignment_id == assignment.id,
                                           AssignmentSubject.checked_out_to == member.user_id)
        .values(checked_out_to=None, checked_out_until=None).execution_options(synchronize_session=False)).rowcount
    if released:
        audit.record("assignment.release", "assignment", assignment.id, detail={"count": released})
    return released
