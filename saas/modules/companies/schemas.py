"""Marshmallow schemas of companies in the API."""
from __future__ import annotations

from marshmallow import Schema, ValidationError, fields, validate, validates

from saas.api.schemas import UtcDateTime
from saas.modules.subjects import queries as subjects_queries


class CompanyUpdate(Schema):
    name = fields.String(validate=validate.Length(min=1, max=200))
    kvk_number = fields.String(allow_none=True,
                               validate=validate.Regexp(r"^\d{8}$", error="A KvK number has 8 digits."))
    city = fields.String(allow_none=True, validate=validate.Length(max=100))
    website = fields.Url(allow_none=True, schemes={"http", "https"}, validate=validate.Length(max=200))
    client_org_id = fields.UUID(allow_none=True)
    last_verified_on = fields.Date(allow_none=True)

    @validates("client_org_id")
    def _known_client_org(self, value, **_kwargs) -> None:
        if value is not None and not subjects_queries.client_org_exists(value):
            raise ValidationError("Unknown client organisation.")


class CompanyCreate(CompanyUpdate):
    name = fields.String(required=True, validate=validate.Length(min=1, max=200))


class CompanyOut(Schema):
    id = fields.UUID()
    name = fields.String()
    kvk_number = fields.String(allow_none=True)
    city = fields.String(allow_none=True)
    website = fields.String(allow_none=True)
    client_org_id = fields.UUID(allow_none=True)
    last_verified_on = fields.Date(allow_none=True)
    needs_verification_since = fields.Date(allow_none=True)
    created_at = UtcDateTime()
    updated_at = UtcDateTime()


class CompanyListArgs(Schema):
    needs_verification = fields.Boolean()
    q = fields.String(validate=validate.Length(max=100),
                      metadata={"description": "Part of the name, city or KvK number."})
