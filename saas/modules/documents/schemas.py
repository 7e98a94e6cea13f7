"""Marshmallow schemas of documents in the API. Files travel base64-encoded in JSON (one format for every
answer; the type is read from the content, never from `filename`)."""
from __future__ import annotations

from marshmallow import Schema, fields, validate


class DocumentIn(Schema):
    doc_type = fields.String(required=True, validate=validate.Length(min=1, max=80),
                             metadata={"description": "A document type of the tenant's plugins, or `other`."})
    filename = fields.String(load_default=None, validate=validate.Length(max=200))
    content_base64 = fields.String(required=True, validate=validate.Length(min=1),
                                   metadata={"description": "The file, base64-encoded."})
    expires_on = fields.Date(load_default=None, metadata={"description": "For an NDA: the day the "
                                                                         "confidentiality ends."})


class DocumentOut(Schema):
    id = fields.UUID()
    subject_id = fields.UUID()
    doc_type = fields.String()
    uploaded_on = fields.Date()
    expires_on = fields.Date(allow_none=True)


class DocumentFileOut(DocumentOut):
    filename = fields.String(allow_none=True)
    content_type = fields.String()
    content_base64 = fields.String()
