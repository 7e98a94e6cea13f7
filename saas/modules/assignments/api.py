"""/api/v1/<tenant>/assignments: assignments (opdrachten) with their agents, subjects and call notes.

Need-to-know as in the portal, from the one access policy (`saas.access`): admins see every
assignment, supervisors those they supervise, client users their organisation's, agents only those open for
them (active and, where required, with a completed processor agreement). Anything else is 404.
"""
from __future__ import annotations

import uuid

from flask.views import MethodView
from flask_smorest import abort

from saas.api import api_blueprint
from saas.extensions import db
from saas import access
from saas.modules.accounts.models import User
from saas.modules.assignments import operations, queries
from saas.modules.assignments.queries import find_assignment
from saas.modules.assignments.schemas import (
    AgentIn, AgentOut, AssignmentCreate, AssignmentOut, AssignmentUpdate, CallNoteIn, CallNoteListArgs, CallNoteOut,
    SubjectsAdded, SubjectsIn,
)
from saas.modules.audit import operations as audit
from saas.modules.subjects import queries as subjects_queries
from saas.modules.subjects.schemas import SubjectOut

blp = api_blueprint(
    "assignments_api", __name__, "/assignments",
    description="Assignments of client organisations, with assigned agents, data subjects and call notes. "
                "Deleting an assignment deletes its call notes.",
)


def _uuid_or_404(value) -> uuid.UUID:
    try:
        return uuid.UUID(str(value))
    except ValueError:
        abort(404, message="not found")


@blp.route("")
class Assignments(MethodView):
    @access.requires("list", "assignment")
    @blp.response(200, AssignmentOut(many=True))
    def get(self):
        """The assignments you may see, newest first."""
        return [row.assignment for row in queries.list_assignments(subjects_queries.viewer())]

    @access.requires("create", "assignment")
    @blp.arguments(AssignmentCreate)
    @blp.response(201, AssignmentOut)
    def post(self, data):
        """Add an assignment (admins; a supervisor adds one they supervise)."""
        try:
            return operations.create_assignment(data)
        except operations.AssignmentRejected as exc:
            exc.abort()


@blp.route("/<assignment_id>")
class AssignmentItem(MethodView):
    @access.requires("view", "assignment")
    @blp.response(200, AssignmentOut)
    def get(self, assignment_id):
        return find_assignment(assignment_id)

    @access.requires("edit", "assignment")
    @blp.arguments(AssignmentUpdate)
    @blp.response(200, AssignmentOut)
    def patch(self, data, assignment_id):
        """Change an assignment; `active: false` takes the agents' access away. An assignment with people or
        call notes keeps its client organisation (422)."""
        assignment = find_assignment(assignment_id, "edit")
        try:
            return operations.update_assignment(assignment, data)
        except operations.AssignmentRejected as exc:
            exc.abort()

    @access.requires("erase", "assignment")
    @blp.response(204)
    def delete(self, assignment_id):
        """Delete the assignment with its call notes; its subjects stay."""
        operations.delete_assignment(find_assignment(assignment_id, "erase"))


@blp.route("/<assignment_id>/agents")
class Agents(MethodView):
    @access.requires("view", "assignment")
    @blp.response(200, AgentOut(many=True))
    def get(self, assignment_id):
        assignment = find_assignment(assignment_id)
        return [{"user_id": user.id, "display_name": user.display_name}
                for _link, user in queries.agents_of(assignment)]

    @access.requires("manage", "assignment")
    @blp.arguments(AgentIn)
    @blp.response(201, AgentOut)
    def post(self, data, assignment_id):
        """Assign an agent (a member with the agent role)."""
        assignment = find_assignment(assignment_id, "manage")
        try:
            operations.add_agent(assignment, data["user_id"])
        except operations.AssignmentRejected as exc:
            exc.abort()
        return {"user_id": data["user_id"], "display_name": db.session.get(User, data["user_id"]).display_name}


@blp.route("/<assignment_id>/agents/<user_id>")
class AgentItem(MethodView):
    @access.requires("manage", "assignment")
    @blp.response(204)
    def delete(self, assignment_id, user_id):
        assignment = find_assignment(assignment_id, "manage")
        if not operations.remove_agent(assignment, _uuid_or_404(user_id)):
            abort(404, message="this agent is not assigned")


@blp.route("/<assignment_id>/subjects")
class Subjects(MethodView):
    @access.requires("view", "assignment")
    @blp.response(200, SubjectOut(many=True))
    def get(self, assignment_id):
        """The assignment's data subjects of its client organisation (for an agent: those it may use). The
        read is audited."""
        assignment = find_assignment(assignment_id)
        subjects = queries.subjects_of(assignment, subjects_queries.viewer())
        audit.record("assignment.subjects", "assignment", assignment.id, detail={"count": len(subjects)})
        return subjects

    @access.requires("manage", "assignment")
    @blp.arguments(SubjectsIn)
    @blp.response(200, SubjectsAdded)
    def post(self, data, assignment_id):
        """Add data subjects of the assignment's client organisation (anyone else: 422)."""
        assignment = find_assignment(assignment_id, "manage")
        try:
            return {"added": operations.add_subjects(assignment, data["subject_ids"])}
        except operations.AssignmentRejected as exc:
            exc.abort()


@blp.route("/<assignment_id>/subjects/<subject_id>")
class SubjectItem(MethodView):
    @access.requires("manage", "assignment")
    @blp.response(204)
    def delete(self, assignment_id, subject_id):
        assignment = find_assignment(assignment_id, "manage")
        if not operations.remove_subject(assignment, _uuid_or_404(subject_id)):
            abort(404, message="this data subject is not in the assignment")


@blp.route("/<assignment_id>/notes")
class CallNotes(MethodView):
    @access.requires("list", "call_note")
    @blp.arguments(CallNoteListArgs, location="query")
    @blp.response(200, CallNoteOut(many=True))
    def get(self, args, assignment_id):
        """The assignment's call notes, oldest first (or by company name or result). The read is audited."""
        assignment = find_assignment(assignment_id, "view")
        notes = queries.call_notes(assignment, subjects_queries.viewer(), args["sort"])
        audit.record("call_note.list", "assignment", assignment.id, detail={"count": len(notes)})
        return notes

    @access.requires("note", "assignment")
    @blp.arguments(CallNoteIn)
    @blp.response(201, CallNoteOut)
    def post(self, data, assignment_id):
        """Write a call note on one of the assignment's data subjects."""
        assignment = find_assignment(assignment_id, "note")
        try:
            return operations.add_call_note(assignment, data["subject_id"], data["body"], data.get("result"))
        except operations.AssignmentRejected as exc:
            exc.abort()
