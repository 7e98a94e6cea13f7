"""Marshmallow schemas of data subjects: what the API (and forms) accept and return.

Input is checked completely before anything is written: unknown fields, a bad email or phone number,
a category the tenant's sectors do not use, or a client organisation of another tenant are a 422.
"""
from __future__ import annotations

import re

from marshmallow import Schema, ValidationError, fields, validate, validates, validates_schema

from saas.api.schemas import UtcDateTime
from saas.modules.subjects import queries

_PHONE_SHAPE = re.compile(r"^\+?[0-9][0-9 ()./-]*$")


def validate_phone(value: str) -> None:
    """International (+31 6 ...) or national (06-...) numbers: 8 to 15 digits, common separators."""
    digits = sum(ch.isdigit() for ch in value)
    if not _PHONE_SHAPE.match(value.strip()) or not 8 <= digits <= 15:
        raise ValidationError("Not a valid phone number.")


def validate_category(value: str) -> None:
    allowed = queries.allowed_categories()
    if value not in allowed:
        raise ValidationError(f"Unknown category; this tenant uses: {', '.join(allowed)}.")


def _text(max_length: int):
    return fields.String(allow_none=True, validate=validate.Length(max=max_length))


class SubjectUpdate(Schema):
    """Fields to change; a field left out stays as it is, null clears it."""

    category = fields.String(validate=validate_category)
    given_name = _text(100)
    family_name = _text(100)
    email = fields.Email(allow_none=True, validate=validate.Length(max=254))
    phone = fields.String(allow_none=True, validate=validate_phone)
    job_title = _text(120)
    city = _text(100)
    notes = _text(4000)
    source = _text(40)
    client_org_id = fields.UUID(allow_none=True)
    last_contact_on = fields.Date(allow_none=True)

    @validates("client_org_id")
    def _known_client_org(self, value, **_kwargs) -> None:
        if value is not None and not queries.client_org_exists(value):
            raise ValidationError("Unknown client organisation.")


class SubjectCreate(SubjectUpdate):
    category = fields.String(required=True, validate=validate_category)

    @validates_schema
    def _identifiable(self, data, **_kwargs) -> None:
        if not any(data.get(name) for name in ("given_name", "family_name", "email")):
            raise ValidationError("Give at least a name or an email address.", "_schema")


class SubjectOut(Schema):
    id = fields.UUID()
    category = fields.String()
    client_org_id = fields.UUID(allow_none=True)
    source = fields.String(allow_none=True)
    last_contact_on = fields.Date(allow_none=True)
    given_name = fields.String(allow_none=True)
    family_name = fields.String(allow_none=True)
    email = fields.String(allow_none=True)
    phone = fields.String(allow_none=True)
    job_title = fields.String(allow_none=True)
    city = fields.String(allow_none=True)
    notes = fields.String(allow_none=True)
    created_at = UtcDateTime()
    updated_at = UtcDateTime()


class SubjectListArgs(Schema):
    category = fields.String(validate=validate_category)
