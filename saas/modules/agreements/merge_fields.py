"""The merge fields of a processor agreement: the values an admin fills in per agreement, printed by the
template as `{{ fields.<name> }}`. Declared once here; the create form, the validation and the publish
check (`checklist.py`) all read this list.

The values describe the processing (organisation data), never personal data: they are stored in plain
JSON on the agreement.
"""
from __future__ import annotations

from dataclasses import dataclass

from flask_babel import lazy_gettext as _l

TEXT_LIMIT = 4000
LINE_LIMIT = 300


@dataclass(frozen=True)
class MergeField:
    name: str
    label: object                 # lazy string
    kind: str                     # line | text | number | choice
    required: bool = True
    hint: object = ""
    choices: tuple[tuple[str, object], ...] = ()
    default: object = None
    minimum: int | None = None
    maximum: int | None = None


END_OF_CONTRACT = (
    ("controller_choice", _l("The controller chooses: deletion or return")),
    ("delete", _l("Deletion")),
    ("return", _l("Return, then deletion of copies")),
)
AUTHORISATIONS = (
    ("general", _l("General written authorisation (notice and right to object)")),
    ("specific", _l("Specific prior written authorisation per sub-processor")),
)

MERGE_FIELDS: tuple[MergeField, ...] = (
    MergeField("subject_matter", _l("Subject matter of the processing"), "line",
               hint=_l("What the processor does for the controller, in one line.")),
    MergeField("duration", _l("Duration of the processing"), "line",
               hint=_l("For example: for as long as the main agreement lasts.")),
    MergeField("nature", _l("Nature of the processing"), "text",
               hint=_l("The operations: collecting, storing, calling, matching, ...")),
    MergeField("purpose", _l("Purpose of the processing"), "text"),
    MergeField("data_types", _l("Types of personal data"), "text", hint=_l("One per line.")),
    MergeField("data_subject_categories", _l("Categories of data subjects"), "text", hint=_l("One per line.")),
    MergeField("security_measures", _l("Security measures (annex)"), "text", hint=_l("One per line.")),
    MergeField("retention", _l("Retention periods"), "text"),
    MergeField("end_of_contract", _l("At the end of the contract"), "choice", choices=END_OF_CONTRACT,
               default="controller_choice"),
    MergeField("subprocessor_authorisation", _l("Authorisation for sub-processors"), "choice",
               choices=AUTHORISATIONS, default="general"),
    MergeField("objection_notice_days", _l("Notice period for sub-processor changes (days)"), "number",
               default=30, minimum=7, maximum=180),
    MergeField("breach_notice_hours", _l("Breach notification to the controller within (hours)"), "number",
               default=24, minimum=1, maximum=72),
    MergeField("main_agreement", _l("Main agreement (reference)"), "line", required=False,
               hint=_l("The service agreement this processor agreement belongs to, if any.")),
    MergeField("place", _l("Place of signing"), "line", required=False),
)
BY_NAME = {field.name: field for field in MERGE_FIELDS}


def defaults() -> dict:
    return {f.name: f.default for f in MERGE_FIELDS if f.default is not None}


def clean(values: dict) -> tuple[dict, dict[str, str]]:
    """Validated merge values and the errors per field name (empty when all is well).
    Unknown names are dropped; text is trimmed; numbers become ints within their range."""
    cleaned: dict = {}
    errors: dict[str, str] = {}
    for field in MERGE_FIELDS:
        raw = values.get(field.name)
        raw = raw.strip() if isinstance(raw, str) else raw
        if raw in (None, ""):
            if field.required:
                errors[field.name] = str(_l("This field is required."))
            continue
        value, error = _clean_one(field, raw)
        if error:
            errors[field.name] = error
        else:
            cleaned[field.name] = value
    return cleaned, errors


def _clean_one(field: MergeField, raw) -> tuple[object, str | None]:
    if field.kind == "number":
        try:
            number = int(raw)
        except (TypeError, ValueError):
            return None, str(_l("Enter a whole number."))
        if not field.minimum <= number <= field.maximum:
            return None, str(_l("Enter a number from %(low)s to %(high)s.", low=field.minimum, high=field.maximum))
        return number, None
    if field.kind == "choice":
        if raw not in {value for value, _label in field.choices}:
            return None, str(_l("Choose one of the options."))
        return raw, None
    text = str(raw)
    limit = LINE_LIMIT if field.kind == "line" else TEXT_LIMIT
    if len(text) > limit:
        return None, str(_l("At most %(limit)s characters.", limit=limit))
    if field.kind == "line" and ("\n" in text or "\r" in text):
        return None, str(_l("One line only."))
    return text, None
