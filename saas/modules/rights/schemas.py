"""API schemas of rights requests. Personal fields appear only on the request's own read (admins)."""
from __future__ import annotations

from marshmallow import Schema, validate
from marshmallow import fields as f

from saas.modules.rights.models import CHANNELS, KINDS, REFUSAL_GROUNDS
from saas.modules.rights.operations import REASON_MAX, RECTIFIABLE, TEXT_MAX


class RequestCreate(Schema):
    kind = f.String(required=True, validate=validate.OneOf(KINDS))
    channel = f.String(load_default="api", validate=validate.OneOf(CHANNELS))
    received_on = f.Date(load_default=None, metadata={"description": "Default: today (Europe/Amsterdam)."})
    email = f.String(load_default=None, allow_none=True, validate=validate.Length(max=254))
    phone = f.String(load_default=None, allow_none=True, validate=validate.Length(max=40))
    name = f.String(load_default=None, allow_none=True, validate=validate.Length(max=200))
    details = f.String(load_default=None, allow_none=True, validate=validate.Length(max=TEXT_MAX))
    locale = f.String(load_default="nl", validate=validate.OneOf(("nl", "en")))


class RequestOut(Schema):
    id = f.UUID(required=True)
    kind = f.String(required=True)
    channel = f.String(required=True)
    status = f.String(required=True)
    locale = f.String(required=True)
    received_on = f.Date(required=True)
    legal_due_on = f.Date(required=True, metadata={"description": "One month from receipt (art. 12(3) GDPR)."})
    extended_due_on = f.Date(allow_none=True, metadata={"description": "Three months from receipt, if extended."})
    target_due_on = f.Date(required=True, metadata={"description": "The tenant's own target (its TOML file)."})
    identity_method = f.String(allow_none=True)
    identity_checked_at = f.DateTime(allow_none=True)
    answered_at = f.DateTime(allow_none=True)
    refusal_ground = f.String(allow_none=True)
    outcome = f.Dict(required=True)
    email = f.String(allow_none=True)
    phone = f.String(allow_none=True)
    name = f.String(allow_none=True)
    person_ids = f.Method("_person_ids", metadata={"description": "Records linked to the request."})

    def _person_ids(self, row):
        from saas.modules.rights import queries

        return [str(link.person_id) for link in queries.linked_people(row)]


class VerifyIn(Schema):
    note = f.String(required=True, validate=validate.Length(min=1, max=REASON_MAX))


class ExtendIn(Schema):
    reason = f.String(required=True, validate=validate.Length(min=1, max=REASON_MAX))


class RefuseIn(Schema):
    ground = f.String(required=True, validate=validate.OneOf(REFUSAL_GROUNDS))
    reason = f.String(required=True, validate=validate.Length(min=1, max=REASON_MAX))


class LinkIn(Schema):
    person_id = f.UUID(required=True)


class AnswerIn(Schema):
    changes = f.Dict(keys=f.String(validate=validate.OneOf(RECTIFIABLE)),
                     values=f.String(allow_none=True, validate=validate.Length(max=500)), load_default=dict,
                     metadata={"description": "For a rectification: the corrected fields."})
