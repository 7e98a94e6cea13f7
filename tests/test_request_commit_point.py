"""One commit point per request (`saas.core.transaction`): below 400 the request's writes are committed,
otherwise rolled back; a refusal audit still lands; an uncaught DomainError answers with its status;
after_commit/after_rollback work waits for the outcome. Probed with routes on a second app of the same
settings and database (routes cannot be added to the shared app once it served requests)."""
from __future__ import annotations

import pytest
from flask import Blueprint, abort, redirect

from saas.app import create_app
from saas.core import transaction
from saas.core.errors import DomainError
from saas.core.web import switch_tenant
from saas.modules.audit import operations as audit

OUTCOMES: list[str] = []
probe = Blueprint("probe", __name__, url_prefix="/probe")


@probe.get("/<int:tenant_id>/<outcome>")
def write_then(tenant_id: int, outcome: str):
    switch_tenant(tenant_id)
    audit.record("probe.write", "probe", outcome)
    transaction.after_commit(OUTCOMES.append, f"committed {outcome}")
    transaction.after_rollback(OUTCOMES.append, f"rolled back {outcome}")
    if outcome == "ok":
        return "ok"
    if outcome == "redirect":
        return redirect("/")
    if outcome == "bad":
        return "no", 400
    if outcome == "missing":
        abort(404)
    if outcome == "refused":
        raise DomainError("Dit kan niet.", errors={"name": "Vul een naam in."})
    if outcome == "refusal-audit":
        audit.record_refusal("probe.refused", "probe", outcome)
        abort(404)
    raise AssertionError(outcome)


@pytest.fixture(scope="module")
def probe_app(app, settings):
    """`app` first: it upgraded the database this one uses."""
    application = create_app(settings)
    application.register_blueprint(probe)
    return application


@pytest.fixture()
def probe_client(probe_app):
    OUTCOMES.clear()
    return probe_app.test_client()


def test_a_request_below_400_commits_and_then_runs_after_commit_work(probe_client, make_tenant, audit_lines):
    tenant = make_tenant()
    assert probe_client.get(f"/probe/{tenant.id}/ok").status_code == 200
    assert probe_client.get(f"/probe/{tenant.id}/redirect").status_code == 302
    assert [line[1] for line in audit_lines(tenant.id, "probe.write")] == ["ok", "redirect"]
    assert OUTCOMES == ["committed ok", "committed redirect"]


@pytest.mark.parametrize("outcome, status", [("bad", 400), ("missing", 404), ("refused", 400)])
def test_a_failing_request_leaves_nothing_written(probe_client, make_tenant, audit_lines, outcome, status):
    tenant = make_tenant()
    assert probe_client.get(f"/probe/{tenant.id}/{outcome}").status_code == status
    assert audit_lines(tenant.id, "probe.write") == []
    assert OUTCOMES == [f"rolled back {outcome}"]


def test_a_refusal_audit_lands_although_the_answer_is_404(probe_client, make_tenant, audit_lines):
    tenant = make_tenant()
    assert probe_client.get(f"/probe/{tenant.id}/refusal-audit").status_code == 404
    assert audit_lines(tenant.id, "probe.refused") == [("denied", "refusal-audit", None, {})]
    assert audit_lines(tenant.id, "probe.write") == []   # what was pending before the refusal is dropped


def test_an_uncaught_domain_error_answers_with_its_message(probe_client, make_tenant):
    tenant = make_tenant()
    page = probe_client.get(f"/probe/{tenant.id}/refused")
    assert page.status_code == 400 and "Dit kan niet." in page.get_data(as_text=True)
    answer = probe_client.get(f"/probe/{tenant.id}/refused", headers={"Accept": "application/json"})
    assert answer.status_code == 400
    assert answer.get_json() == {"code": 400, "status": "refused", "message": "Dit kan niet.",
                                 "errors": {"name": ["Vul een naam in."]}}


def test_a_non_member_entering_a_tenant_gets_404_and_leaves_a_refusal(make_user, make_tenant, browser_as, audit_lines):
    other = make_tenant()
    user, password = make_user(role="admin")
    browser = browser_as(user, password)
    assert browser.get(f"/{other.slug}/outbox").status_code == 404
    assert audit_lines(other.id, "tenant.enter") == [("denied", str(other.id), str(user.id), {})]
