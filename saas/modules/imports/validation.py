"""The fields an import fills, the headers that suggest them, and each value checked and normalised.

A refused value gives a reason code (`messages.ROW_REASONS`), never the value: the report and the logs
hold row number, column number and code only.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field

import phonenumbers
from stdnum.nl import postcode as stdnum_postcode

from saas.modules.imports.parsing import normalise_header

# Field -> headers (normalised, Dutch and English) that suggest it.
FIELDS: dict[str, tuple[str, ...]] = {
    "given_name": ("voornaam", "roepnaam", "voornamen", "firstname", "givenname", "first"),
    "name_prefix": ("tussenvoegsel", "tussenv", "voorvoegsel", "prefix"),
    "family_name": ("achternaam", "familienaam", "lastname", "familyname", "surname", "last"),
    "email": ("email", "emailadres", "mail", "mailadres", "emailaddress", "eposta"),
    "phone": ("telefoon", "telefoonnummer", "tel", "telnr", "mobiel", "mobielnummer", "phone", "phonenumber",
              "mobile", "telephone"),
    "job_title": ("functie", "functietitel", "functienaam", "jobtitle", "title", "position", "role"),
    "company_name": ("bedrijf", "bedrijfsnaam", "organisatie", "firma", "company", "companyname", "organisation",
                     "organization", "account"),
    "kvk_number": ("kvk", "kvknummer", "kvknr", "kamervankoophandel", "coc", "cocnumber", "chamberofcommerce"),
    "postcode": ("postcode", "zip", "zipcode", "postalcode"),
    "city": ("plaats", "woonplaats", "vestigingsplaats", "stad", "city", "town"),
    "left_company": ("uitdienst", "vertrokken", "left", "leftcompany"),
}
IDENTITY = ("email", "phone", "family_name")      # a row needs at least one of these
PERSON_FIELDS = ("given_name", "family_name", "email", "phone", "job_title")
MAX_TEXT = 200
_EMAIL = re.compile(r"^[^@\s<>\"',;]+@[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)+$")
_SCIENTIFIC = re.compile(r"^\d+([.,]\d+)?[eE]\+?\d+$")
_YES = frozenset({"ja", "j", "yes", "y", "x", "1", "true", "waar", "uitdienst", "vertrokken", "left"})
_LEGAL_FORMS = re.compile(r"\b(b\s*v|n\s*v|v\s*o\s*f|c\s*v|holding|groep|group)\b")


def suggest(headers: list[str], remembered: dict[str, str] | None = None) -> dict[int, str]:
    """{column number: field}: the client organisation's remembered choice first, then the known headers."""
    remembered = remembered or {}
    chosen: dict[int, str] = {}
    for number, header in enumerate(headers, start=1):
        key = normalise_header(header)
        wanted = remembered.get(key) or next((name for name, keys in FIELDS.items() if key in keys), None)
        if wanted and wanted in FIELDS and wanted not in chosen.values():
            chosen[number] = wanted
    return chosen


def mapping_problems(mapping: dict[int, str], width: int) -> list[str]:
    """Codes of what is wrong with a mapping as a whole (`messages.MAPPING_REASONS`)."""
    problems = []
    fields = [f for f in mapping.values() if f]
    if any(f not in FIELDS for f in fields) or any(not 1 <= c <= width for c in mapping):
        problems.append("unknown_field")
    if len(fields) != len(set(fields)):
        problems.append("field_twice")
    if not set(fields) & set(IDENTITY):
        problems.append("no_identity")
    return problems


@dataclass
class Row:
    number: int
    values: dict[str, str] = field(default_factory=dict)
    problems: list[tuple[int, str]] = field(default_factory=list)   # (column number, code)
    left: bool = False

    @property
    def ok(self) -> bool:
        return not self.problems


def normalise_row(number: int, cells: list[str], mapping: dict[int, str]) -> Row:
    row = Row(number)
    for column, name in mapping.items():
        text = " ".join((cells[column - 1] or "").split())
        if not text:
            continue
        value, code = NORMALISERS.get(name, _text)(text)
        if code:
            row.problems.append((column, code))
        elif name == "left_company":
            row.left = value
        elif value:
            row.values[name] = value
    prefix = row.values.pop("name_prefix", None)
    if prefix and row.values.get("family_name"):
        row.values["family_name"] = f"{prefix} {row.values['family_name']}"
    if not row.problems and not set(row.values) & set(IDENTITY):
        row.problems.append((0, "no_identity"))
    return row


def _text(text: str):
    return (None, "too_long") if len(text) > MAX_TEXT else (text, None)


def email(text: str):
    text = text.strip().strip("<>").strip()
    if not _EMAIL.match(text) or len(text) > 254:
        return None, "email_invalid"
    local, domain = text.rsplit("@", 1)
    return f"{local}@{domain.lower()}", None


def phone(text: str):
    """E.164; Dutch numbers without country code by default (Excel's 612345678 too: the 0 it dropped)."""
    if _SCIENTIFIC.match(text.replace(" ", "")):
        return None, "phone_scientific"   # Excel turned the number into 6,12E+08: the digits are gone
    try:
        parsed = phonenumbers.parse(text, "NL")
    except phonenumbers.NumberParseException:
        return None, "phone_invalid"
    if not phonenumbers.is_valid_number(parsed):
        return None, "phone_invalid"
    return phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164), None


def kvk_number(text: str):
    """Eight digits (the KvK register has no check digit since 2016); Excel drops a leading zero."""
    digits = re.sub(r"[\s.]", "", text)
    if _SCIENTIFIC.match(digits):
        return None, "kvk_scientific"
    if not digits.isdigit() or not 7 <= len(digits) <= 8:
        return None, "kvk_invalid"
    return digits.zfill(8), None


def postcode(text: str):
    """Dutch postcode, stored as "1234AB" (shown as "1234 AB")."""
    try:
        return stdnum_postcode.validate(text).replace(" ", ""), None   # also refuses SA, SD and SS
    except ValueError:
        return None, "postcode_invalid"


def left_company(text: str):
    lowered = text.strip().lower()
    if lowered in _YES or re.match(r"^\d{1,4}[-/]\d{1,2}[-/]\d{1,4}$", lowered):
        return True, None
    if lowered in ("nee", "n", "no", "0", "false", "onwaar", "in dienst"):
        return False, None
    return None, "left_invalid"


NORMALISERS = {"email": email, "phone": phone, "kvk_number": kvk_number, "postcode": postcode,
               "left_company": left_company}


def company_key(name: str | None) -> str:
    """A company name to match on: lower case, legal forms and punctuation gone ("Jansen B.V." = "jansen bv")."""
    lowered = re.sub(r"[^\w\s]", " ", (name or "").lower())
    lowered = _LEGAL_FORMS.sub(" ", re.sub(r"\b(\w)\s+(?=\w\b)", r"\1", lowered))
    return " ".join(lowered.split())
