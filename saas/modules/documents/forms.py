"""Forms of documents: upload (type, file, optional end date) and replace (file only)."""
from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from flask_wtf.file import FileField, FileRequired
from wtforms import DateField, SelectField
from wtforms.validators import DataRequired, Optional


class UploadForm(FlaskForm):
    doc_type = SelectField(_l("Document type"), validators=[DataRequired()], choices=[])
    file = FileField(_l("File"), validators=[FileRequired(_l("Choose a file."))])
    expires_on = DateField(_l("Valid until"), validators=[Optional()])


class ReplaceForm(FlaskForm):
    file = FileField(_l("File"), validators=[FileRequired(_l("Choose a file."))])
