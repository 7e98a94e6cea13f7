"""Flask-WTF forms of the accounts pages. Every form carries a CSRF token (CSRFProtect checks all POSTs)."""
from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from marshmallow import ValidationError
from marshmallow.validate import Email
from wtforms import HiddenField, PasswordField, SelectField, StringField
from wtforms.validators import AnyOf, DataRequired, EqualTo, Length
from wtforms.validators import ValidationError as FormError

from saas.core.web import LOCALES
from saas.modules.accounts.models import ROLES


def valid_email(_form, field) -> None:
    try:
        Email()(field.data or "")
    except ValidationError:
        raise FormError(_l("Enter a valid email address.")) from None


def no_control_characters(_form, field) -> None:
    """NUL and other control characters never reach the database (PostgreSQL refuses NUL: a 500)."""
    if any(ord(ch) < 32 for ch in field.data or ""):
        raise FormError(_l("This field contains characters that are not allowed."))


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


class RoleForm(FlaskForm):
    role = SelectField(_l("Role"), choices=role_choices, validators=[DataRequired()])
    client_org = SelectField(_l("Client organisation"), choices=[], validate_choice=False)

    def set_client_orgs(self, orgs) -> None:
        self.client_org.choices = [("", _l("None (not a client user)"))] + [(str(o.id), o.name) for o in orgs]


class InviteForm(RoleForm):
    email = StringField(_l("Email address"), validators=[DataRequired(), Length(max=254), no_control_characters,
                                                         valid_email])


def _new_password_fields():
    from saas.modules.accounts.operations import MIN_PASSWORD_LENGTH

    new = PasswordField(_l("New password"), validators=[
        DataRequired(), Length(min=MIN_PASSWORD_LENGTH, max=1024,
                               message=_l("A password needs at least %(min)d characters.", min=MIN_PASSWORD_LENGTH))])
    repeat = PasswordField(_l("New password again"), validators=[
        DataRequired(), EqualTo("new_password", message=_l("The two passwords are not the same."))])
    return new, repeat


class PasswordChangeForm(FlaskForm):
    current_password = PasswordField(_l("Current password"), validators=[DataRequired(), Length(max=1024)])
    new_password, new_password_again = _new_password_fields()


class PasswordForgotForm(FlaskForm):
    email = StringField(_l("Email address"), validators=[DataRequired(), Length(max=254), no_control_characters])


class PasswordResetForm(FlaskForm):
    new_password, new_password_again = _new_password_fields()


class RegisterForm(FlaskForm):
    display_name = StringField(_l("Your name"), validators=[DataRequired(), Length(max=120), no_control_characters])
    new_password, new_password_again = _new_password_fields()


class CodeForm(FlaskForm):
    code = StringField(_l("Code"), validators=[DataRequired(), Length(max=40), no_control_characters])
