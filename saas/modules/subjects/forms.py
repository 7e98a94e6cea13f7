"""Flask-WTF forms of the data-subject pages (CSRF on every POST)."""
from __future__ import annotations

import uuid

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import BooleanField, DateField, SelectField, StringField, TextAreaField
from wtforms.validators import DataRequired, Length, Optional

from saas.modules.accounts.forms import valid_email

CATEGORY_LABELS = {
    "candidate": _l("Candidate"), "applicant": _l("Applicant"), "employee": _l("Employee"),
    "client_contact": _l("Client contact"), "prospect": _l("Prospect"), "member": _l("Member"),
    "training_participant": _l("Training participant"), "relation": _l("Relation"),
}
# The form fields that are attributes of DataSubject, in the order of the form.
SUBJECT_FIELDS = ("category", "given_name", "family_name", "email", "phone", "job_title", "city",
                  "last_contact_on", "notes")


def category_label(category: str) -> str:
    return str(CATEGORY_LABELS.get(category, category.replace("_", " ")))


class SubjectForm(FlaskForm):
    category = SelectField(_l("Category"), validators=[DataRequired()])
    given_name = StringField(_l("Given name"), validators=[Optional(), Length(max=100)])
    family_name = StringField(_l("Family name"), validators=[DataRequired(), Length(max=150)])
    email = StringField(_l("Email address"), validators=[Optional(), Length(max=254), valid_email])
    phone = StringField(_l("Phone number"), validators=[Optional(), Length(max=40)])
    job_title = StringField(_l("Job title"), validators=[Optional(), Length(max=150)])
    city = StringField(_l("City"), validators=[Optional(), Length(max=100)])
    last_contact_on = DateField(_l("Last contact"), validators=[Optional()])
    notes = TextAreaField(_l("Notes"), validators=[Optional(), Length(max=2000)])
    client_org = SelectField(_l("Client organisation"), choices=[], validators=[Optional()])

    def set_choices(self, categories, organisations) -> None:
        self.category.choices = [(c, category_label(c)) for c in categories]
        self.client_org.choices = [("", _l("None"))] + [(str(o.id), o.name) for o in organisations]

    def subject_data(self) -> dict:
        """The validated values as DataSubject attributes (empty text becomes None)."""
        data = {name: getattr(self, name).data for name in SUBJECT_FIELDS}
        data = {k: (v.strip() or None) if isinstance(v, str) else v for k, v in data.items()}
        data["client_org_id"] = uuid.UUID(self.client_org.data) if self.client_org.data else None
        return data


class DeleteForm(FlaskForm):
    confirm = BooleanField(_l("I understand that this person's data becomes unreadable for good, "
                              "also in backups."), validators=[DataRequired(_l("Tick the box to confirm."))])
