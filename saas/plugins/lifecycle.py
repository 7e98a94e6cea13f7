"""The lifecycle dates of a data subject, declared once.

Each entry here becomes, by its name and nothing else: a column of `data_subject`, a field of the frozen
`RecordView` that retention rules read (an anchor a policy may count from), a field of the portal's subject
form, a field of the API's subject schemas (in and out), and its label in Dutch and English. The rules on
dates taken together (a date in the past, an end after its start, two values given together) come from here
as well. **Adding a date is adding one `LifecycleDate` to `LIFECYCLE`** (then regenerate the migration).

Dates are plain values with no personal content on their own, which is why rules may read them and why
they are not encrypted. Part of the plugin API: plugins name these dates as anchors.
"""
from __future__ import annotations

import uuid
from dataclasses import dataclass, field, make_dataclass
from datetime import date


@dataclass(frozen=True)
class LifecycleDate:
    """One lifecycle value of a data subject.

    `past`: something that happened, never later than today. `starts`: this date ends a period that starts
    at the named date (the end may not lie before it, and needs it). `together_with`: the two values are
    given together or not at all. `choices`: a value chosen from a list (stored as text), not a date; each
    choice is (value, English label, Dutch label). `empty_counts_from_creation`: a rule anchored here counts
    from the record's creation while the date is empty (an imported record that was never verified).
    `company`: companies have the date too (their verification)."""

    name: str
    label_en: str
    label_nl: str
    # How a period counting from this date names it ("2 years after <the last contact>"), in both languages.
    anchor_en: str = ""
    anchor_nl: str = ""
    past: bool = False
    starts: str = ""
    together_with: str = ""
    choices: tuple[tuple[str, str, str], ...] = ()
    empty_counts_from_creation: bool = False
    company: bool = False

    @property
    def is_date(self) -> bool:
        return not self.choices

    @property
    def values(self) -> tuple[str, ...]:
        return tuple(value for value, _, _ in self.choices)

    def label(self, language: str | None) -> str:
        return self.label_nl if language == "nl" else self.label_en

    def anchor_label(self, language: str | None) -> str:
        return (self.anchor_nl if language == "nl" else self.anchor_en) or self.label(language).lower()

    def choice_label(self, value: str | None, language: str | None) -> str:
        for choice, label_en, label_nl in self.choices:
            if choice == value:
                return label_nl if language == "nl" else label_en
        return value or ""


LIFECYCLE: tuple[LifecycleDate, ...] = (
    LifecycleDate("last_contact_on", "Last contact", "Laatste contact", "the last contact", "het laatste contact",
                  past=True),
    LifecycleDate("placed_from", "Placed from", "Geplaatst vanaf", "the start of the placement",
                  "het begin van de plaatsing"),
    LifecycleDate("placed_to", "Placed until", "Geplaatst tot", "the end of the placement", "het einde van de plaatsing",
                  starts="placed_from"),
    LifecycleDate("employed_from", "Employed from", "In dienst vanaf", "the start of employment", "de indiensttreding"),
    LifecycleDate("employed_to", "Employed until", "In dienst tot", "the end of employment", "de uitdiensttreding",
                  starts="employed_from"),
    LifecycleDate("relationship_ended_on", "Relationship ended on", "Relatie beëindigd op",
                  "the end of the relationship", "het einde van de relatie"),
    LifecycleDate("procedure_closed_on", "Application procedure closed on", "Sollicitatieprocedure afgesloten op",
                  "the close of the application procedure", "de afsluiting van de sollicitatieprocedure",
                  past=True, together_with="procedure_outcome"),
    LifecycleDate("procedure_outcome", "Outcome of the procedure", "Uitkomst van de procedure",
                  together_with="procedure_closed_on",
                  choices=(("hired", "Hired", "Aangenomen"), ("rejected", "Rejected", "Afgewezen"),
                           ("withdrawn", "Withdrawn", "Teruggetrokken"))),
    LifecycleDate("last_verified_on", "Last verified on", "Laatst gecontroleerd op", "the last verification",
                  "de laatste controle", past=True, empty_counts_from_creation=True, company=True),
    LifecycleDate("left_company_on", "Left the company on", "Uit dienst bij het bedrijf op", "leaving the company",
                  "het vertrek bij het bedrijf", past=True),
)

BY_NAME: dict[str, LifecycleDate] = {entry.name: entry for entry in LIFECYCLE}
NAMES: tuple[str, ...] = tuple(BY_NAME)
# What a retention policy or legal hold may count from: a lifecycle date, the record's creation, or the day a
# sweep flagged it for verification.
ANCHORS: tuple[str, ...] = ("created_on", *(entry.name for entry in LIFECYCLE if entry.is_date),
                            "needs_verification_since")


def _check(entries: tuple[LifecycleDate, ...]) -> None:
    """A wrong entry stops the import of this module (so the app never starts with it)."""
    names = [entry.name for entry in entries]
    if len(set(names)) != len(names):
        raise ValueError("two lifecycle dates with one name")
    for entry in entries:
        for other in (entry.starts, entry.together_with):
            if other and other not in names:
                raise ValueError(f"lifecycle date {entry.name!r} refers to unknown {other!r}")
        if entry.name in _VIEW_FIELDS:
            raise ValueError(f"lifecycle date {entry.name!r} clashes with a RecordView field")


def _date_of(self, anchor: str) -> date | None:
    """The anchor date a policy counts from; a date marked `empty_counts_from_creation` falls back to the
    creation date while it is empty."""
    value = getattr(self, anchor)
    if value is None and anchor in BY_NAME and BY_NAME[anchor].empty_counts_from_creation:
        return self.created_on
    return value


# The fields of a record view that are not lifecycle dates: who, and the state the sweep itself keeps.
_VIEW_FIELDS = ("id", "kind", "category", "created_on", "needs_verification_since", "restricted", "consents")
_check(LIFECYCLE)

RecordView = make_dataclass(
    "RecordView",
    [("id", uuid.UUID), ("kind", str), ("category", str), ("created_on", date),
     *((entry.name, (date | None) if entry.is_date else (str | None), field(default=None)) for entry in LIFECYCLE),
     ("needs_verification_since", date | None, field(default=None)),
     ("restricted", bool, field(default=False)),
     # Purposes with a consent that is given, not withdrawn and not expired on the sweep's date.
     ("consents", frozenset, field(default=frozenset()))],
    namespace={"date_of": _date_of, "__module__": "saas.plugins.definitions", "__doc__": (
        "What a retention rule may read of a record: its lifecycle dates (`LIFECYCLE`) and flags, never an "
        "encrypted field. `kind` is \"subject\" or \"company\"; dates a kind does not have are None. Built by "
        "name only (keyword-only fields): adding a date never shifts another.")},
    frozen=True, kw_only=True,
)
