"""The forecast (what becomes due per month) against what the daily sweeps then really decide."""
from collections import Counter
from datetime import date

import sqlalchemy as sa

from saas.core import clock
from saas.extensions import db
from saas.modules.companies.models import Company
from saas.modules.retention import jobs, queries
from saas.modules.retention.models import RetentionDecision
from saas.modules.subjects.models import DataSubject
from saas.testing.retention_for_tests import rules  # noqa: F401  (fixture)

START = date(2024, 1, 10)
MONTHS = [f"2024-{m:02d}" for m in range(1, 13)]


def _people() -> None:
    db.session.add_all([
        DataSubject(category="candidate", last_contact_on=date(2023, 1, 20)),   # re-consent 2024-01-20
        DataSubject(category="candidate", last_contact_on=date(2023, 1, 25)),   # re-consent 2024-01-25
        DataSubject(category="candidate", last_contact_on=date(2022, 2, 5)),    # purge 2024-02-05
        DataSubject(category="prospect", last_verified_on=date(2023, 8, 15)),   # flag 2024-02-15, purge 2024-08-15
        DataSubject(category="prospect", last_verified_on=date(2023, 8, 15),
                    needs_verification_since=date(2024, 1, 2)),                  # flagged already; purge 2024-08-15
        DataSubject(category="client_contact", relationship_ended_on=date(2016, 6, 1)),  # due 2024-01-01: past
        DataSubject(category="client_contact", relationship_ended_on=date(2017, 3, 1)),  # due 2025-01-01: later
        Company(name="Drukkerij Van Dam", last_verified_on=date(2023, 9, 1)),   # flag 2024-03-01
    ])
    db.session.commit()


def test_the_forecast_counts_per_month_what_the_daily_sweeps_then_decide(make_tenant, as_tenant, rules):
    tenant = make_tenant(plugins=["rtest"])
    as_tenant(tenant)
    clock.set_now(START)
    _people()

    forecast = queries.forecast_by_month(tenant, months=12)

    assert forecast.months == MONTHS and forecast.start == START and not forecast.empty

    def month(n: int, count: int = 1) -> list[int]:
        return [count if i == n - 1 else 0 for i in range(12)]

    assert forecast.series == {
        ("rtest.candidate_reconsent@v1", "reconsent"): month(1, 2),
        ("rtest.candidate_purge@v1", "purge"): month(2),
        ("rtest.prospect_flag@v1", "flag"): month(2),
        ("rtest.company_flag@v1", "flag"): month(3),
        ("rtest.prospect_purge@v2", "purge"): month(8, 2),
    }
    assert forecast.totals == [2, 2, 1, 0, 0, 0, 0, 2, 0, 0, 0, 0]

    # The sweeps of those days decide exactly that.
    for day in (date(2024, 1, 20), date(2024, 1, 25), date(2024, 2, 5), date(2024, 2, 15), date(2024, 3, 1),
                date(2024, 8, 15)):
        run = jobs.start_sweep(tenant.id, as_of=day, enqueue=False)
        jobs.run_sweep(tenant.id, str(run.id))
        as_tenant(tenant)
    decided = Counter(
        (f"{d.due_on:%Y-%m}", f"{d.policy}@v{d.policy_version}", d.action)
        for d in db.session.scalars(sa.select(RetentionDecision)) if START <= d.due_on <= date(2024, 12, 31))
    expected = Counter({(MONTHS[i], key, action): count
                        for (key, action), counts in forecast.series.items() for i, count in enumerate(counts) if count})
    assert decided == expected


def test_a_tenant_without_rules_or_records_has_an_empty_forecast(make_tenant, as_tenant, rules):
    tenant = make_tenant(plugins=["rtest"])
    as_tenant(tenant)
    forecast = queries.forecast_by_month(tenant, months=3, start=date(2024, 11, 30))
    assert forecast.months == ["2024-11", "2024-12", "2025-01"]
    assert forecast.empty and forecast.series == {} and forecast.totals == [0, 0, 0]
