"""Forms of the import pages. The column mapping is one select per column, read by `mapping_from`."""
from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from flask_wtf.file import FileField, FileRequired
from wtforms import SelectField

from saas.modules.imports.messages import FIELD_LABELS


class UploadForm(FlaskForm):
    assignment = SelectField(_l("Assignment"), choices=[])
    file = FileField(_l("File (CSV or XLSX)"), validators=[FileRequired(message=_l("Choose a file."))])

    def set_choices(self, assignments) -> None:
        self.assignment.choices = [(str(a.id), a.title) for a in assignments]


def field_choices() -> list[tuple[str, str]]:
    return [("", _l("— ignore this column —"))] + [(name, label) for name, label in FIELD_LABELS.items()]


def mapping_from(form_data, width: int) -> dict[int, str]:
    """{column number: field} from the posted selects `column-1` ... `column-N` (unknown values dropped)."""
    known = set(FIELD_LABELS)
    chosen = {}
    for number in range(1, width + 1):
        value = (form_data.get(f"column-{number}") or "").strip()
        if value:
            chosen[number] = value if value in known else "?"
    return chosen
