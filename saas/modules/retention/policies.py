"""The retention policies in force for a tenant, with their periods resolved, and date arithmetic.

A policy's period comes from three places, later ones winning:
1. the plugin's definition (`RetentionPolicy.days/weeks/months/years`);
2. the tenant's plugin setting named by `RetentionPolicy.setting` (its suffix `_days`, `_weeks`, `_months` or
   `_years` gives the unit), from `[settings.<plugin>]` in the tenant's TOML file;
3. the tenant's `[retention."<policy name>"]` override (`Tenant.retention`): a period given there replaces
   the whole period; it may also change the anchor and switch the policy off.
`EffectivePolicy.origins` keeps where the period, anchor and on/off came from, for the portal.

Periods are calendar periods: months and years keep the day of the month, clamped to the month's last day
(31 January + 1 month = 28 or 29 February), via python-dateutil's `relativedelta`.
"""
from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import date, timedelta
from types import MappingProxyType

from dateutil.relativedelta import relativedelta

from saas.plugins.definitions import ErasureException, RecordView, RetentionPolicy, RuleContext
from saas.plugins.lifecycle import ANCHORS
from saas.plugins.manager import current_registry

UNITS = ("years", "months", "weeks", "days")
ACTIONS = ("flag", "reconsent", "purge", "restrict", "hold")
COMPANY = "company"
COMPANY_ACTIONS = ("flag", "hold")  # company data is business data: flagged, never deleted (seed 004)
DEFINITION, SETTING, OVERRIDE = "definition", "setting", "override"


class PolicyError(ValueError):
    """A policy that cannot be applied as configured (a plugin bug or a bad override): named, never guessed."""


@dataclass(frozen=True)
class Period:
    years: int = 0
    months: int = 0
    weeks: int = 0
    days: int = 0

    @property
    def delta(self) -> relativedelta:
        return relativedelta(years=self.years, months=self.months, weeks=self.weeks, days=self.days)

    @property
    def is_zero(self) -> bool:
        return not (self.years or self.months or self.weeks or self.days)

    def parts(self) -> dict[str, int]:
        """The units that are not zero, largest first ({} means "at once")."""
        return {unit: getattr(self, unit) for unit in UNITS if getattr(self, unit)}


@dataclass(frozen=True)
class EffectivePolicy:
    """A plugin's `RetentionPolicy` as it applies to one tenant: period, anchor and on/off resolved.

    `settings` is the tenant's settings for the policy's plugin: what `applies` gets as `ctx.settings`.
    `origins` says where "period", "anchor" and "enabled" came from: "definition", "setting" (then
    `setting` names it) or "override" (the tenant's `[retention."<name>"]` table)."""

    definition: RetentionPolicy
    period: Period
    anchor: str
    enabled: bool
    settings: Mapping[str, object] = field(default_factory=lambda: MappingProxyType({}))
    origins: Mapping[str, str] = field(default_factory=lambda: MappingProxyType({}))
    # A hold's outer limit in years from its anchor date, with the tenant's setting applied (0: no end).
    hold_years: int = 0

    # The definition's own fields, read through.
    name = property(lambda self: self.definition.name)
    version = property(lambda self: self.definition.version)
    key = property(lambda self: self.definition.key)
    plugin = property(lambda self: self.definition.plugin)
    category = property(lambda self: self.definition.category)
    action = property(lambda self: self.definition.action)
    from_year_end = property(lambda self: self.definition.from_year_end)
    setting = property(lambda self: self.definition.setting)
    suppress = property(lambda self: self.definition.suppress)
    purpose = property(lambda self: self.definition.purpose)
    source = property(lambda self: self.definition.source)
    description = property(lambda self: self.definition.description)
    review_months = property(lambda self: self.definition.review_months)

    @property
    def applies(self) -> Callable[[RecordView, RuleContext], bool] | None:
        return self.definition.applies

    @property
    def kind(self) -> str:
        return "company" if self.category == COMPANY else "subject"


def _unit_of(setting: str) -> str:
    for unit in UNITS:
        if setting.endswith(f"_{unit}"):
            return unit
    raise PolicyError(f"setting {setting!r} must end in _years, _months, _weeks or _days")


def _check(policy: EffectivePolicy) -> None:
    if policy.action not in ACTIONS:
        raise PolicyError(f"policy {policy.name}: unknown action {policy.action!r} (one of {', '.join(ACTIONS)})")
    if policy.category == COMPANY and policy.action not in COMPANY_ACTIONS:
        raise PolicyError(f"policy {policy.name}: company records can only be flagged or held, not {policy.action}")
    if policy.anchor not in ANCHORS:
        raise PolicyError(f"policy {policy.name}: anchor {policy.anchor!r} is not a date a rule may count from "
                          f"(one of {', '.join(ANCHORS)})")
    if policy.action == "reconsent" and not policy.purpose:
        raise PolicyError(f"policy {policy.name}: a reconsent policy needs a purpose")


def resolve(definition: RetentionPolicy, plugin_settings: Mapping, override: Mapping | None) -> EffectivePolicy:
    """One definition with a tenant's plugin settings and override applied."""
    period = Period(**{unit: getattr(definition, unit) for unit in UNITS})
    anchor, enabled = definition.anchor, definition.enabled
    origins = {"period": DEFINITION, "anchor": DEFINITION, "enabled": DEFINITION}
    if definition.setting and plugin_settings.get(definition.setting) is not None:
        period = Period(**{_unit_of(definition.setting): int(plugin_settings[definition.setting])})
        origins["period"] = SETTING
    override = override or {}
    if any(unit in override for unit in UNITS):
        period = Period(**{unit: int(override.get(unit, 0)) for unit in UNITS})
        origins["period"] = OVERRIDE
    if override.get("anchor"):
        anchor, origins["anchor"] = override["anchor"], OVERRIDE
    if "enabled" in override:
        enabled, origins["enabled"] = bool(override["enabled"]), OVERRIDE
    hold_years = definition.hold_years
    if definition.hold_setting and plugin_settings.get(definition.hold_setting) is not None:
        hold_years = int(plugin_settings[definition.hold_setting])
    policy = EffectivePolicy(definition, period, anchor, enabled, MappingProxyType(dict(plugin_settings)),
                             MappingProxyType(origins), hold_years)
    _check(policy)
    return policy


def effective_policies(tenant) -> list[EffectivePolicy]:
    """Every retention policy of the tenant's plugins (also the disabled ones, for the portal), by name."""
    registry = current_registry()
    overrides = tenant.retention or {}
    found = [
        resolve(definition, tenant.plugin_settings(definition.plugin), overrides.get(definition.name))
        for definition in registry.of("saas_retention_policies", tenant.plugins or [])
    ]
    return sorted(found, key=lambda p: p.name)


def active_holds(tenant) -> list[ErasureException]:
    """The erasure exceptions (legal holds) of the tenant's plugins."""
    holds = current_registry().of("saas_erasure_exceptions", tenant.plugins or [])
    return sorted(holds, key=lambda h: h.name)


# --- dates -----------------------------------------------------------------------------------------

def counting_from(anchor: date, from_year_end: bool) -> date:
    """Where a period starts: the anchor itself, or the end of the anchor's calendar year (the first day
    after it: a relationship that ended in 2019 belongs to the records of 2019, closed on 31 December,
    so 7 years of keeping them run through 2026 and the record is due on 1 January 2027)."""
    return date(anchor.year + 1, 1, 1) if from_year_end else anchor


def add_period(start: date, period: Period) -> date:
    return start + period.delta


def due_on(policy: EffectivePolicy, view: RecordView) -> date | None:
    """The first day the policy acts on the record; None while the record has no anchor date."""
    anchor = view.date_of(policy.anchor)
    if anchor is None:
        return None
    return add_period(counting_from(anchor, policy.from_year_end), policy.period)


def latest_due_anchor(period: Period, from_year_end: bool, today: date) -> date:
    """The latest anchor date whose due date is on or before `today`: a record is due exactly when its
    anchor is on or before this date (adding a calendar period never puts a later date before an
    earlier one), so a sweep compares one date per record instead of doing calendar arithmetic."""
    if from_year_end:
        year = today.year
        while add_period(date(year + 1, 1, 1), period) > today:
            year -= 1
        return date(year, 12, 31)
    candidate = today - period.delta
    while add_period(candidate + timedelta(days=1), period) <= today:
        candidate += timedelta(days=1)
    while add_period(candidate, period) > today:
        candidate -= timedelta(days=1)
    return candidate


def hold_end(hold: ErasureException, view: RecordView) -> date | None:
    """The first day a legal hold no longer keeps the record; None while its anchor is empty (it runs)."""
    if not hold.anchor:
        return None
    anchor = view.date_of(hold.anchor)
    if anchor is None:
        return None
    return add_period(counting_from(anchor, hold.from_year_end), Period(years=hold.years))


def hold_policy_end(policy: EffectivePolicy, view: RecordView) -> date | None:
    """The first day a hold policy no longer keeps the record: its anchor date itself (never the year's end:
    an outer limit such as art. 3:310 BW counts from the event) plus `hold_years`; None without an end."""
    anchor = view.date_of(policy.anchor)
    if not policy.hold_years or anchor is None:
        return None
    return add_period(anchor, Period(years=policy.hold_years))


def last_review(policy: EffectivePolicy, held_from: date, today: date) -> date | None:
    """The latest review date of a hold that started on `held_from`, on or before `today`: every
    `review_months` from the start (the first one period after it); None before the first."""
    if not policy.review_months:
        return None
    months = (today.year - held_from.year) * 12 + today.month - held_from.month
    count = months // policy.review_months
    candidate = held_from + relativedelta(months=policy.review_months * count)
    if candidate > today:   # the day of the month is not reached yet
        count -= 1
        candidate = held_from + relativedelta(months=policy.review_months * count)
    return candidate if count >= 1 else None


def hold_runs(hold: ErasureException, view: RecordView, today: date) -> bool:
    """Whether the hold still keeps this record on `today` (its category, and its period not over)."""
    if hold.category and hold.category != view.category:
        return False
    end = hold_end(hold, view)
    return end is None or today < end
