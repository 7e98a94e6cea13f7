"""Forms and labels of consents: recording one in the portal, answering a request on the public page."""
from __future__ import annotations

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import DateField, SelectField, StringField, SubmitField, TextAreaField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, Length, Optional

from saas.modules.consents.models import CHANNELS, LEGAL_BASES
from saas.modules.consents.operations import EVIDENCE_MAX, PURPOSE_MAX

LEGAL_BASIS_LABELS = {
    "consent": _l("Consent (art. 6(1)(a))"),
    "contract": _l("Contract (art. 6(1)(b))"),
    "legal_obligation": _l("Legal obligation (art. 6(1)(c))"),
    "vital_interest": _l("Vital interest (art. 6(1)(d))"),
    "public_task": _l("Public task (art. 6(1)(e))"),
    "legitimate_interest": _l("Legitimate interest (art. 6(1)(f))"),
}
CHANNEL_LABELS = {"web": _l("Website"), "email": _l("Email"), "phone": _l("Phone"), "paper": _l("Paper"),
                  "portal": _l("Portal"), "import": _l("Import")}
STATUS_LABELS = {"active": _l("active"), "withdrawn": _l("withdrawn"), "expired": _l("expired")}
# Purposes the sector rules ask consent for, as a person reads them.
PURPOSE_LABELS = {
    "candidate_pool": _l("keeping your details to offer you suitable assignments"),
    "applicant_pool": _l("keeping your application for later vacancies"),
}


def purpose_label(purpose: str) -> str:
    return str(PURPOSE_LABELS.get(purpose, purpose.replace("_", " ")))


def label(labels: dict, value: str | None) -> str:
    return str(labels.get(value, value or ""))


def question_text(organisation: str, purpose: str) -> str:
    """The question on the public page, in the current language; stored as the evidence of the answer."""
    return _("%(organisation)s asks whether it may continue %(purpose)s. You can change your mind at any time.",
             organisation=organisation, purpose=purpose_label(purpose))


class ConsentForm(FlaskForm):
    purpose = StringField(_l("Purpose"), validators=[DataRequired(), Length(max=PURPOSE_MAX)])
    legal_basis = SelectField(_l("Legal basis"), choices=[SelectChoice(b, LEGAL_BASIS_LABELS[b]) for b in LEGAL_BASES],
                              validators=[DataRequired()])
    channel = SelectField(_l("Channel"), choices=[SelectChoice(c, CHANNEL_LABELS[c]) for c in CHANNELS],
                          validators=[DataRequired()])
    evidence_text = TextAreaField(_l("Evidence: the text that was shown or said"),
                                  validators=[DataRequired(), Length(max=EVIDENCE_MAX)])
    given_on = DateField(_l("Given on"), validators=[DataRequired()])
    expires_on = DateField(_l("Valid until (not including)"), validators=[Optional()])

class AnswerForm(FlaskForm):
    yes = SubmitField(_l("Yes, you may keep my details"))
    no = SubmitField(_l("No, remove my details"))
