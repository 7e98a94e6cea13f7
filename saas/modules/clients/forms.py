"""Form of the client-organisation page."""
from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import StringField
from wtforms.validators import DataRequired, Length, Optional, Regexp


class OrganisationForm(FlaskForm):
    name = StringField(_l("Name"), validators=[DataRequired(), Length(max=200)])
    kvk_number = StringField(_l("KvK number"), validators=[
        Optional(), Regexp(r"^\d{8}$", message=_l("A KvK number has 8 digits.")),
    ])
