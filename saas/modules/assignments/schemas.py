"""Marshmallow schemas of assignments, their agents, subjects and call notes in the API."""
from __future__ import annotations

from marshmallow import Schema, fields, validate

from saas.api.schemas import UtcDateTime
from saas.modules.assignments.models import RESULTS
from saas.modules.assignments.operations import NOTE_MAX


class AssignmentUpdate(Schema):
    title = fields.String(validate=validate.Length(min=1, max=200))
    client_org_id = fields.UUID()
    supervisor_id = fields.UUID(allow_none=True)
    active = fields.Boolean()
    starts_on = fields.Date(allow_none=True)
    ends_on = fields.Date(allow_none=True)
    agreement_id = fields.UUID(allow_none=True, metadata={"description": "The processor agreement covering it."})


class AssignmentCreate(AssignmentUpdate):
    title = fields.String(required=True, validate=validate.Length(min=1, max=200))
    client_org_id = fields.UUID(required=True)


class AssignmentOut(Schema):
    id = fields.UUID()
    title = fields.String()
    client_org_id = fields.UUID()
    supervisor_id = fields.UUID(allow_none=True)
    active = fields.Boolean()
    starts_on = fields.Date(allow_none=True)
    ends_on = fields.Date(allow_none=True)
    agreement_id = fields.UUID(allow_none=True)
    created_at = UtcDateTime()
    updated_at = UtcDateTime()


class AgentIn(Schema):
    user_id = fields.UUID(required=True)


class AgentOut(Schema):
    user_id = fields.UUID()
    display_name = fields.String()


class SubjectsIn(Schema):
    subject_ids = fields.List(fields.UUID(), required=True, validate=validate.Length(min=1, max=1000))


class SubjectsAdded(Schema):
    added = fields.Integer()


class CallNoteIn(Schema):
    subject_id = fields.UUID(required=True)
    result = fields.String(validate=validate.OneOf(RESULTS), metadata={"description": "What the call came to."})
    body = fields.String(required=True, validate=validate.Length(min=1, max=NOTE_MAX))


class CallNoteListArgs(Schema):
    sort = fields.String(load_default="date", validate=validate.OneOf(("date", "company", "result")),
                         metadata={"description": "By date, company name or result; never by the note's text."})


class CallNoteOut(Schema):
    id = fields.UUID()
    assignment_id = fields.UUID()
    subject_id = fields.UUID()
    author_id = fields.UUID(allow_none=True)
    result = fields.String(allow_none=True)
    body = fields.String()
    created_at = UtcDateTime()
