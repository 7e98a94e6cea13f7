"""What the retention policies decide about a record: pure functions, no database.

    ruleset = Ruleset(policies, holds, tenant_id, today)   # once per sweep
    for view in views:
        for decision in ruleset.decide(view): ...

A policy is due for a record when its anchor date plus its period (see `policies.due_on`) is on or before
`today` and its `applies(view, ctx)` holds. Of what is due, one outcome per record:

- a due `hold` policy keeps the record: no purge or restrict that day (flags and re-consent still count),
  and while it runs it is reviewed every `review_months` from its start (a `review` decision, once per
  review date); once its end (`hold_policy_end`: anchor date plus `hold_years`) has come it keeps nothing,
  and the record ends as under a due purge, on the day the hold ended;
- otherwise a due `purge` or `restrict` ends the record's data and beats any flag or re-consent: while a
  legal hold (erasure exception) of the record's category still runs it becomes `restrict` (keep the held
  fields, erase the rest), and without one it is a `purge` (a restrict policy with nothing left to hold
  keeps nothing); a record already restricted is not restricted again, and is purged once its holds
  have ended (due the day the last one ended);
- otherwise each due `flag` (unless the record is already flagged) and each due `reconsent`;
- a restricted record is neither flagged nor asked for consent again: its contact data is gone.
"""
from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, timedelta

from saas.modules.retention.policies import (
    EffectivePolicy, add_period, counting_from, hold_end, hold_policy_end, hold_runs, last_review, latest_due_anchor,
)
from saas.plugins.definitions import ErasureException, RecordView, RuleContext

ENDING = ("purge", "restrict")


@dataclass(frozen=True)
class Decision:
    """`action` of `policy` for one record, due on `due_on`; a restrict names the holds that keep fields."""

    policy: EffectivePolicy
    action: str
    due_on: date
    holds: tuple[ErasureException, ...] = ()
    note: str | None = None     # why, for decisions not made by a sweep (an erasure's request kind)

    @property
    def kept_fields(self) -> frozenset[str]:
        return frozenset(f for hold in self.holds for f in hold.fields)

    @property
    def reason(self) -> str | None:
        """The note, and for a restrict the legal reasons of the holds that keep fields."""
        parts = ([self.note] if self.note else []) + [hold.reason for hold in self.holds]
        return "; ".join(dict.fromkeys(parts)) or None


class _Compiled:
    """One enabled policy ready for a given day: the latest anchor date that is due, its rule context,
    and its due dates remembered per anchor date (a tenant's records share few distinct dates)."""

    __slots__ = ("policy", "anchor", "action", "cutoff", "applies", "ctx", "_due")

    def __init__(self, policy: EffectivePolicy, tenant_id: int, today: date):
        self.policy = policy
        self.anchor = policy.anchor
        self.action = policy.action
        self.cutoff = latest_due_anchor(policy.period, policy.from_year_end, today)
        self.applies = policy.applies
        self.ctx = RuleContext(tenant_id=tenant_id, today=today, settings=policy.settings)
        self._due: dict[date, date] = {}

    def due_on(self, anchor: date) -> date:
        due = self._due.get(anchor)
        if due is None:
            due = self._due[anchor] = add_period(counting_from(anchor, self.policy.from_year_end), self.policy.period)
        return due


class Ruleset:
    """A tenant's enabled policies and legal holds, compiled for one sweep date."""

    def __init__(self, policies: Iterable[EffectivePolicy], holds: Iterable[ErasureException], tenant_id: int,
                 today: date):
        self.today = today
        self.tenant_id = tenant_id
        self.by_category: dict[str, list[_Compiled]] = {}
        for policy in sorted(policies, key=lambda p: p.name):
            if policy.enabled:
                self.by_category.setdefault(policy.category, []).append(_Compiled(policy, tenant_id, today))
        self.holds: dict[str, list[ErasureException]] = {}
        for hold in holds:
            self.holds.setdefault(hold.category, []).append(hold)
        self._by_category_holds: dict[str, tuple[ErasureException, ...]] = {}

    @property
    def policies(self) -> list[EffectivePolicy]:
        return [c.policy for compiled in self.by_category.values() for c in compiled]

    def due_dates(self) -> dict[str, list[tuple[str, date]]]:
        """Per category, (anchor, latest due anchor date) of each enabled policy: a record can only be due
        if one of its anchors is on or before that date (a database can select the candidates with it)."""
        return {category: [(c.anchor, c.cutoff) for c in compiled] for category, compiled in self.by_category.items()}

    def may_decide(self, view: RecordView) -> bool:
        """Whether any policy's date is due for the record (cheap: no `applies`, no consents needed)."""
        for c in self.by_category.get(view.category, ()):
            anchor = view.date_of(c.anchor)
            if anchor is not None and anchor <= c.cutoff:
                return True
        return False

    def decide(self, view: RecordView) -> list[Decision]:
        compiled = self.by_category.get(view.category)
        if not compiled:
            return []
        due = []
        for c in compiled:
            anchor = view.date_of(c.anchor)
            if anchor is None or anchor > c.cutoff:
                continue
            if c.applies is not None and not c.applies(view, c.ctx):
                continue
            due.append((c, c.due_on(anchor)))
        return self._outcome(view, due) if due else []

    def _holds_of(self, category: str) -> tuple[ErasureException, ...]:
        found = self._by_category_holds.get(category)
        if found is None:
            found = self._by_category_holds[category] = tuple(self.holds.get(category, []) + self.holds.get("", []))
        return found

    def _running_holds(self, view: RecordView) -> tuple[ErasureException, ...]:
        return tuple(h for h in self._holds_of(view.category) if hold_runs(h, view, self.today))

    def _after_holds(self, view: RecordView, due: date) -> date:
        """A restricted record's purge waited for its holds: it is due when the last of them ended (also
        a new decision, distinct from the restrict made on the policy's own due date)."""
        ends = [hold_end(h, view) for h in self._holds_of(view.category)]
        return max([due] + [end for end in ends if end is not None and end <= self.today])

    def _hold(self, c: _Compiled, view: RecordView, on: date) -> list[Decision] | None:
        """A due hold policy: a hold (and its latest review) while it runs; None once its end has come."""
        end = hold_policy_end(c.policy, view)
        if end is not None and end <= self.today:
            return None
        decisions = [Decision(c.policy, "hold", on)]
        review = last_review(c.policy, on, self.today)
        if review is not None:
            until = f"; the hold ends on {end.isoformat()}" if end is not None else ""
            decisions.append(Decision(c.policy, "review", review,
                                      note=f"review: does the reason to hold still apply{until}"))
        return decisions

    def _outcome(self, view: RecordView, due: list[tuple[_Compiled, date]]) -> list[Decision]:
        decisions: list[Decision] = []
        ending: list[tuple[_Compiled, date, str]] = []
        for c, on in due:
            if c.action == "hold":
                held = self._hold(c, view, on)
                if held is None:   # the hold is over: the record ends the day it ended
                    ending.append((c, max(on, hold_policy_end(c.policy, view)), "purge"))
                else:
                    decisions.extend(held)
            elif c.action in ENDING:
                ending.append((c, on, c.action))
        if ending and not decisions:
            # Purge before restrict, then by name: one end per record, the same on every run.
            c, on, action = min(ending, key=lambda item: (item[2] != "purge", item[0].policy.name))
            holds = self._running_holds(view)
            if not holds:
                return [Decision(c.policy, "purge", self._after_holds(view, on) if view.restricted else on)]
            return [] if view.restricted else [Decision(c.policy, "restrict", on, holds)]
        if view.restricted:
            return decisions
        for c, on in due:
            if c.action == "flag" and view.needs_verification_since is None:
                decisions.append(Decision(c.policy, "flag", on))
            elif c.action == "reconsent":
                decisions.append(Decision(c.policy, "reconsent", on))
        return decisions


def decide(view: RecordView, policies: Sequence[EffectivePolicy], ctx: RuleContext,
           holds: Sequence[ErasureException] = ()) -> list[Decision]:
    """The decisions due for one record on `ctx.today` (each policy's `applies` gets its own plugin's
    settings, whatever `ctx.settings` holds). A sweep compiles a `Ruleset` once instead."""
    return Ruleset(policies, holds, ctx.tenant_id, ctx.today).decide(view)


def _hold_dates(policy: EffectivePolicy, view: RecordView, held_from: date, start: date, end: date) -> set[date]:
    """A hold's review dates and its end, from `start` until before `end` (for the forecast)."""
    found = set()
    stop = hold_policy_end(policy, view)
    if stop is not None and start <= stop < end:
        found.add(stop)
    review = last_review(policy, held_from, end - timedelta(days=1))
    while review is not None and review >= start and (stop is None or review < stop):
        found.add(review)
        review = last_review(policy, held_from, review - timedelta(days=1))
    return found


def month_of(day: date) -> str:
    return f"{day:%Y-%m}"


def forecast(views: Iterable[RecordView], policies: Sequence[EffectivePolicy], tenant, start: date, days: int,
             holds: Sequence[ErasureException] = ()) -> Counter:
    """What becomes due from `start` for `days` days, as {(month "YYYY-MM", policy key, action): count}.

    Each record is decided as the daily sweep would decide it on each of its due dates in the window
    (with today's state of the record: a flag that becomes due is counted, also if a later purge in the
    window will follow it). Only decisions due on that very day count, so nothing is counted twice."""
    end = start + timedelta(days=days)
    tenant_id = tenant.id
    rulesets: dict[date, Ruleset] = {}
    counts: Counter = Counter()
    compiled_today = Ruleset(policies, holds, tenant_id, start)
    for view in views:
        dates = set()
        for c in compiled_today.by_category.get(view.category, ()):
            anchor = view.date_of(c.anchor)
            if anchor is not None:
                on = c.due_on(anchor)
                if start <= on < end:
                    dates.add(on)
                if c.action == "hold":
                    dates.update(_hold_dates(c.policy, view, on, start, end))
        for on in sorted(dates):
            ruleset = rulesets.get(on)
            if ruleset is None:
                ruleset = rulesets[on] = Ruleset(policies, holds, tenant_id, on)
            for decision in ruleset.decide(view):
                if decision.due_on == on:
                    counts[(month_of(on), decision.policy.key, decision.action)] += 1
    return counts
