"""A real browser (headless Chromium) on the retention page: an admin reads the policies and the forecast,
starts a sweep, watches its progress while a real worker runs it, and sees the results when it finishes.

Everything must work under the strict CSP: a blocked inline script or style would show as a console error.
"""
from __future__ import annotations

import pytest
from dateutil.relativedelta import relativedelta

from saas.core import clock
from saas.testing.retention_for_tests import sweep_queues  # noqa: F401  (fixture)
from saas.testing.retention_portal import leadgen_tenant  # noqa: F401  (fixture)
from tests.test_browser_portal import page  # noqa: F401  (fixture)

pytestmark = pytest.mark.browser

SCREENSHOTS = "/tmp/saas-retention-{}.png"


def test_admin_starts_a_sweep_and_sees_it_finish(page, live_server, leadgen_tenant, make_user, make_subject,
                                                 run_worker, sweep_queues):
    tenant = leadgen_tenant(locale="nl", name="Leadhunter Proef")
    today = clock.today()
    make_subject(tenant, "prospect", last_verified_on=today - relativedelta(months=11))   # purged (10 months)
    make_subject(tenant, "prospect", last_verified_on=today - relativedelta(months=7))    # flagged
    make_subject(tenant, "prospect", last_verified_on=today - relativedelta(months=3))    # flagged in the forecast
    admin, password = make_user(tenant=tenant)
    problems = []
    page.on("console", lambda msg: problems.append(msg.text) if msg.type == "error" else None)
    page.on("pageerror", lambda exc: problems.append(str(exc)))

    page.goto(f"{live_server}/{tenant.slug}/retention")
    page.get_by_label("E-mailadres").fill(admin.email)
    page.get_by_label("Wachtwoord").fill(password)
    page.get_by_role("button", name="Inloggen").click()
    page.wait_for_url(f"{live_server}/{tenant.slug}/retention")

    assert page.locator("#policy-leadgen\\.prospect_unverified blockquote").inner_text().startswith(
        "De bewaartermijn van ongecontroleerde gegevens is 12 maanden")
    assert page.locator(".forecast__chart rect[data-action=flag]").count() >= 1
    assert page.locator("#forecast-table tbody tr").count() == 12
    # The retention stylesheet applies (a quoted seed sentence has its bar on the left).
    assert page.locator(".policy__source blockquote").first.evaluate(
        "e => getComputedStyle(e).borderLeftStyle") == "solid"
    page.screenshot(path=SCREENSHOTS.format("page"), full_page=True)

    page.locator("button[name=sweep]").click()
    page.wait_for_url(f"{live_server}/{tenant.slug}/retention/sweeps/*")
    assert page.locator("#sweep-status").get_attribute("data-status") == "running"
    assert page.locator("[data-progress-url] progress").is_visible()

    run_worker(queues=["sweeps"], wait=False)          # a real worker picks the job up now
    # progress.js polls the job; when it reports "finished", retention.js reloads the page with the results.
    page.wait_for_selector('#sweep-status[data-status="finished"]', timeout=90000)
    assert page.locator('#sweep-counts tr[data-rule="leadgen.prospect_unverified@v1"][data-action="purge"] td.num')\
        .inner_text() == "1"
    assert page.locator('#sweep-counts tr[data-rule="leadgen.prospect_verification@v1"][data-action="flag"] td.num')\
        .inner_text() == "1"
    assert page.locator("#sweep-evaluated").inner_text() == "3"
    assert page.locator("[data-progress-url]").count() == 0
    page.screenshot(path=SCREENSHOTS.format("sweep"), full_page=True)
    assert problems == []
