"""Flask-WTF forms of the accounts pages. Every form carries a CSRF token (CSRFProtect checks all POSTs)."""
from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from marshmallow import ValidationError
from marshmallow.validate import Email
from wtforms import HiddenField, PasswordField, SelectField, StringField
from wtforms.validators import AnyOf, DataRequired, Length
from wtforms.validators import ValidationError as FormError

from saas.core.web import LOCALES
from saas.modules.accounts.models import ROLES


def valid_email(_form, field) -> None:
    try:
        Email()(field.data or "")
    except ValidationError:
        raise FormError(_l("Enter a valid email address.")) from None


ROLE_LABELS = {"admin": _l("Administrator"), "supervisor": _l("Supervisor"), "agent": _l("Agent"),
               "client": _l("Client"), "board": _l("Board member")}


def role_choices():
    return [(role, ROLE_LABELS[role]) for role in ROLES]


class LoginForm(FlaskForm):
    email = StringField(_l("Email address"), validators=[DataRequired(), Length(max=254)])
    password = PasswordField(_l("Password"), validators=[DataRequired(), Length(max=1024)])
    next = HiddenField()


class LocaleForm(FlaskForm):
    locale = StringField(validators=[AnyOf(LOCALES)])
    next = HiddenField()


class EmptyForm(FlaskForm):
    """Only the CSRF token: for buttons such as log out and remove."""


class RoleForm(FlaskForm):
    role = SelectField(_l("Role"), choices=role_choices, validators=[DataRequired()])
    client_org = SelectField(_l("Client organisation"), choices=[], validate_choice=False)

    def set_client_orgs(self, orgs) -> None:
        self.client_org.choices = [("", _l("None (not a client user)"))] + [(str(o.id), o.name) for o in orgs]


class MemberCreateForm(RoleForm):
    email = StringField(_l("Email address"), validators=[DataRequired(), Length(max=254), valid_email])
    display_name = StringField(_l("Name"), validators=[DataRequired(), Length(max=120)])
