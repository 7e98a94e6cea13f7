"""Flask-WTF forms of the data-subject pages (CSRF on every POST)."""
from __future__ import annotations

import uuid

from flask_babel import LazyString, format_date, get_locale
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import BooleanField, DateField, SelectField, StringField, SubmitField, TextAreaField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, Length, Optional
from wtforms.validators import ValidationError as FormError

from saas.modules.accounts.forms import valid_email
from saas.modules.subjects.schemas import iban_is_valid
from saas.plugins import lifecycle
from saas.plugins.manager import current_registry

# The form fields that are attributes of DataSubject, in the order of the form; then the lifecycle dates.
SUBJECT_FIELDS = ("category", "given_name", "family_name", "email", "phone", "job_title", "city",
                  "address", "iban", "notes")
LIFECYCLE_FIELDS = lifecycle.NAMES


def _language() -> str | None:
    locale = get_locale()
    return locale.language if locale is not None else None


def category_label(category: str, *, plural: bool = False) -> str:
    """The label the tenant's sector plugin gives the category, in the page's language."""
    try:
        definition = current_registry().get("saas_subject_categories", category)
    except KeyError:
        return category.replace("_", " ")
    nl = _language() == "nl"
    if plural:
        label = definition.plural_nl if nl else definition.plural_en
        if label:
            return label
    return (definition.label_nl if nl else definition.label_en) or category


def lifecycle_label(name: str) -> str:
    return lifecycle.BY_NAME[name].label(_language())


def lifecycle_value(name: str, value) -> str:
    """A lifecycle value for a page: a date in the page's format, a choice by its label."""
    entry = lifecycle.BY_NAME[name]
    if value is None:
        return ""
    if entry.is_date:
        return format_date(value)
    return entry.choice_label(value, _language())


def outcome_label(outcome: str | None) -> str:
    return lifecycle.BY_NAME["procedure_outcome"].choice_label(outcome, _language())


def valid_iban(_form, field) -> None:
    if field.data and not iban_is_valid(field.data):
        raise FormError(_l("Enter a valid IBAN, such as NL91 ABNA 0417 1643 00."))


def add_errors(form: FlaskForm, errors: dict, names: dict | None = None) -> None:
    """Show the messages of a `schemas.Rejected` at the form's fields (`names`: value name -> field name);
    a message for no field of the form goes above it."""
    for name, messages in errors.items():
        target = form._fields.get((names or {}).get(name, name))
        (target.errors if target is not None else form.form_errors).extend(messages)


def _uuid_or_none(value: str | None):
    return uuid.UUID(value) if value else None


class SubjectForm(FlaskForm):
    category = SelectField(_l("Category"), validators=[DataRequired()])
    given_name = StringField(_l("Given name"), validators=[Optional(), Length(max=100)])
    family_name = StringField(_l("Family name"), validators=[DataRequired(), Length(max=150)])
    email = StringField(_l("Email address"), validators=[Optional(), Length(max=254), valid_email])
    phone = StringField(_l("Phone number"), validators=[Optional(), Length(max=40)])
    job_title = StringField(_l("Job title"), validators=[Optional(), Length(max=150)])
    city = StringField(_l("City"), validators=[Optional(), Length(max=100)])
    address = StringField(_l("Billing address"), validators=[Optional(), Length(max=300)])
    iban = StringField(_l("Bank account (IBAN)"), validators=[Optional(), Length(max=42), valid_iban])
    notes = TextAreaField(_l("Notes"), validators=[Optional(), Length(max=2000)])
    client_org = SelectField(_l("Client organisation"), choices=[], validators=[Optional()])
    company = SelectField(_l("Company"), choices=[], validators=[Optional()])

    def set_choices(self, categories, organisations, companies) -> None:
        self.category.choices = [(c, category_label(c)) for c in categories]
        self.client_org.choices = [("", _l("None"))] + [(str(o.id), o.name) for o in organisations]
        self.company.choices = [("", _l("None"))] + [(str(c.id), c.name) for c in companies]

    def subject_data(self) -> dict:
        """The validated values as DataSubject attributes (empty text becomes None)."""
        data = {name: getattr(self, name).data for name in (*SUBJECT_FIELDS, *LIFECYCLE_FIELDS)}
        data = {k: (v.strip() or None) if isinstance(v, str) else v for k, v in data.items()}
        data["client_org_id"] = _uuid_or_none(self.client_org.data)
        data["company_id"] = _uuid_or_none(self.company.data)
        return data



def _lifecycle_field(entry: lifecycle.LifecycleDate):
    """The form field of one registry entry, labelled in the page's language when it is shown."""
    label = LazyString(lambda: entry.label(_language()))
    if entry.is_date:
        return DateField(label, validators=[Optional()])
    choices = [SelectChoice("", _l("None"))] + [
        SelectChoice(value, LazyString(lambda value=value: entry.choice_label(value, _language())))
        for value in entry.values
    ]
    return SelectField(label, validators=[Optional()], choices=choices)


for _entry in lifecycle.LIFECYCLE:
    setattr(SubjectForm, _entry.name, _lifecycle_field(_entry))


class DeleteForm(FlaskForm):
    confirm = BooleanField(_l("I understand that this person's data becomes unreadable for good, "
                              "also in backups."), validators=[DataRequired(_l("Tick the box to confirm."))])


class VerifyForm(FlaskForm):
    """The outcome of a verification call: still correct, or the person left."""

    verified = SubmitField(_l("The data is correct"))
    left_company = SubmitField(_l("This person left the company"))
