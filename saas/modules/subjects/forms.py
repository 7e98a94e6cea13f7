"""Flask-WTF forms of the data-subject pages (CSRF on every POST)."""
from __future__ import annotations

import uuid

from flask_babel import get_locale
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import BooleanField, DateField, SelectField, StringField, SubmitField, TextAreaField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, Length, Optional
from wtforms.validators import ValidationError as FormError

from saas.modules.accounts.forms import valid_email
from saas.modules.subjects.models import PROCEDURE_OUTCOMES
from saas.modules.subjects.schemas import iban_is_valid
from saas.plugins.manager import current_registry

CATEGORY_LABELS = {
    "candidate": _l("Candidate"), "applicant": _l("Applicant"), "employee": _l("Employee"),
    "client_contact": _l("Client contact"), "prospect": _l("Prospect"), "member": _l("Member"),
    "training_participant": _l("Training participant"), "relation": _l("Relation"),
}
OUTCOME_LABELS = {"hired": _l("Hired"), "rejected": _l("Rejected"), "withdrawn": _l("Withdrawn")}
# The form fields that are attributes of DataSubject, in the order of the form.
SUBJECT_FIELDS = ("category", "given_name", "family_name", "email", "phone", "job_title", "city",
                  "address", "iban", "last_contact_on", "notes")
LIFECYCLE_FIELDS = ("placed_from", "placed_to", "employed_from", "employed_to", "relationship_ended_on",
                    "procedure_closed_on", "procedure_outcome", "last_verified_on", "left_company_on")


def category_label(category: str) -> str:
    """The core label, or the label the sector plugin gives its own category (crm_contact, referee, ...)."""
    if category in CATEGORY_LABELS:
        return str(CATEGORY_LABELS[category])
    try:
        definition = current_registry().get("saas_subject_categories", category)
    except KeyError:
        return category.replace("_", " ")
    locale = get_locale()
    return (definition.label_nl if locale is not None and locale.language == "nl" else definition.label_en) or category


def outcome_label(outcome: str | None) -> str:
    return str(OUTCOME_LABELS.get(outcome, outcome or ""))


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
    last_contact_on = DateField(_l("Last contact"), validators=[Optional()])
    notes = TextAreaField(_l("Notes"), validators=[Optional(), Length(max=2000)])
    client_org = SelectField(_l("Client organisation"), choices=[], validators=[Optional()])
    company = SelectField(_l("Company"), choices=[], validators=[Optional()])

    placed_from = DateField(_l("Placed from"), validators=[Optional()])
    placed_to = DateField(_l("Placed until"), validators=[Optional()])
    employed_from = DateField(_l("Employed from"), validators=[Optional()])
    employed_to = DateField(_l("Employed until"), validators=[Optional()])
    relationship_ended_on = DateField(_l("Relationship ended on"), validators=[Optional()])
    procedure_closed_on = DateField(_l("Application procedure closed on"), validators=[Optional()])
    procedure_outcome = SelectField(_l("Outcome of the procedure"), validators=[Optional()],
                                    choices=[SelectChoice("", _l("None"))]
                                    + [SelectChoice(o, OUTCOME_LABELS[o]) for o in PROCEDURE_OUTCOMES])
    last_verified_on = DateField(_l("Last verified on"), validators=[Optional()])
    left_company_on = DateField(_l("Left the company on"), validators=[Optional()])

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



class DeleteForm(FlaskForm):
    confirm = BooleanField(_l("I understand that this person's data becomes unreadable for good, "
                              "also in backups."), validators=[DataRequired(_l("Tick the box to confirm."))])


class VerifyForm(FlaskForm):
    """The outcome of a verification call: still correct, or the person left."""

    verified = SubmitField(_l("The data is correct"))
    left_company = SubmitField(_l("This person left the company"))
