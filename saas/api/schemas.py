"""Schemas of the API's own resources (who am I, which tenant)."""
from __future__ import annotations

from datetime import timezone

from marshmallow import Schema, fields


class UtcDateTime(fields.DateTime):
    """Stored times are UTC; SQLite returns them without a zone, so say it when writing them out."""

    def _serialize(self, value, attr, obj, **kwargs):
        if value is not None and value.tzinfo is None:
            value = value.replace(tzinfo=timezone.utc)
        return super()._serialize(value, attr, obj, **kwargs)


class UserOut(Schema):
    id = fields.UUID()
    email = fields.String()
    display_name = fields.String()


class TenantOut(Schema):
    slug = fields.String()
    name = fields.String()


class TokenOut(Schema):
    prefix = fields.String()
    name = fields.String()
    expires_at = UtcDateTime()


class MeOut(Schema):
    user = fields.Nested(UserOut)
    role = fields.String()
    client_org_id = fields.UUID(allow_none=True)
    tenant = fields.Nested(TenantOut)
    token = fields.Nested(TokenOut)
