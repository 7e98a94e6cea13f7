"""Sweeps from the portal: an admin starts a dry run or a sweep, a real worker runs it, the run's page shows
live progress while it runs and its counts per rule afterwards. Only admins start; runs of another tenant 404."""
from __future__ import annotations

from datetime import date

import pytest
import sqlalchemy as sa

from saas.core import clock, tenancy
from saas.extensions import db
from saas.jobs.queues import queue
from saas.modules.retention.models import SweepRun
from saas.modules.subjects.models import DataSubject
from saas.testing.fixtures_web import find_csrf_token
from saas.testing.retention_for_tests import sweep_queues  # noqa: F401  (fixture)
from saas.testing.retention_portal import (  # noqa: F401  (fixtures)
    leadgen_tenant, make_company, read_row, text_of,
)

TODAY = date(2026, 3, 15)


@pytest.fixture(autouse=True)
def _clock():
    clock.set_now(TODAY)
    yield
    clock.set_now(None)


@pytest.fixture()
def seeded(leadgen_tenant, make_subject, make_company):
    """A tenant where today's sweep purges one prospect (10-month override) and flags another."""
    tenant = leadgen_tenant()
    people = {
        "purge": make_subject(tenant, "prospect", last_verified_on=date(2025, 4, 1)),   # due 2026-02-01
        "flag": make_subject(tenant, "prospect", last_verified_on=date(2025, 9, 1)),    # due 2026-03-01
        "keep": make_subject(tenant, "prospect", last_verified_on=date(2026, 1, 1)),
    }
    make_company(tenant, last_verified_on=date(2024, 1, 1))  # the company rule is switched off
    return tenant, people


EXPECTED = {"leadgen.prospect_unverified@v1": {"purge": 1}, "leadgen.prospect_verification@v1": {"flag": 1}}


def _runs(tenant) -> list[SweepRun]:
    db.session.commit()
    tenancy.set_tenant(tenant.id)
    runs = list(db.session.scalars(sa.select(SweepRun).order_by(SweepRun.started_at)))
    for run in runs:
        db.session.expunge(run)
    db.session.commit()
    tenancy.set_tenant(None)
    return runs


def _start(browser, tenant, button: str):
    base = f"/{tenant.slug}/retention"
    token = find_csrf_token(browser.get(base).get_data(as_text=True))
    return browser.post(f"{base}/sweeps", data={"csrf_token": token, button: "x"})


def test_sweep_started_in_the_portal_runs_in_a_worker_and_reports(seeded, make_user, browser_as, run_worker,
                                                                  read_row, sweep_queues, audit_lines):
    tenant, people = seeded
    admin, password = make_user(tenant=tenant)
    browser = browser_as(admin, password)

    response = _start(browser, tenant, "sweep")
    (run,) = _runs(tenant)
    assert response.status_code == 302
    assert response.headers["Location"].endswith(f"/{tenant.slug}/retention/sweeps/{run.id}")
    assert (run.trigger, run.dry_run, run.status, run.as_of) == ("portal", False, "running", TODAY)
    assert queue("sweeps").get_job_ids() == [run.job_id]

    # While it waits for a worker: live progress through the tenant's job progress endpoint.
    running = text_of(browser.get(response.headers["Location"]))
    progress_url = f"/{tenant.slug}/jobs/{run.job_id}/progress"
    assert f'data-progress-url="{progress_url}"' in running and 'data-status="running"' in running
    assert browser.get(progress_url).get_json()["status"] == "queued"
    index = text_of(browser.get(f"/{tenant.slug}/retention"))
    assert 'id="running-sweep"' in index and f'data-progress-url="{progress_url}"' in index

    run_worker(queues=["sweeps"], timeout=120)

    assert browser.get(progress_url).get_json()["status"] == "finished"
    done = text_of(browser.get(response.headers["Location"]))
    assert 'data-status="finished"' in done and "data-progress-url" not in done
    assert '<dd id="sweep-evaluated">4</dd>' in done
    for rule, actions in EXPECTED.items():
        for action, count in actions.items():
            assert f'<tr data-rule="{rule}" data-action="{action}">' in done
            row = done.split(f'<tr data-rule="{rule}" data-action="{action}">')[1].split("</tr>")[0]
            assert f'<td class="num">{count}</td>' in row
    (finished,) = _runs(tenant)
    assert finished.counts == EXPECTED and finished.evaluated == 4
    assert read_row(tenant, DataSubject, people["purge"].id) is None
    assert read_row(tenant, DataSubject, people["flag"].id).needs_verification_since == TODAY
    assert read_row(tenant, DataSubject, people["keep"].id).needs_verification_since is None
    assert [line[1] for line in audit_lines(tenant.id, "retention.sweep.start")] == [str(run.id)]

    history = text_of(browser.get(f"/{tenant.slug}/retention"))
    assert f'data-run-id="{run.id}"' in history and 'id="running-sweep"' not in history
    assert "leadgen.prospect_unverified@v1" in history.split('id="sweep-history"')[1]


def test_a_dry_run_counts_and_changes_nothing(seeded, make_user, browser_as, run_worker, read_row, sweep_queues):
    tenant, people = seeded
    browser = browser_as(*make_user(tenant=tenant))

    response = _start(browser, tenant, "dry_run")
    (run,) = _runs(tenant)
    assert run.dry_run and run.trigger == "portal"
    run_worker(queues=["sweeps"], timeout=120)

    page = text_of(browser.get(response.headers["Location"]))
    assert 'data-status="finished"' in page and "dry run: counts only" in page
    (finished,) = _runs(tenant)
    assert finished.counts == EXPECTED
    assert read_row(tenant, DataSubject, people["purge"].id) is not None
    assert read_row(tenant, DataSubject, people["flag"].id).needs_verification_since is None


def test_only_admins_start_a_sweep(seeded, make_user, browser_as, sweep_queues):
    tenant, _ = seeded
    base = f"/{tenant.slug}/retention"
    admin = browser_as(*make_user(tenant=tenant))
    token = find_csrf_token(admin.get(base).get_data(as_text=True))
    for role in ("supervisor", "agent", "client"):
        browser = browser_as(*make_user(tenant=tenant, role=role))
        page_token = find_csrf_token(browser.get(f"/{tenant.slug}/").get_data(as_text=True))
        assert browser.post(f"{base}/sweeps", data={"csrf_token": page_token, "sweep": "x"}).status_code == 404, role
    assert admin.post(f"{base}/sweeps", data={"sweep": "x"}).status_code == 400          # no CSRF token
    assert admin.post(f"{base}/sweeps", data={"csrf_token": token}).status_code == 400   # no button
    assert _runs(tenant) == [] and queue("sweeps").count == 0


def test_run_pages_by_role_and_tenant(seeded, leadgen_tenant, make_user, browser_as, as_tenant, sweep_queues):
    from saas.modules.retention import jobs

    tenant, _ = seeded
    other = leadgen_tenant()
    as_tenant(other)
    foreign = jobs.start_sweep(other.id, as_of=TODAY, dry_run=True, trigger="command", enqueue=False).id
    as_tenant(tenant)
    own = jobs.start_sweep(tenant.id, as_of=TODAY, dry_run=True, trigger="command", enqueue=False).id
    as_tenant(None)
    base = f"/{tenant.slug}/retention/sweeps"

    codes = {role: browser_as(*make_user(tenant=tenant, role=role)).get(f"{base}/{own}").status_code
             for role in ("admin", "supervisor", "agent", "client")}
    assert codes == {"admin": 200, "supervisor": 200, "agent": 404, "client": 404}
    admin = browser_as(*make_user(tenant=tenant))
    assert admin.get(f"{base}/{foreign}").status_code == 404
    assert admin.get(f"{base}/not-a-uuid").status_code == 404
    assert browser_as(*make_user(tenant=other)).get(f"{base}/{own}").status_code == 404
