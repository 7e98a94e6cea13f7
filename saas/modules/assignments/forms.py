"""Forms of the assignment pages."""
from __future__ import annotations

import uuid

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import BooleanField, DateField, IntegerField, SelectField, SelectMultipleField, StringField, TextAreaField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, InputRequired, Length, NumberRange, Optional

from saas.modules.agreements.labels import STATUS_LABELS as AGREEMENT_STATUS_LABELS
from saas.modules.assignments.operations import NOTE_MAX, QUEUE_MAX


def _uuid_or_none(value: str | None):
    return uuid.UUID(value) if value else None


class AssignmentForm(FlaskForm):
    title = StringField(_l("Title"), validators=[DataRequired(), Length(max=200)])
    client_org = SelectField(_l("Client organisation"), choices=[], validators=[DataRequired()])
    supervisor = SelectField(_l("Supervisor"), choices=[], validators=[Optional()])
    agreement = SelectField(_l("Processor agreement"), choices=[], validators=[Optional()])
    starts_on = DateField(_l("Starts on"), validators=[Optional()])
    ends_on = DateField(_l("Ends on"), validators=[Optional()])
    active = BooleanField(_l("Active (agents work on it)"), default=True)

    FIELD_NAMES = {"client_org_id": "client_org", "supervisor_id": "supervisor", "agreement_id": "agreement"}

    def set_choices(self, organisations, supervisors, agreements, *, choose_supervisor: bool) -> None:
        self.client_org.choices = [(str(o.id), o.name) for o in organisations]
        self.supervisor.choices = [("", _l("None"))] + [(str(m.user_id), u.display_name) for m, u in supervisors]
        if not choose_supervisor:
            del self.supervisor
        self.agreement.choices = [("", _l("None"))] + [
            (str(a.id), f"{a.number} · {a.counterparty_name} ({AGREEMENT_STATUS_LABELS.get(a.status, a.status)})")
            for a in agreements]

    def assignment_data(self) -> dict:
        data = {"title": self.title.data, "client_org_id": _uuid_or_none(self.client_org.data),
                "agreement_id": _uuid_or_none(self.agreement.data), "starts_on": self.starts_on.data,
                "ends_on": self.ends_on.data, "active": bool(self.active.data)}
        if "supervisor" in self._fields:
            data["supervisor_id"] = _uuid_or_none(self.supervisor.data)
        return data


class AgentForm(FlaskForm):
    user = SelectField(_l("Agent"), choices=[], validators=[DataRequired()])


class SubjectsForm(FlaskForm):
    subjects = SelectMultipleField(_l("Data subjects to add"), choices=[], validators=[DataRequired()])


RESULT_LABELS = {
    "appointment": _l("Appointment made"), "interested": _l("Interested"), "callback": _l("Call back"),
    "no_interest": _l("No interest"), "not_reached": _l("Not reached"), "wrong_contact": _l("Wrong contact"),
    "other": _l("Other"),
}


class CallNoteForm(FlaskForm):
    subject = SelectField(_l("Data subject"), choices=[], validators=[DataRequired()])
    result = SelectField(_l("Result"), choices=[SelectChoice(key, label) for key, label in RESULT_LABELS.items()],
                         default="other", validators=[DataRequired()])
    body = TextAreaField(_l("Note"), validators=[DataRequired(), Length(max=NOTE_MAX)])


class QueueForm(FlaskForm):
    count = IntegerField(_l("Number of records"), default=10,
                         validators=[InputRequired(), NumberRange(min=1, max=QUEUE_MAX)])
