"""Form of the company pages."""
from __future__ import annotations

import uuid

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import DateField, SelectField, StringField
from wtforms.validators import URL, DataRequired, Length, Optional, Regexp

COMPANY_FIELDS = ("name", "kvk_number", "city", "website", "last_verified_on")


class CompanyForm(FlaskForm):
    name = StringField(_l("Name"), validators=[DataRequired(), Length(max=200)])
    kvk_number = StringField(_l("KvK number"), validators=[
        Optional(), Regexp(r"^\d{8}$", message=_l("A KvK number has 8 digits.")),
    ])
    city = StringField(_l("City"), validators=[Optional(), Length(max=100)])
    website = StringField(_l("Website"), validators=[
        Optional(), Length(max=200),
        URL(require_tld=True, message=_l("Enter a web address such as https://example.nl.")),
    ])
    last_verified_on = DateField(_l("Last verified on"), validators=[Optional()])
    client_org = SelectField(_l("Client organisation"), choices=[], validators=[Optional()])

    def set_choices(self, organisations) -> None:
        self.client_org.choices = [("", _l("None"))] + [(str(o.id), o.name) for o in organisations]

    def company_data(self) -> dict:
        data = {name: getattr(self, name).data for name in COMPANY_FIELDS}
        data["client_org_id"] = uuid.UUID(self.client_org.data) if self.client_org.data else None
        return data