"""The retention page: each policy in force with the seed sentence it keeps and where its period came from
(seed default, plugin setting, tenant override), the forecast chart and its table, who may see it."""
from __future__ import annotations

import re
from datetime import date

import pytest

from plugins.leadgen import rules as leadgen_rules
from saas.core import clock
from saas.testing.retention_portal import (  # noqa: F401  (fixtures)
    article, forecast_rows, leadgen_tenant, make_company, text_of,
)

TODAY = date(2026, 3, 15)


@pytest.fixture(autouse=True)
def _clock():
    clock.set_now(TODAY)
    yield
    clock.set_now(None)


def test_page_shows_each_policy_with_its_source_and_origins(leadgen_tenant, make_user, browser_as):
    tenant = leadgen_tenant()
    admin, password = make_user(tenant=tenant)
    page = text_of(browser_as(admin, password).get(f"/{tenant.slug}/retention"))

    enabled, disabled = page.split('id="disabled-heading"')
    for policy in leadgen_rules.POLICIES:
        assert policy.source in page, policy.name
        assert f"{policy.name}@v{policy.version}" in (disabled if policy.name == "leadgen.company_verification"
                                                       else enabled)

    purge = article(page, "leadgen.prospect_unverified")
    assert "10 months after the last verification" in purge
    assert f"override in tenants/{tenant.slug}.toml" in purge
    assert "Lead generation" in purge and "Purge" in purge
    flag = article(page, "leadgen.prospect_verification")
    assert "6 months after the last verification" in flag
    assert "plugin setting settings.leadgen.verify_after_months" in flag
    assert "override in" not in flag
    left = article(page, "leadgen.prospect_left_company")
    assert "at once after leaving the company" in left and "seed default" in left
    company = article(disabled, "leadgen.company_verification")
    assert "Off" in company and f"override in tenants/{tenant.slug}.toml" in company


def test_forecast_table_and_chart_count_the_seeded_records(leadgen_tenant, make_user, make_subject, make_company,
                                                           browser_as):
    tenant = leadgen_tenant()
    # Flag 6 months after the last verification (plugin setting), purge 10 months after it (override).
    make_subject(tenant, "prospect", last_verified_on=date(2025, 10, 20))  # flag 2026-04-20, purge 2026-08-20
    make_subject(tenant, "prospect", last_verified_on=date(2025, 11, 1))   # flag 2026-05-01, purge 2026-09-01
    make_subject(tenant, "prospect", last_verified_on=date(2026, 3, 1))    # flag 2026-09-01, purge 2027-01-01
    make_subject(tenant, "prospect", last_verified_on=date(2025, 4, 1))    # both overdue: the next sweep's work
    make_company(tenant, last_verified_on=date(2025, 10, 1))               # company rule switched off
    admin, password = make_user(tenant=tenant)
    response = browser_as(admin, password).get(f"/{tenant.slug}/retention")
    page = text_of(response)

    rows = forecast_rows(page)
    assert list(rows) == [f"2026-{m:02d}" for m in range(3, 13)] + ["2027-01", "2027-02"]
    due = {month: {a: n for a, n in counts.items() if n} for month, counts in rows.items()}
    assert due == {
        "2026-03": {}, "2026-04": {"flag": 1, "total": 1}, "2026-05": {"flag": 1, "total": 1},
        "2026-06": {}, "2026-07": {}, "2026-08": {"purge": 1, "total": 1},
        "2026-09": {"flag": 1, "purge": 1, "total": 2}, "2026-10": {}, "2026-11": {}, "2026-12": {},
        "2027-01": {"purge": 1, "total": 1}, "2027-02": {},
    }
    # The chart draws the same numbers: one segment per month and action, with its count.
    segments = re.findall(r'<rect x="[\d.]+" y="[\d.]+" width="[\d.]+" height="([\d.]+)"\s+fill="#\w+" '
                          r'data-action="(\w+)" data-count="(\d+)"', page)
    assert sorted((action, int(count)) for _, action, count in segments) == [
        ("flag", 1), ("flag", 1), ("flag", 1), ("purge", 1), ("purge", 1), ("purge", 1)]
    assert len({height for height, _, _ in segments}) == 1  # equal counts, equal heights
    assert "April 2026" in page and "<svg" in page
    assert " style=" not in page  # the CSP forbids style attributes


def test_forecast_months_in_the_ui_language(leadgen_tenant, make_user, make_subject, browser_as):
    tenant = leadgen_tenant(locale="nl")
    make_subject(tenant, "prospect", last_verified_on=date(2025, 10, 20))
    admin, password = make_user(tenant=tenant)
    page = text_of(browser_as(admin, password).get(f"/{tenant.slug}/retention"))
    assert "april 2026" in page and "maart 2026" in page
    assert "April 2026" not in page


def test_without_plugins_the_page_says_so(make_tenant, make_user, browser_as):
    tenant = make_tenant(locale="en")
    admin, password = make_user(tenant=tenant)
    response = browser_as(admin, password).get(f"/{tenant.slug}/retention")
    assert response.status_code == 200
    page = text_of(response)
    assert "No retention policy is in force" in page
    assert forecast_rows(page)["2026-03"] == {"flag": 0, "reconsent": 0, "purge": 0, "restrict": 0, "total": 0}


def test_roles_on_the_retention_page(leadgen_tenant, make_user, browser_as):
    tenant = leadgen_tenant()
    base = f"/{tenant.slug}/retention"
    pages = {role: browser_as(*make_user(tenant=tenant, role=role)).get(base)
             for role in ("admin", "supervisor", "agent", "client")}

    assert pages["admin"].status_code == 200
    assert 'name="sweep"' in text_of(pages["admin"]) and 'name="dry_run"' in text_of(pages["admin"])
    assert pages["supervisor"].status_code == 200
    assert 'name="sweep"' not in text_of(pages["supervisor"])        # supervisors watch, admins start
    assert pages["agent"].status_code == 302                           # agents only verify
    assert pages["agent"].headers["Location"].endswith(f"{base}/verify")
    assert pages["client"].status_code == 404


def test_navigation_links_the_retention_page_for_staff_only(leadgen_tenant, make_user, browser_as):
    tenant = leadgen_tenant()
    link = f'href="/{tenant.slug}/retention"'
    for role, shown in (("admin", True), ("supervisor", True), ("agent", True), ("client", False)):
        page = text_of(browser_as(*make_user(tenant=tenant, role=role)).get(f"/{tenant.slug}/"))
        assert (link in page) is shown, role


def test_another_tenants_member_gets_404(leadgen_tenant, make_user, browser_as, client):
    tenant, other = leadgen_tenant(), leadgen_tenant()
    outsider = browser_as(*make_user(tenant=other))
    assert outsider.get(f"/{tenant.slug}/retention").status_code == 404
    assert outsider.get(f"/{tenant.slug}/retention/verify").status_code == 404
    # Not logged in: to the login page, no data.
    response = client.get(f"/{tenant.slug}/retention")
    assert response.status_code == 302 and "/login" in response.headers["Location"]


@pytest.mark.parametrize("maximum, step", [(0, 1), (4, 1), (7, 2), (19, 5), (130, 50), (2400, 1000)])
def test_grid_steps_are_round(maximum, step):
    from saas.modules.retention.views import nice_step

    assert nice_step(maximum) == step


def test_chart_stacks_segments_in_proportion(app):
    from saas.modules.retention.views import layout_chart

    months = [date(2026, 3, 1), date(2026, 4, 1)]
    with app.test_request_context("/"):
        chart = layout_chart(months, {"flag": [30, 0], "purge": [10, 100]}, height=232, top=12, bottom=20)
    plot_bottom = 232 - 20
    assert [(t[1]) for t in chart.ticks] == [0, 50, 100]           # 100 at the top of a 200 px plot
    march_flag, march_purge, april_purge = chart.bars
    assert (march_flag.action, march_flag.height, march_flag.y) == ("flag", 60.0, plot_bottom - 60.0)
    assert (march_purge.height, march_purge.y) == (20.0, plot_bottom - 80.0)   # stacked on the flag segment
    assert (april_purge.height, april_purge.y) == (200.0, 12.0)
    assert march_flag.x < april_purge.x and march_flag.width == april_purge.width
