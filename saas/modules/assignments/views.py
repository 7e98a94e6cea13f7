"""Assignment pages: list, detail (agents, subjects, call notes), add, edit, (de)activate and delete.

Who may do what is the access policy's (`saas.access`): what a member may not see or do is 404. Admins manage every assignment,
supervisors those they supervise; agents write call notes on the open assignments they work on; client users
read their own organisation's assignments and notes. Every page that shows personal data is audited.
"""
from __future__ import annotations

import uuid

import sqlalchemy as sa
from flask import abort, flash, g, redirect, render_template, request, url_for
from flask_babel import gettext as _

from saas.core import transaction
from saas.core.web import tenant_blueprint
from saas.extensions import db
from saas import access
from saas.access import policy, scopes
from saas.modules.accounts import queries as accounts_queries
from saas.core.forms import EmptyForm
from saas.modules.assignments import operations, queries
from saas.modules.assignments.forms import (
    RESULT_LABELS, AgentForm, AssignmentForm, CallNoteForm, QueueForm, SubjectsForm,
)
from saas.modules.audit import operations as audit
from saas.modules.subjects.forms import add_errors
from saas.modules.erasure import queries as erasure_queries
from saas.modules.subjects.models import DataSubject

bp = tenant_blueprint("assignments", __name__, template_folder="templates")

CANDIDATES_SHOWN = 500


@bp.get("/assignments")
@access.requires("list", "assignment")
def index():
    status = request.args.get("status")
    active = {"active": True, "inactive": False}.get(status)
    rows = queries.list_assignments(g.membership, active=active)
    return render_template("assignments/index.html", rows=rows, status=status if active is not None else None,
                           can_create=access.can(g.membership, "create", "assignment"))


def _form(**kwargs) -> AssignmentForm:
    form = AssignmentForm(**kwargs)
    organisations = scopes.client_orgs_in_scope(g.membership, accounts_queries.client_organisations())
    supervisors = queries.members_with_role(*sorted(policy.roles_for("manage", "assignment")))
    form.set_choices(organisations, supervisors, queries.agreements(),
                     choose_supervisor=policy.may_choose_supervisor(g.membership))
    return form


def _render_form(form: AssignmentForm, assignment):
    status = 400 if form.is_submitted() else 200
    return render_template("assignments/form.html", form=form, assignment=assignment), status


@bp.route("/assignments/new", methods=["GET", "POST"])
@access.requires("create", "assignment")
def create():
    form = _form()
    if not form.validate_on_submit():
        return _render_form(form, None)
    try:
        assignment = operations.create_assignment(form.assignment_data())
    except operations.AssignmentRejected as exc:
        db.session.rollback()
        add_errors(form, exc.errors, AssignmentForm.FIELD_NAMES)
        return _render_form(form, None)
    flash(_("The assignment was added."), "success")
    return redirect(url_for(".show", assignment_id=assignment.id))


@bp.route("/assignments/<assignment_id>/edit", methods=["GET", "POST"])
@access.requires("edit", "assignment")
def edit(assignment_id):
    assignment = queries.find_assignment(assignment_id, "edit")
    if request.method == "GET":
        return _render_form(_form(obj=assignment, client_org=str(assignment.client_org_id),
                                  supervisor=str(assignment.supervisor_id or ""),
                                  agreement=str(assignment.agreement_id or "")), assignment)
    form = _form()
    if not form.validate():
        return _render_form(form, assignment)
    changes = {k: v for k, v in form.assignment_data().items() if getattr(assignment, k) != v}
    try:
        if changes:
            operations.update_assignment(assignment, changes)
    except operations.AssignmentRejected as exc:
        db.session.rollback()
        add_errors(form, exc.errors, AssignmentForm.FIELD_NAMES)
        return _render_form(form, queries.find_assignment(assignment_id, "edit"))
    flash(_("The changes were saved.") if changes else _("Nothing was changed."), "success")
    return redirect(url_for(".show", assignment_id=assignment.id))


# ---- the detail page and what is done on it ------------------------------------------------------------

def _candidates(assignment, linked: set) -> list[DataSubject]:
    """People who could be added: the client organisation's own, not linked yet (never the tenant's own
    staff or applicants, who belong to no client organisation)."""
    found = list(db.session.scalars(
        sa.select(DataSubject).where(
            DataSubject.client_org_id == assignment.client_org_id, *scopes.subject_conditions(g.membership),
            DataSubject.id.not_in(linked) if linked else sa.true(), DataSubject.restricted_at.is_(None))
        .order_by(DataSubject.created_at.desc(), DataSubject.id).limit(CANDIDATES_SHOWN)))
    gone = erasure_queries.gone_ids([subject.id for subject in found])   # fetches the others' keys
    return [subject for subject in found if subject.id not in gone] if gone else found


def _render_show(assignment, note_form=None, subjects_form=None, agent_form=None, status=200):
    member = g.membership
    manage = access.can(member, "manage", assignment)
    subjects = queries.subjects_of(assignment, member)
    # Flagged people are listed apart for those who verify them but may not use them yet (agents).
    flagged = queries.flagged_subjects_of(assignment, member) if scopes.uses_only_usable(member) else []
    sort = request.args.get("sort") if request.args.get("sort") in queries.NOTE_SORTS else "date"
    notes = queries.call_notes(assignment, member, sort)
    names = {subject.id: subject.full_name for subject in subjects}
    can_write = access.can(member, "note", assignment)
    if can_write:
        note_form = note_form or CallNoteForm()
        note_form.subject.choices = [(str(s.id), names[s.id] or _("(no name)")) for s in subjects]
    candidates = []
    if manage:
        candidates = _candidates(assignment, {s.id for s in subjects} | queries.subject_ids_of(assignment))
        subjects_form = subjects_form or SubjectsForm()
        subjects_form.subjects.choices = [(str(s.id), f"{s.full_name or _('(no name)')} ({s.category})")
                                          for s in candidates]
        agent_form = agent_form or AgentForm()
        assigned = {user.id for _link, user in queries.agents_of(assignment)}
        agent_form.user.choices = [(str(m.user_id), u.display_name) for m, u in queries.members_with_role("agent")
                                   if u.id not in assigned]
    audit.record("assignment.view", "assignment", assignment.id, detail={
        "subjects": len(subjects) + len(flagged) + len(candidates), "call_notes": len(notes)})
    page = render_template(
        "assignments/show.html", assignment=assignment, subjects=subjects, flagged=flagged, notes=notes,
        names=names, agents=queries.agents_of(assignment), manage=manage, can_write=can_write,
        note_form=note_form, subjects_form=subjects_form, agent_form=agent_form, action_form=EmptyForm(),
        organisation=accounts_queries.client_organisation_name(assignment.client_org_id),
        agreement_state=queries.agreement_status(assignment), agreement_required=queries.agreement_required(),
        supervisor=queries.display_name(assignment.supervisor_id), works_on_it=scopes.uses_only_usable(member),
        sort=sort, note_companies=queries.company_names_of({note.subject_id for note in notes}),
        result_labels=RESULT_LABELS, work_queue=scopes.uses_only_usable(member) and scopes.work_queue_in_use(),
    )
    if status >= 400:
        transaction.persist_now()   # the page shows personal data: its audit line lands even with a refused form
    return page, status


@bp.get("/assignments/<assignment_id>")
@access.requires("view", "assignment")
def show(assignment_id):
    return _render_show(queries.find_assignment(assignment_id, "view"))


def _managed(assignment_id, action: str = "manage"):
    assignment = queries.find_assignment(assignment_id, action)
    if not EmptyForm().validate():
        abort(400)
    return assignment


@bp.post("/assignments/<assignment_id>/activate")
@access.requires("edit", "assignment")
def activate(assignment_id):
    operations.set_active(_managed(assignment_id, "edit"), True)
    flash(_("The assignment is active: its agents can work on it."), "success")
    return redirect(url_for(".show", assignment_id=assignment_id))


@bp.post("/assignments/<assignment_id>/deactivate")
@access.requires("edit", "assignment")
def deactivate(assignment_id):
    operations.set_active(_managed(assignment_id, "edit"), False)
    flash(_("The assignment is inactive: its agents no longer see its data."), "success")
    return redirect(url_for(".show", assignment_id=assignment_id))


@bp.post("/assignments/<assignment_id>/agents")
@access.requires("manage", "assignment")
def add_agent(assignment_id):
    assignment = queries.find_assignment(assignment_id, "manage")
    form = AgentForm()
    form.user.choices = [(str(m.user_id), u.display_name) for m, u in queries.members_with_role("agent")]
    if not form.validate():
        return _render_show(assignment, agent_form=form, status=400)
    operations.add_agent(assignment, uuid.UUID(form.user.data))
    flash(_("The agent was assigned."), "success")
    return redirect(url_for(".show", assignment_id=assignment_id))


@bp.post("/assignments/<assignment_id>/agents/<user_id>/remove")
@access.requires("manage", "assignment")
def remove_agent(assignment_id, user_id):
    assignment = _managed(assignment_id)
    if not operations.remove_agent(assignment, _uuid_or_404(user_id)):
        abort(404)
    flash(_("The agent no longer works on this assignment."), "success")
    return redirect(url_for(".show", assignment_id=assignment_id))


@bp.post("/assignments/<assignment_id>/subjects")
@access.requires("manage", "assignment")
def add_subjects(assignment_id):
    assignment = queries.find_assignment(assignment_id, "manage")
    form = SubjectsForm()
    form.subjects.choices = [(str(s.id), "") for s in _candidates(assignment, queries.subject_ids_of(assignment))]
    if not form.validate():
        return _render_show(assignment, subjects_form=form, status=400)
    try:
        added = operations.add_subjects(assignment, [uuid.UUID(value) for value in form.subjects.data])
    except operations.AssignmentRejected as exc:
        db.session.rollback()
        add_errors(form, exc.errors, {"subject_ids": "subjects"})
        return _render_show(queries.find_assignment(assignment_id), subjects_form=form, status=400)
    flash(_("%(count)s data subjects were added.", count=added), "success")
    return redirect(url_for(".show", assignment_id=assignment_id))


@bp.post("/assignments/<assignment_id>/subjects/<subject_id>/remove")
@access.requires("manage", "assignment")
def remove_subject(assignment_id, subject_id):
    assignment = _managed(assignment_id)
    if not operations.remove_subject(assignment, _uuid_or_404(subject_id)):
        abort(404)
    flash(_("The data subject was taken off this assignment."), "success")
    return redirect(url_for(".show", assignment_id=assignment_id))


@bp.post("/assignments/<assignment_id>/notes")
@access.requires("note", "assignment")
def add_note(assignment_id):
    assignment = queries.find_assignment(assignment_id, "note")
    form = CallNoteForm()
    form.subject.choices = [(str(s.id), "") for s in queries.subjects_of(assignment, g.membership)]
    if not form.validate():
        return _render_show(assignment, note_form=form, status=400)
    try:
        operations.add_call_note(assignment, uuid.UUID(form.subject.data), form.body.data, form.result.data)
    except operations.AssignmentRejected as exc:
        db.session.rollback()
        add_errors(form, exc.errors, {"subject_id": "subject"})
        return _render_show(queries.find_assignment(assignment_id), note_form=form, status=400)
    flash(_("The call note was saved."), "success")
    return redirect(url_for(".show", assignment_id=assignment_id))


@bp.route("/assignments/<assignment_id>/delete", methods=["GET", "POST"])
@access.requires("erase", "assignment")
def delete(assignment_id):
    assignment = queries.find_assignment(assignment_id, "erase")
    form = EmptyForm()
    if not form.validate_on_submit():
        status = 400 if form.is_submitted() else 200
        return render_template("assignments/delete.html", assignment=assignment, form=form,
                               notes=queries.call_note_count(assignment)), status
    notes = operations.delete_assignment(assignment)
    flash(_("The assignment and its %(count)s call notes were deleted.", count=notes), "success")
    return redirect(url_for(".index"))


# ---- the work queue ------------------------------------------------------------------------------------------

def _render_queue(assignment, form, status=200):
    rows = queries.checked_out(assignment, g.membership)
    audit.record("assignment.queue.view", "assignment", assignment.id, detail={"subjects": len(rows)})
    page = render_template("assignments/queue.html", assignment=assignment, rows=rows, form=form,
                           action_form=EmptyForm(), free=queries.queue_size(assignment))
    if status >= 400:
        transaction.persist_now()   # personal data was shown: its audit line lands with a refused form
    return page, status


@bp.get("/assignments/<assignment_id>/queue")
@access.requires("note", "assignment")
def queue(assignment_id):
    """The records checked out to the current agent, and a button for the next ones."""
    return _render_queue(queries.find_assignment(assignment_id, "note"), QueueForm())


@bp.post("/assignments/<assignment_id>/queue")
@access.requires("note", "assignment")
def check_out(assignment_id):
    assignment = queries.find_assignment(assignment_id, "note")
    form = QueueForm()
    if not form.validate():
        return _render_queue(assignment, form, 400)
    taken = operations.check_out_next(assignment, form.count.data)
    if taken:
        flash(_("%(count)s records are yours until the end of the day.", count=taken), "success")
    else:
        flash(_("No records are free in this assignment right now."), "warning")
    return redirect(url_for(".queue", assignment_id=assignment_id))


@bp.post("/assignments/<assignment_id>/queue/release")
@access.requires("note", "assignment")
def release(assignment_id):
    assignment = _managed(assignment_id, "note")
    released = operations.release_checked_out(assignment)
    flash(_("%(count)s records went back to the queue.", count=released), "success")
    return redirect(url_for(".queue", assignment_id=assignment_id))


def _uuid_or_404(value) -> uuid.UUID:
    try:
        return uuid.UUID(str(value))
    except ValueError:
        abort(404)
