from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from flask_wtf.file import FileField, FileRequired


class VerifyForm(FlaskForm):
    document = FileField(_l("Sealed PDF file"), validators=[FileRequired(_l("Choose a PDF file to check."))],
                         render_kw={"accept": "application/pdf,.pdf"})
