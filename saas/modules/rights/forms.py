"""Forms of rights requests: the public form (no account), the code, staff entry and staff actions."""
from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import DateField, EmailField, SelectField, StringField, SubmitField, TextAreaField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, Length, Optional

from saas.modules.accounts.forms import no_control_characters, valid_email

from saas.modules.rights.models import CHANNELS, KINDS, REFUSAL_GROUNDS
from saas.modules.rights.operations import GROUND_LABELS, KIND_LABELS, REASON_MAX, TEXT_MAX

CHANNEL_LABELS = {"web": _l("Web form"), "email": _l("E-mail"), "phone": _l("Phone"), "letter": _l("Letter"),
                  "api": _l("API")}
LOCALE_CHOICES = [SelectChoice("nl", "Nederlands"), SelectChoice("en", "English")]


def _kinds():
    return [SelectChoice(k, KIND_LABELS[k]) for k in KINDS]


class PublicRequestForm(FlaskForm):
    kind = SelectField(_l("What do you ask?"), choices=_kinds(), validators=[DataRequired()])
    name = StringField(_l("Your name"), validators=[Optional(), Length(max=200), no_control_characters])
    email = EmailField(_l("Your e-mail address"), validators=[DataRequired(), valid_email, Length(max=254)])
    phone = StringField(_l("Your phone number (optional)"), validators=[Optional(), Length(max=40)])
    details = TextAreaField(_l("Anything we should know (for a correction: what is wrong and what is right)"),
                            validators=[Optional(), Length(max=TEXT_MAX)])
    locale = SelectField(_l("Language of our answer"), choices=LOCALE_CHOICES, validators=[DataRequired()])
    submit = SubmitField(_l("Send request"))


class CodeForm(FlaskForm):
    code = StringField(_l("Code from the e-mail"), validators=[DataRequired(), Length(max=20)])
    submit = SubmitField(_l("Confirm"))


class DownloadForm(FlaskForm):
    code = StringField(_l("Code from the second e-mail"), validators=[DataRequired(), Length(max=20)])


class StaffRequestForm(FlaskForm):
    kind = SelectField(_l("Right"), choices=_kinds(), validators=[DataRequired()])
    channel = SelectField(_l("Received by"), choices=[SelectChoice(c, CHANNEL_LABELS[c]) for c in CHANNELS if c != "api"],
                          validators=[DataRequired()])
    received_on = DateField(_l("Received on"), validators=[DataRequired()])
    name = StringField(_l("Name"), validators=[Optional(), Length(max=200), no_control_characters])
    email = EmailField(_l("E-mail address"), validators=[Optional(), valid_email, Length(max=254)])
    phone = StringField(_l("Phone number"), validators=[Optional(), Length(max=40)])
    details = TextAreaField(_l("What was asked"), validators=[Optional(), Length(max=TEXT_MAX)])
    locale = SelectField(_l("Language of the answer"), choices=LOCALE_CHOICES, validators=[DataRequired()])


class VerifyForm(FlaskForm):
    note = StringField(_l("How identity was checked"), validators=[DataRequired(), Length(max=REASON_MAX)])


class ExtendForm(FlaskForm):
    reason = TextAreaField(_l("Reasons for the extension (sent to the person)"),
                           validators=[DataRequired(), Length(max=REASON_MAX)])


class RefuseForm(FlaskForm):
    ground = SelectField(_l("Ground"), choices=[SelectChoice(g, GROUND_LABELS[g]) for g in REFUSAL_GROUNDS],
                         validators=[DataRequired()])
    reason = TextAreaField(_l("Reason (sent to the person)"), validators=[DataRequired(), Length(max=REASON_MAX)])


class LinkForm(FlaskForm):
    person_id = StringField(_l("Record id"), validators=[DataRequired(), Length(max=40)])


class AnswerForm(FlaskForm):
    """For a rectification: the corrected values, one `field=value` per line."""
    changes = TextAreaField(_l("Corrections (one field=value per line)"), validators=[Optional(), Length(max=TEXT_MAX)])


class PageAskForm(FlaskForm):
    email = EmailField(_l("Your e-mail address"), validators=[DataRequired(), valid_email, Length(max=254)])
    locale = SelectField(_l("Language"), choices=LOCALE_CHOICES, validators=[DataRequired()])
    submit = SubmitField(_l("Send me a link"))


class PageActionForm(FlaskForm):
    """One button per action; `details` for a correction."""
    details = TextAreaField(_l("What is wrong and what is right"), validators=[Optional(), Length(max=TEXT_MAX)])
