"""The retention engine on its own: due dates, precedence of actions, legal holds, forecast. Pure code, no
database: views and policies are built here (the test rules of saas/testing/retention_for_tests.py)."""
import uuid
from dataclasses import replace
from datetime import date, timedelta
from types import SimpleNamespace

import pytest

from saas.modules.retention import engine
from saas.modules.retention.policies import (
    Period, add_period, counting_from, due_on, hold_runs, latest_due_anchor, resolve,
)
from saas.plugins.definitions import ErasureException, RecordView, RetentionPolicy, RuleContext
from saas.testing import retention_for_tests as rules

BY_NAME = {p.name: p for p in rules.POLICIES}
TENANT = SimpleNamespace(id=7)


def policy(name: str, settings=None, override=None):
    return resolve(BY_NAME[name], settings or {}, override)


def policies(*names, settings=None):
    return [policy(name, settings) for name in names]


def view(category="candidate", **dates) -> RecordView:
    dates.setdefault("created_on", date(2019, 1, 1))
    return RecordView(id=uuid.uuid4(), kind="company" if category == "company" else "subject", category=category,
                      **dates)


def ctx(today: date, settings=None) -> RuleContext:
    return RuleContext(tenant_id=TENANT.id, today=today, settings=settings or {})


def outcome(v, today, names, holds=(), settings=None):
    return [(d.policy.name, d.action, d.due_on) for d in engine.decide(v, policies(*names, settings=settings),
                                                                       ctx(today), holds)]


# --- dates -------------------------------------------------------------------------------------------------

def test_calendar_periods_clamp_the_day_of_the_month():
    assert add_period(date(2023, 1, 31), Period(months=1)) == date(2023, 2, 28)
    assert add_period(date(2024, 1, 31), Period(months=1)) == date(2024, 2, 29)
    assert add_period(date(2024, 2, 29), Period(years=1)) == date(2025, 2, 28)
    assert add_period(date(2024, 8, 31), Period(months=6)) == date(2025, 2, 28)
    assert add_period(date(2024, 3, 1), Period(weeks=4)) == date(2024, 3, 29)
    assert add_period(date(2024, 3, 1), Period()) == date(2024, 3, 1)


def test_a_fiscal_period_counts_from_the_end_of_the_anchors_year():
    # Ended in 2019: the records of 2019 close on 31 December; 7 full years later is 1 January 2027.
    assert counting_from(date(2019, 3, 1), True) == date(2020, 1, 1)
    contact = view("client_contact", relationship_ended_on=date(2019, 3, 1))
    assert due_on(policy("rtest.contact_records"), contact) == date(2027, 1, 1)
    assert due_on(policy("rtest.contact_records"), replace(contact, relationship_ended_on=date(2019, 12, 31))) \
        == date(2027, 1, 1)


def test_a_never_verified_record_counts_from_its_creation_and_no_anchor_means_never():
    assert due_on(policy("rtest.prospect_flag"), view("prospect", created_on=date(2024, 1, 15))) == date(2024, 7, 15)
    assert due_on(policy("rtest.candidate_purge"), view("candidate")) is None


@pytest.mark.parametrize("period, year_end", [
    (Period(months=1), False), (Period(months=6), False), (Period(years=1), False), (Period(weeks=4), False),
    (Period(years=2, months=1, days=3), False), (Period(), False), (Period(years=7), True), (Period(months=13), True),
])
def test_the_sweeps_single_date_comparison_equals_the_due_date_rule(period, year_end):
    """`latest_due_anchor` lets a sweep compare one date per record; it must give exactly the records whose
    due date (calendar arithmetic, clamped) is on or before the day: checked around the cutoff (and far
    from it) on every day of a span with two February ends and a leap day."""
    for today in (date(2024, 1, 1) + timedelta(days=n) for n in range(800)):
        cutoff = latest_due_anchor(period, year_end, today)
        around = [cutoff + timedelta(days=k) for k in range(-6, 7)]
        for anchor in around + [cutoff - timedelta(days=3000), cutoff + timedelta(days=400)]:
            due = add_period(counting_from(anchor, year_end), period)
            assert (anchor <= cutoff) == (due <= today), (period, year_end, today, anchor)


# --- due edges ---------------------------------------------------------------------------------------------

def test_a_purge_is_due_on_its_day_not_the_day_before():
    candidate = view(last_contact_on=date(2022, 3, 15))
    due = date(2024, 3, 15)
    assert outcome(candidate, due - timedelta(days=1), ["rtest.candidate_purge"]) == []
    assert outcome(candidate, due, ["rtest.candidate_purge"]) == [("rtest.candidate_purge", "purge", due)]
    assert outcome(candidate, due + timedelta(days=1), ["rtest.candidate_purge"]) == \
        [("rtest.candidate_purge", "purge", due)]  # the due date stays the due date: one decision per date


def test_applies_decides_whether_a_due_policy_acts():
    placed = view(last_contact_on=date(2020, 1, 1), placed_from=date(2019, 5, 1))
    assert outcome(placed, date(2024, 1, 1), ["rtest.candidate_purge", "rtest.candidate_reconsent"]) == []


def test_each_policy_gets_the_settings_of_its_own_plugin():
    contact = view("client_contact", relationship_ended_on=date(2019, 3, 1))
    names = ["rtest.contact_records", "rtest.contact_liability"]
    assert outcome(contact, date(2027, 1, 1), names) == [("rtest.contact_records", "purge", date(2027, 1, 1))]
    held = outcome(contact, date(2027, 1, 1), names, settings={"liability_hold": True})
    assert held == [("rtest.contact_liability", "hold", date(2027, 1, 1))]


def test_a_disabled_policy_decides_nothing():
    applicant = view("applicant", procedure_closed_on=date(2024, 1, 1))
    assert outcome(applicant, date(2025, 1, 1), ["rtest.off"]) == []
    enabled = resolve(BY_NAME["rtest.off"], {}, {"enabled": True})
    assert [d.action for d in engine.decide(applicant, [enabled], ctx(date(2025, 1, 1)))] == ["flag"]


# --- precedence --------------------------------------------------------------------------------------------

def test_purge_beats_flag_for_the_same_record():
    prospect = view("prospect", last_verified_on=date(2023, 1, 10))
    names = ["rtest.prospect_flag", "rtest.prospect_purge"]
    assert outcome(prospect, date(2023, 7, 10), names) == [("rtest.prospect_flag", "flag", date(2023, 7, 10))]
    assert outcome(prospect, date(2024, 1, 10), names) == [("rtest.prospect_purge", "purge", date(2024, 1, 10))]


def test_purge_beats_reconsent_for_the_same_record():
    candidate = view(last_contact_on=date(2022, 3, 15))
    names = ["rtest.candidate_reconsent", "rtest.candidate_purge"]
    assert outcome(candidate, date(2023, 3, 15), names) == \
        [("rtest.candidate_reconsent", "reconsent", date(2023, 3, 15))]
    assert outcome(candidate, date(2024, 3, 15), names) == [("rtest.candidate_purge", "purge", date(2024, 3, 15))]


def test_a_flagged_record_is_not_flagged_again():
    prospect = view("prospect", last_verified_on=date(2023, 1, 10), needs_verification_since=date(2023, 7, 10))
    assert outcome(prospect, date(2023, 8, 1), ["rtest.prospect_flag"]) == []


def test_a_hold_policy_keeps_the_record_from_a_purge_due_the_same_day():
    hold = RetentionPolicy(name="x.hold", version=1, category="candidate", anchor="last_contact_on", months=24,
                           action="hold")
    candidate = view(last_contact_on=date(2022, 3, 15))
    decided = engine.decide(candidate, [resolve(hold, {}, None), policy("rtest.candidate_purge")],
                            ctx(date(2024, 3, 15)))
    assert [(d.policy.name, d.action) for d in decided] == [("x.hold", "hold")]


FISCAL = rules.HOLDS[0]


def test_a_running_legal_hold_turns_a_purge_into_a_restrict_of_the_other_fields():
    # A purge rule shorter than the fiscal hold (an override of 1 year): the hold still runs.
    short = resolve(BY_NAME["rtest.contact_records"], {}, {"years": 1})
    contact = view("client_contact", relationship_ended_on=date(2019, 3, 1))
    decided = engine.decide(contact, [short], ctx(date(2021, 1, 1)), [FISCAL])
    assert [(d.action, d.due_on) for d in decided] == [("restrict", date(2021, 1, 1))]
    assert decided[0].kept_fields == set(rules.FISCAL_FIELDS)
    assert decided[0].reason == rules.FISCAL_REASON


def test_a_legal_hold_runs_until_the_day_before_its_end_and_while_its_anchor_is_empty():
    contact = view("client_contact", relationship_ended_on=date(2019, 3, 1))
    assert hold_runs(FISCAL, contact, date(2026, 12, 31))
    assert not hold_runs(FISCAL, contact, date(2027, 1, 1))
    assert hold_runs(FISCAL, view("client_contact"), date(2090, 1, 1))       # relationship still running
    assert not hold_runs(FISCAL, view("candidate"), date(2020, 1, 1))         # another category


def test_a_restricted_record_is_not_restricted_twice_nor_flagged_nor_asked():
    short = resolve(BY_NAME["rtest.contact_records"], {}, {"years": 1})
    contact = view("client_contact", relationship_ended_on=date(2019, 3, 1), restricted=True)
    assert engine.decide(contact, [short], ctx(date(2021, 1, 1)), [FISCAL]) == []
    # Once the hold has ended the purge takes the rest, due the day the hold ended (not the restrict's day).
    assert [(d.action, d.due_on) for d in engine.decide(contact, [short], ctx(date(2027, 3, 1)), [FISCAL])] == \
        [("purge", date(2027, 1, 1))]
    candidate = view(last_contact_on=date(2022, 3, 15), restricted=True)
    assert outcome(candidate, date(2023, 6, 1), ["rtest.candidate_reconsent"]) == []


def test_a_restrict_policy_with_nothing_left_to_hold_purges():
    restrict = RetentionPolicy(name="x.restrict", version=1, category="client_contact",
                               anchor="relationship_ended_on", years=1, action="restrict")
    contact = view("client_contact", relationship_ended_on=date(2010, 3, 1))
    decided = engine.decide(contact, [resolve(restrict, {}, None)], ctx(date(2020, 1, 1)), [FISCAL])
    assert [d.action for d in decided] == ["purge"]


def test_erasure_exceptions_only_hold_their_own_category():
    other = ErasureException(name="x.other", version=1, category="member", fields=("iban",), reason="r",
                             anchor="relationship_ended_on", years=7)
    candidate = view(last_contact_on=date(2020, 1, 1))
    assert outcome(candidate, date(2022, 1, 1), ["rtest.candidate_purge"], holds=[other])[0][1] == "purge"


# --- forecast ----------------------------------------------------------------------------------------------

def test_forecast_counts_what_becomes_due_per_month_once():
    views = [
        view(last_contact_on=date(2023, 2, 10)),                 # reconsent 2024-02-10, purge 2025-02-10
        view(last_contact_on=date(2023, 2, 20)),                 # reconsent 2024-02-20
        view(last_contact_on=date(2022, 3, 5)),                  # purge 2024-03-05
        view(last_contact_on=date(2020, 1, 1)),                  # long overdue: not in the window
        view("prospect", last_verified_on=date(2023, 9, 1)),     # flag 2024-03-01
        view("prospect", last_verified_on=date(2023, 9, 1), needs_verification_since=date(2024, 1, 1)),
    ]
    counts = engine.forecast(views, policies(*BY_NAME), TENANT, date(2024, 2, 1), 60)
    assert counts == {
        ("2024-02", "rtest.candidate_reconsent@v1", "reconsent"): 2,
        ("2024-03", "rtest.candidate_purge@v1", "purge"): 1,
        ("2024-03", "rtest.prospect_flag@v1", "flag"): 1,
    }
    # The window's last day is start + days - 1.
    assert engine.forecast(views[2:3], policies(*BY_NAME), TENANT, date(2024, 1, 5), 60) == {}
    assert engine.forecast(views[2:3], policies(*BY_NAME), TENANT, date(2024, 1, 6), 60) == \
        {("2024-03", "rtest.candidate_purge@v1", "purge"): 1}


def test_forecast_applies_holds_at_the_due_date():
    short = resolve(BY_NAME["rtest.contact_records"], {}, {"years": 1})
    contact = view("client_contact", relationship_ended_on=date(2022, 6, 1))
    counts = engine.forecast([contact], [short], TENANT, date(2024, 1, 1), 31, [FISCAL])
    assert counts == {("2024-01", "rtest.contact_records@v1", "restrict"): 1}
