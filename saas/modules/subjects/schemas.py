"""Marshmallow schemas of data subjects: what the API (and forms) accept and return, and the rules on
lifecycle dates that forms and API share.

Input is checked completely before anything is written: unknown fields, a bad email or phone number,
a category the tenant's sectors do not use, a client organisation or company of another tenant are a 422.
Rules that need the stored record as well (an end before the start, an outcome without a closing date)
are checked by `operations` on the merged values with `lifecycle_problems`.
"""
from __future__ import annotations

import re

from flask_babel import get_locale
from flask_babel import lazy_gettext as _l
from flask_smorest import abort as smorest_abort
from marshmallow import Schema, ValidationError, fields, validate, validates, validates_schema

from saas.api.schemas import UtcDateTime
from saas.core import clock
from saas.core.errors import DomainError
from saas.modules.subjects import queries
from saas.plugins import lifecycle

_PHONE_SHAPE = re.compile(r"^\+?[0-9][0-9 ()./-]*$")
_IBAN_SHAPE = re.compile(r"^[A-Z]{2}[0-9]{2}[A-Z0-9]{11,30}$")

# The lifecycle values the retention rules count from (the registry's, in its order).
LIFECYCLE_DATES = lifecycle.NAMES


class Rejected(DomainError):
    """Values that break a rule taken together; `errors` maps field names to messages (a form shows them
    at its fields, the API answers 422 with them). Raised before anything is written."""

    def __init__(self, errors: dict[str, list]):
        super().__init__("the values break a rule: " + ", ".join(sorted(errors)), status=422, errors=errors)

    def messages(self) -> dict[str, list[str]]:
        return {name: [str(message) for message in messages] for name, messages in self.errors.items()}

    def abort(self):
        """Answer an API request: 422 in the same shape as a schema error."""
        smorest_abort(422, errors={"json": self.messages()}, message="the request has invalid fields; see 'errors'")


def validate_phone(value: str) -> None:
    """International (+31 6 ...) or national (06-...) numbers: 8 to 15 digits, common separators."""
    digits = sum(ch.isdigit() for ch in value)
    if not _PHONE_SHAPE.match(value.strip()) or not 8 <= digits <= 15:
        raise ValidationError("Not a valid phone number.")


def iban_is_valid(value: str) -> bool:
    """The ISO 13616 shape and its mod-97 check digits (catches a mistyped digit)."""
    compact = "".join(value.split()).upper()
    if not _IBAN_SHAPE.match(compact):
        return False
    rearranged = compact[4:] + compact[:4]
    return int("".join(str(int(ch, 36)) for ch in rearranged)) % 97 == 1


def validate_iban(value: str) -> None:
    if not iban_is_valid(value):
        raise ValidationError("Not a valid IBAN.")


def validate_category(value: str) -> None:
    allowed = queries.allowed_categories()
    if value not in allowed:
        raise ValidationError(f"Unknown category; this tenant uses: {', '.join(allowed)}.")


def lifecycle_problems(values: dict) -> dict[str, list[str]]:
    """Problems with a subject's lifecycle values taken together, per field (empty when all is well); the
    rules come from the registry (`saas.plugins.lifecycle`)."""
    problems: dict[str, list[str]] = {}

    def add(name, message):
        problems.setdefault(name, []).append(message)

    today = clock.today()
    for entry in lifecycle.LIFECYCLE:
        value = values.get(entry.name)
        if entry.choices and value is not None and value not in entry.values:
            add(entry.name, _l("Choose one of the options."))
        if entry.past and value is not None and value > today:
            add(entry.name, _l("This date lies in the future."))
        if entry.starts and value is not None:
            start = values.get(entry.starts)
            if start is None:
                add(entry.starts, _l("Give the start date as well."))
            elif value < start:
                add(entry.name, _l("The end date lies before the start date."))
        if entry.together_with and value is not None and values.get(entry.together_with) is None:
            add(entry.together_with, _l("Fill this in as well: it goes with %(other)s.",
                                        other=lifecycle.BY_NAME[entry.name].label(_language())))
    return problems


def _language() -> str | None:
    locale = get_locale()
    return locale.language if locale is not None else None


def _lifecycle_field(entry: lifecycle.LifecycleDate) -> fields.Field:
    if entry.is_date:
        return fields.Date(allow_none=True)
    return fields.String(allow_none=True, validate=validate.OneOf(entry.values))


# The lifecycle fields of the API, one per registry entry (in and out have the same shape).
_Lifecycle = Schema.from_dict({entry.name: _lifecycle_field(entry) for entry in lifecycle.LIFECYCLE},
                              name="SubjectLifecycle")
_LifecycleOut = Schema.from_dict({entry.name: _lifecycle_field(entry) for entry in lifecycle.LIFECYCLE},
                                 name="SubjectLifecycleOut")


def _text(max_length: int):
    return fields.String(allow_none=True, validate=validate.Length(max=max_length))


class SubjectUpdate(_Lifecycle):
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
    address = _text(300)
    iban = fields.String(allow_none=True, validate=validate_iban)
    client_org_id = fields.UUID(allow_none=True)
    company_id = fields.UUID(allow_none=True)

    @validates("client_org_id")
    def _known_client_org(self, value, **_kwargs) -> None:
        if value is not None and not queries.client_org_exists(value):
            raise ValidationError("Unknown client organisation.")

    @validates("company_id")
    def _known_company(self, value, **_kwargs) -> None:
        if value is not None and not queries.company_exists(value):
            raise ValidationError("Unknown company.")


class SubjectCreate(SubjectUpdate):
    category = fields.String(required=True, validate=validate_category)

    @validates_schema
    def _identifiable(self, data, **_kwargs) -> None:
        if not any(data.get(name) for name in ("given_name", "family_name", "email")):
            raise ValidationError("Give at least a name or an email address.", "_schema")


class SubjectOut(_LifecycleOut):
    id = fields.UUID()
    category = fields.String()
    client_org_id = fields.UUID(allow_none=True)
    company_id = fields.UUID(allow_none=True)
    source = fields.String(allow_none=True)
    given_name = fields.String(allow_none=True)
    family_name = fields.String(allow_none=True)
    email = fields.String(allow_none=True)
    phone = fields.String(allow_none=True)
    job_title = fields.String(allow_none=True)
    city = fields.String(allow_none=True)
    notes = fields.String(allow_none=True)
    address = fields.String(allow_none=True)
    iban = fields.String(allow_none=True)
    needs_verification_since = fields.Date(allow_none=True)
    restricted_at = UtcDateTime(allow_none=True)
    restriction_reason = fields.String(allow_none=True)
    created_at = UtcDateTime()
    updated_at = UtcDateTime()


class SubjectListArgs(Schema):
    category = fields.String(validate=validate_category)
    needs_verification = fields.Boolean()
    company_id = fields.UUID()
