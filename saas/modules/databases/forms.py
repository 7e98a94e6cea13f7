"""Forms of the database page: search, bulk delete, the typed confirmation of a whole-database delete."""
from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import DateField, SelectField, SelectMultipleField, StringField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, Length, Optional

from saas.modules.assignments.forms import RESULT_LABELS


class SearchForm(FlaskForm):
    """A GET form: no CSRF token (it changes nothing)."""

    class Meta:
        csrf = False

    company = StringField(_l("Company"), validators=[Optional(), Length(max=200)])
    result = SelectField(_l("Result"), choices=[SelectChoice("", _l("Any result"))] + [
        SelectChoice(key, label) for key, label in RESULT_LABELS.items()],
                         validators=[Optional()])
    called_from = DateField(_l("Called from"), validators=[Optional()])
    called_to = DateField(_l("Called until"), validators=[Optional()])


class EraseForm(FlaskForm):
    subjects = SelectMultipleField(_l("Records"), choices=[], validate_choice=False)


class ConfirmDeleteForm(FlaskForm):
    name = StringField(_l("Name of the client organisation"), validators=[DataRequired(), Length(max=200)])
