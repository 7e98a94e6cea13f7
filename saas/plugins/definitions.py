"""Frozen, versioned definitions that plugins return. Core reads them once at start-up.

Every definition has a `name` unique across all installed plugins (core refuses to start on a duplicate)
and a `version` that is stored with each decision made under it, so a changed rule is a new version and
old decisions stay explainable. Core fills in `plugin` (the name of the plugin that returned it).
"""
from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import date

from saas.plugins.lifecycle import RecordView  # noqa: F401  (the plugin API: rules read it)


@dataclass(frozen=True)
class PluginInfo:
    """Who a plugin is: a unique name (the entry in a tenant's `plugins` list), a version, and the
    sector it serves."""

    name: str
    version: str
    title: str
    description: str
    # Behaviours core asks for by name, never by plugin (see `Registry.plugins_with`), e.g.
    # "agreement_per_assignment": agents work on an assignment only under its own completed processor agreement.
    # A setting of the same name in `[settings.<plugin>]` switches a behaviour off for a tenant.
    behaviours: tuple[str, ...] = ()


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

    def problems(self) -> list[str]:
        """What is wrong with this definition on its own; the registry refuses to load it if anything."""
        return []


@dataclass(frozen=True)
class SubjectCategory(Definition):
    """A category of data subject a sector works with (candidate, prospect, member, ...)."""

    label_nl: str = ""
    label_en: str = ""
    plural_nl: str = ""
    plural_en: str = ""
    # A person of this category whose blind indexes are on the suppression list (asked to be left alone,
    # or purged unverified) may not be added again.
    suppressed_may_not_return: bool = False


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
    # A hold must end or be reviewed (a hold with neither keeps a person for ever, unseen):
    hold_years: int = 0         # hold: it ends this many years after the anchor date itself; then the record is purged
    hold_setting: str = ""      # hold: the plugin setting (ending in _years) that holds hold_years for a tenant
    review_months: int = 0      # hold: while it runs, a "review" decision every this many months from its start

    def problems(self) -> list[str]:
        found = []
        is_hold = self.action == "hold"
        if is_hold and not (self.hold_years > 0 or self.hold_setting or self.review_months > 0):
            found.append("a hold needs an end (hold_years or hold_setting) or a review date (review_months)")
        if not is_hold and (self.hold_years or self.hold_setting or self.review_months):
            found.append("hold_years, hold_setting and review_months are for hold policies only")
        if self.hold_setting and not self.hold_setting.endswith("_years"):
            found.append(f"hold_setting {self.hold_setting!r} must end in _years")
        if self.hold_years < 0 or self.review_months < 0:
            found.append("hold_years and review_months cannot be negative")
        return found


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

    def problems(self) -> list[str]:
        if not self.anchor or self.years <= 0:
            return ["a legal hold needs an end: an anchor date and a number of years"]
        return []


@dataclass(frozen=True)
class AgreementClause(Definition):
    """A sector clause for processor agreements (art. 28)."""

    title_nl: str = ""
    title_en: str = ""
    text_nl: str = ""
    text_en: str = ""


DOCUMENT_ANCHORS = ("", "uploaded_on", "expires_on")  # "" = kept with the person; see DocumentType


@dataclass(frozen=True)
class DocumentType(Definition):
    """A kind of document kept with a person (CV, NDA, ID copy, ...): what files it takes, how long it is kept
    and who reads it.

    Retention: `anchor` "" keeps the document as long as its person (erasing or purging the person removes
    it); "uploaded_on" or "expires_on" (a date given with the document, e.g. the end of an NDA's
    confidentiality) plus the period (`years`, `months`, `days`; zero: on the date itself) removes the document itself on that day,
    by the documents sweep. `board_only` documents (staff files, talk notes) are read by the board only.
    `content_types` are the file types allowed, checked on the content."""

    label_nl: str = ""
    label_en: str = ""
    anchor: str = ""
    years: int = 0
    months: int = 0
    days: int = 0
    board_only: bool = False
    content_types: tuple[str, ...] = ("application/pdf", "image/png", "image/jpeg")
    source: str = ""
    description: str = ""

    def problems(self) -> list[str]:
        found = []
        if self.anchor not in DOCUMENT_ANCHORS:
            found.append(f"anchor {self.anchor!r} is not one of {DOCUMENT_ANCHORS}")
        if self.anchor == "uploaded_on" and not (self.years or self.months or self.days):
            found.append("a document kept from its upload needs a period (years, months or days)")
        if not self.anchor and (self.years or self.months or self.days):
            found.append("a document kept with its person takes no period")
        if not self.content_types:
            found.append("a document type needs at least one allowed content type")
        return found


# The six lawful bases of art. 6(1)(a)-(f), in the order they are weighed (seed 002, section 2.4: "Deze zes
# grondslagen zijn een afpel mechanisme, is de 1e grondslag niet van toepassing dan wordt doorgegaan met de 2e").
LEGAL_BASES: tuple[str, ...] = (
    "consent", "contract", "legal_obligation", "vital_interests", "public_task", "legitimate_interests",
)
LEGAL_BASIS_ARTICLES: dict[str, str] = dict(zip(LEGAL_BASES, (
    "art. 6(1)(a)", "art. 6(1)(b)", "art. 6(1)(c)", "art. 6(1)(d)", "art. 6(1)(e)", "art. 6(1)(f)",
)))


@dataclass(frozen=True)
class ProcessingActivity(Definition):
    """A processing activity a seed describes, as a line of the art. 30(1) controller register.

    `legal_basis` is one of `LEGAL_BASES`, chosen in their order: `not_applicable` keeps, for every basis
    before it, why that one does not apply (`(basis, reason)` pairs, in order). `retention_policies` name the
    `RetentionPolicy` definitions that keep the activity's data: the register shows those policies as the
    tenant's sweeps apply them, never a typed-in period. `transfers` lists transfers to third countries
    (art. 30(1)(e)); an empty tuple says there are none, None that nobody said (the register flags it).
    `source` is the seed sentence (Dutch) the activity is taken from, `seed` where it stands.
    """

    purpose: str = ""
    subject_categories: tuple[str, ...] = ()   # SubjectCategory names
    data_categories: tuple[str, ...] = ()
    legal_basis: str = ""
    not_applicable: tuple[tuple[str, str], ...] = ()
    recipients: tuple[str, ...] = ()
    transfers: tuple[str, ...] | None = None
    retention_policies: tuple[str, ...] = ()
    security: str = ""
    source: str = ""
    seed: str = ""

    def problems(self) -> list[str]:
        found = []
        if self.legal_basis not in LEGAL_BASES:
            return [f"legal_basis {self.legal_basis!r} is not one of {', '.join(LEGAL_BASES)}"]
        earlier = LEGAL_BASES[:LEGAL_BASES.index(self.legal_basis)]
        given = tuple(basis for basis, _reason in self.not_applicable)
        if given != earlier:
            found.append(f"not_applicable must give, in order, why each earlier basis does not apply: {earlier}, not {given}")
        if any(not reason.strip() for _basis, reason in self.not_applicable):
            found.append("every basis that does not apply needs a reason")
        if not self.purpose or not self.subject_categories or not self.data_categories:
            found.append("an activity needs a purpose, subject categories and data categories")
        if not self.source:
            found.append("an activity cites the seed sentence it is taken from (source)")
        return found


# Registration hook -> the one definition type it must return. The registry collects exactly these.
DEFINITION_HOOKS: dict[str, type[Definition]] = {
    "saas_subject_categories": SubjectCategory,
    "saas_retention_policies": RetentionPolicy,
    "saas_erasure_exceptions": ErasureException,
    "saas_agreement_clauses": AgreementClause,
    "saas_document_types": DocumentType,
    "saas_processing_activities": ProcessingActivity,
}
