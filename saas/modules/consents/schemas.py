"""Marshmallow schemas of consents in the API."""
from __future__ import annotations

from datetime import timezone

from marshmallow import Schema, fields, validate

from saas.api.schemas import UtcDateTime
from saas.modules.consents.models import CHANNELS, LEGAL_BASES
from saas.modules.consents.operations import EVIDENCE_MAX, PURPOSE_MAX
from saas.modules.consents.queries import status_of


class ConsentIn(Schema):
    purpose = fields.String(required=True, validate=validate.Length(min=1, max=PURPOSE_MAX))
    legal_basis = fields.String(required=True, validate=validate.OneOf(LEGAL_BASES))
    evidence_text = fields.String(required=True, validate=validate.Length(min=1, max=EVIDENCE_MAX))
    channel = fields.String(required=True, validate=validate.OneOf(CHANNELS))
    given_at = fields.AwareDateTime(default_timezone=timezone.utc, load_default=None,
                                    metadata={"description": "When it was given (UTC unless a zone is given); "
                                                             "default now."})
    expires_on = fields.Date(load_default=None, metadata={"description": "The first day it no longer holds."})


class ConsentOut(Schema):
    id = fields.UUID()
    subject_id = fields.UUID()
    purpose = fields.String()
    legal_basis = fields.String()
    evidence_text = fields.String()
    evidence_at = UtcDateTime()
    channel = fields.String()
    given_at = UtcDateTime()
    expires_on = fields.Date(allow_none=True)
    withdrawn_at = UtcDateTime(allow_none=True)
    request_id = fields.UUID(allow_none=True)
    status = fields.Method("_status")

    def _status(self, record) -> str:
        return status_of(record)
