"""Forms of the public signing pages (CSRF on every POST, like the portal)."""
from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import BooleanField, HiddenField, StringField, TextAreaField
from wtforms.validators import DataRequired, Length

from saas.modules.signing.operations import NAME_MAX, REASON_MAX


class SendCodeForm(FlaskForm):
    """Only the CSRF token: the button that mails a code."""


class CodeForm(FlaskForm):
    code = StringField(_l("Code"), validators=[DataRequired(), Length(max=20)],
                       render_kw={"autocomplete": "one-time-code", "inputmode": "numeric"})


class SignForm(FlaskForm):
    name = StringField(_l("Your full name"), validators=[DataRequired(), Length(max=NAME_MAX)],
                       render_kw={"autocomplete": "name"})
    function = StringField(_l("Your function"), validators=[DataRequired(), Length(max=NAME_MAX)],
                           render_kw={"autocomplete": "organization-title"})
    authority = BooleanField(validators=[DataRequired(_l("Confirm that you may sign for your organisation."))])
    document_sha256 = HiddenField(validators=[DataRequired(), Length(min=64, max=64)])


class DeclineForm(FlaskForm):
    reason = TextAreaField(_l("Reason for declining"), validators=[DataRequired(), Length(max=REASON_MAX)])
