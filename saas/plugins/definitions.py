"""Frozen, versioned definitions that plugins return. Core reads them once at start-up.

Every definition has a `name` unique across all installed plugins (core refuses to start on a duplicate)
and a `version` that is stored with each decision made under it, so a changed rule is a new version and
old decisions stay explainable. Core fills in `plugin` (the name of the plugin that returned it).
"""
from __future__ import annotations

from dataclasses import dataclass, field


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
class RetentionPolicy(Definition):
    """A retention promise of a seed as data: which records, from which date, how long, then what."""

    category: str = ""
    anchor: str = ""          # the record's date the period runs from
    days: int = 0
    months: int = 0
    years: int = 0
    action: str = ""          # flag | reconsent | purge | restrict | hold
    source: str = ""          # the seed sentence this rule keeps (Dutch)
    description: str = ""
    enabled: bool = True


@dataclass(frozen=True)
class ErasureException(Definition):
    """Fields that survive an erasure request for a legal reason (art. 17(3))."""

    category: str = ""
    fields: tuple[str, ...] = ()
    reason: str = ""
    years: int = 0


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
