"""How an erasure's outcome is named to the person who asked (portal page, public consent page)."""
from __future__ import annotations

from flask_babel import lazy_gettext as _l

# The encrypted fields of a data subject, by the labels of the subject form.
FIELD_LABELS = {
    "given_name": _l("Given name"), "family_name": _l("Family name"), "email": _l("Email address"),
    "phone": _l("Phone number"), "job_title": _l("Job title"), "city": _l("City"),
    "address": _l("Billing address"), "iban": _l("Bank account (IBAN)"), "notes": _l("Notes"),
}


def field_label(name: str) -> str:
    return str(FIELD_LABELS.get(name, name.replace("_", " ")))


def field_list(names) -> str:
    return ", ".join(field_label(name) for name in names)
