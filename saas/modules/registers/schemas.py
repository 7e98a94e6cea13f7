"""JSON shapes of the processing registers (read-only)."""
from __future__ import annotations

from marshmallow import Schema, fields


class GapOut(Schema):
    element = fields.String(required=True, metadata={"description": "What is missing."})
    article = fields.String(required=True, metadata={"example": "art. 30(1)(f)"})


class NotApplicableOut(Schema):
    basis = fields.String(required=True)
    reason = fields.String(required=True)


class RetentionOut(Schema):
    policy = fields.String(required=True, metadata={"description": "name@vN of the retention policy in force"})
    action = fields.String(required=True)
    period = fields.Dict(keys=fields.String(), values=fields.Integer(), required=True,
                         metadata={"description": "years/months/weeks/days that are not zero ({}: at once)"})
    anchor = fields.String(required=True)
    from_year_end = fields.Boolean(required=True)


class ControllerLineOut(Schema):
    activity = fields.String(required=True, metadata={"description": "name@vN of the processing activity"})
    plugin = fields.String(required=True)
    purpose = fields.String(required=True)
    legal_basis = fields.String(required=True)
    not_applicable = fields.List(fields.Nested(NotApplicableOut), required=True)
    subject_categories = fields.List(fields.String(), required=True)
    data_categories = fields.List(fields.String(), required=True)
    recipients = fields.List(fields.String(), required=True)
    transfers = fields.List(fields.String(), allow_none=True, required=True,
                            metadata={"description": "[]: none outside the EEA; null: not stated"})
    retention = fields.List(fields.Nested(RetentionOut), required=True)
    source = fields.String(required=True)
    seed = fields.String(required=True)
    missing = fields.List(fields.Nested(GapOut), required=True)


class ControllerRegisterOut(Schema):
    controller = fields.String(required=True)
    complete = fields.Boolean(required=True)
    missing = fields.List(fields.Nested(GapOut), required=True, metadata={"description": "of the register's head"})
    lines = fields.List(fields.Nested(ControllerLineOut), required=True)
