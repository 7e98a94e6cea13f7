"""Frozen, versioned definitions that plugins return. Core reads them once at start-up.

Every definition has a `name` unique across all installed plugins (core refuses to start on a duplicate)
and a `version` that is stored with each decision made under it, so a changed rule is a new version and
old decisions stay explainable. Core fills in `plugin` (the name of the plugin that returned it).
"""
from __future__ import annotations

import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import date


@dataclass(frozen=True)
class PluginInfo:
    """Who a plugin is: a unique name (the entry in a tenant's `plugins` list), a version, and the
    sector it serves."""

    name: str
    version: str
    title: str
    description: str


@dataclass(frozen=True)
class Definition:
    """Base of every registered definition: unique `name`, a `version` stored with each decision."""

    name: str
    version: int
    plugin: str = field(default="", compare=False)

    @property
    def key(self) -> str:
        """`name@vN`: how a decision refers to the exact rule it was made under."""
        return f"{self.name}@v{self.version}"


@dataclass(frozen=True)
class SubjectCategory(Definition):
    """A category of data subject a sector works with (candidate, prospect, member, ...)."""

    label_nl: str = ""
    label_en: str = ""


@dataclass(frozen=True)
class RecordView:
    """What a retention rule may read of a record: plain lifecycle dates and flags, never an encrypted field.
    `kind` is "subject" or "company"; dates a kind does not have are None."""

    id: uuid.UUID
    kind: str
    category: str
    created_on: date
    last_contact_on: date | None = None
    placed_from: date | None = None
    placed_to: date | None = None
    employed_from: date | None = None
    employed_to: date | None = None
    relationship_ended_on: date | None = None
    procedure_closed_on: date | None = None
    procedure_outcome: str | None = None
    last_verified_on: date | None = None
    left_company_on: date | None = None
    needs_verification_since: date | None = None
    restricted: bool = False
    # Purposes with a consent that is given, not withdrawn and not expired on the sweep's date.
    consents: frozenset[str] = frozenset()

    def date_of(self, anchor: str) -> date | None:
        """The anchor date a policy counts from; `last_verified_on` falls back to the creation date (an
        imported record that was never verified counts from its import)."""
        value = getattr(self, anchor)
        if value is None and anchor == "last_verified_on":
            return self.created_on
        return value


@dataclass(frozen=True)
class RuleContext:
    """What else a rule may know: the tenant, the sweep's date, and the tenant's settings for the plugin."""

    tenant_id: int
    today: date
    settings: Mapping[str, object]


@dataclass(frozen=True)
class RetentionPolicy(Definition):
    """A retention promise of a seed as data: which records, from which date, how long, then what.

    The record is due when `applies(view, ctx)` holds (or `applies` is None) and the anchor date plus the
    period (counted from the end of the anchor's calendar year when `from_year_end`) is on or before the
    sweep's date. A period of zero means "at once". `setting` names the plugin setting that holds the period
    for a tenant (its suffix `_days`, `_weeks`, `_months` or `_years` gives the unit); a tenant's
    `[retention."<name>"]` table in its TOML file overrides period, anchor and `enabled` once more.
    `suppress` puts a purged record's blind indexes on the tenant's suppression list.
    """

    category: str = ""          # a subject category, or "company"
    anchor: str = ""            # a date attribute of RecordView
    days: int = 0
    weeks: int = 0
    months: int = 0
    years: int = 0
    from_year_end: bool = False
    action: str = ""            # flag | reconsent | purge | restrict | hold
    setting: str = ""
    suppress: bool = False
    purpose: str = ""           # reconsent: the consent purpose asked for
    source: str = ""            # the seed sentence this rule keeps (Dutch)
    description: str = ""
    enabled: bool = True
    applies: Callable[[RecordView, RuleContext], bool] | None = field(default=None, compare=False, repr=False)


@dataclass(frozen=True)
class ErasureException(Definition):
    """Fields that survive an erasure request for a legal reason (art. 17(3)): while the hold runs (from the
    record's `anchor` date, or the end of its calendar year, plus `years`; always while the anchor is still
    empty, e.g. a relationship that has not ended) an erasure keeps `fields`, restricted to this reason, and
    erases the rest. After the hold an erasure, or the matching retention policy, removes everything."""

    category: str = ""
    fields: tuple[str, ...] = ()
    reason: str = ""
    anchor: str = ""
    years: int = 0
    from_year_end: bool = False


@dataclass(frozen=True)
class AgreementClause(Definition):
    """A sector clause for processor agreements (art. 28)."""

    title_nl: str = ""
    title_en: str = ""
    text_nl: str = ""
    text_en: str = ""


# Registration hook -> the one definition type it must return. The registry collects exactly these.
DEFINITION_HOOKS: dict[str, type[Definition]] = {
    "saas_subject_categories": SubjectCategory,
    "saas_retention_policies": RetentionPolicy,
    "saas_erasure_exceptions": ErasureException,
    "saas_agreement_clauses": AgreementClause,
}
