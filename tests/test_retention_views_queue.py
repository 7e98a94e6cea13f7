"""The verification queue: flagged subjects and companies, verify / mark as left / update per row, each
action audited, agents limited to their own assignments, another tenant's records 404."""
from __future__ import annotations

from datetime import date

import pytest
import sqlalchemy as sa

from saas.core import clock, tenancy
from saas.core.crypto.models import ShreddedSubject
from saas.extensions import db
from saas.modules.companies.models import Company
from saas.modules.retention.models import RetentionDecision
from saas.modules.retention.suppression import is_suppressed
from saas.modules.subjects.models import DataSubject
from saas.testing.fixtures_web import find_csrf_token
from saas.testing.records import make_assignment
from saas.testing.retention_portal import (  # noqa: F401  (fixtures)
    leadgen_tenant, make_company, read_row, text_of,
)

TODAY = date(2026, 3, 15)
FLAGGED = date(2026, 2, 1)


@pytest.fixture(autouse=True)
def _clock():
    clock.set_now(TODAY)
    yield
    clock.set_now(None)


@pytest.fixture()
def flagged(make_subject, make_company):
    """flagged(tenant, **fields) -> a prospect flagged for verification; flagged.company(tenant) a company."""

    def _subject(tenant, **fields):
        fields.setdefault("last_verified_on", date(2025, 8, 1))
        return make_subject(tenant, "prospect", needs_verification_since=FLAGGED, **fields)

    _subject.company = lambda tenant, **fields: make_company(
        tenant, last_verified_on=date(2025, 8, 1), needs_verification_since=FLAGGED, **fields)
    return _subject


def _post(browser, queue_url, action_url, **data):
    token = find_csrf_token(browser.get(queue_url).get_data(as_text=True))
    return browser.post(action_url, data={"csrf_token": token, **data})


def test_queue_lists_flagged_subjects_and_companies_and_audits_the_read(
        leadgen_tenant, make_user, make_subject, flagged, browser_as, audit_lines):
    tenant = leadgen_tenant()
    person = flagged(tenant, given_name="Fenna", family_name="Bakker")
    company = flagged.company(tenant, name="Bakkerij Bol BV")
    make_subject(tenant, "prospect", given_name="Niet", family_name="Gemarkeerd")
    admin, password = make_user(tenant=tenant)
    page = text_of(browser_as(admin, password).get(f"/{tenant.slug}/retention/verify"))

    assert "Fenna Bakker" in page and "Bakkerij Bol BV" in page
    assert "Niet Gemarkeerd" not in page
    assert "2 records to verify" in page
    assert f'href="/{tenant.slug}/subjects/{person.id}/edit"' in page        # Update
    assert f'href="/{tenant.slug}/companies/{company.id}/edit"' in page
    assert f"/retention/verify/subjects/{person.id}/left" in page          # Mark as left (subjects only)
    assert f"/retention/verify/companies/{company.id}/left" not in page
    (outcome, _, actor, detail), = audit_lines(tenant.id, "retention.queue")
    assert (outcome, actor, detail["count"], detail["total"]) == ("ok", str(admin.id), 2, 2)


def test_queue_pages(leadgen_tenant, make_user, flagged, browser_as):
    tenant = leadgen_tenant()
    for number in range(27):
        flagged(tenant, given_name=f"Persoon{number:02d}")
    browser = browser_as(*make_user(tenant=tenant))
    first = text_of(browser.get(f"/{tenant.slug}/retention/verify"))
    second = text_of(browser.get(f"/{tenant.slug}/retention/verify?page=2"))
    shown = [sum(f"Persoon{n:02d}" in page for n in range(27)) for page in (first, second)]
    assert shown == [25, 2]
    assert "Page 1 of 2" in first
    assert browser.get(f"/{tenant.slug}/retention/verify?page=0").status_code == 400  # bad input, not a missing page


def test_verify_makes_the_record_usable_again_and_is_audited(
        leadgen_tenant, make_user, flagged, browser_as, read_row, audit_lines):
    tenant = leadgen_tenant()
    person, company = flagged(tenant), flagged.company(tenant)
    supervisor, password = make_user(tenant=tenant, role="supervisor")
    browser = browser_as(supervisor, password)
    queue = f"/{tenant.slug}/retention/verify"

    response = _post(browser, queue, f"{queue}/subjects/{person.id}?page=1")
    assert response.status_code == 302 and response.headers["Location"].endswith(f"{queue}?page=1")
    response = _post(browser, queue, f"{queue}/companies/{company.id}")
    assert response.status_code == 302

    subject, firm = read_row(tenant, DataSubject, person.id), read_row(tenant, Company, company.id)
    assert (subject.needs_verification_since, subject.last_verified_on) == (None, TODAY)
    assert (firm.needs_verification_since, firm.last_verified_on) == (None, TODAY)
    verified = {(line[1], line[2]) for line in audit_lines(tenant.id, "retention.verify")}
    assert verified == {(str(person.id), str(supervisor.id)), (str(company.id), str(supervisor.id))}
    assert "Nothing to verify." in text_of(browser.get(queue))


def test_a_post_without_csrf_token_changes_nothing(leadgen_tenant, make_user, flagged, browser_as, read_row):
    tenant = leadgen_tenant()
    person = flagged(tenant)
    browser = browser_as(*make_user(tenant=tenant))
    queue = f"/{tenant.slug}/retention/verify"
    assert browser.post(f"{queue}/subjects/{person.id}").status_code == 400
    assert browser.post(f"{queue}/subjects/{person.id}/left").status_code == 400
    subject = read_row(tenant, DataSubject, person.id)
    assert (subject.needs_verification_since, subject.left_company_on) == (FLAGGED, None)


def test_mark_as_left_warns_then_purges_at_once(leadgen_tenant, make_user, flagged, browser_as, read_row,
                                                 audit_lines, ctx):
    tenant = leadgen_tenant()
    person = flagged(tenant, given_name="Vertrokken", family_name="Medewerker", email="weg@bedrijf.nl")
    admin, password = make_user(tenant=tenant)
    browser = browser_as(admin, password)
    confirm_url = f"/{tenant.slug}/retention/verify/subjects/{person.id}/left"

    confirm = browser.get(confirm_url)
    page = text_of(confirm)
    assert confirm.status_code == 200
    assert "Vertrokken Medewerker" in page and 'id="purge-warning"' in page
    assert "leadgen.prospect_left_company@v1" in page
    assert audit_lines(tenant.id, "subject.view") == [("ok", str(person.id), str(admin.id), {"purpose": "mark_left"})]
    assert read_row(tenant, DataSubject, person.id).left_company_on is None   # looking changes nothing

    response = browser.post(confirm_url, data={"csrf_token": find_csrf_token(confirm.get_data(as_text=True))})
    assert response.status_code == 302
    assert "their data was deleted" in text_of(browser.get(response.headers["Location"]))
    assert read_row(tenant, DataSubject, person.id) is None
    tenancy.set_tenant(tenant.id)
    decision = db.session.scalar(sa.select(RetentionDecision).where(RetentionDecision.record_id == person.id))
    assert (decision.policy, decision.action, decision.completed) == ("leadgen.prospect_left_company", "purge", True)
    assert db.session.get(ShreddedSubject, person.id) is not None             # key destroyed: crypto-shredded
    assert is_suppressed(email="weg@bedrijf.nl")                              # and suppressed (seed 004)
    db.session.commit()
    tenancy.set_tenant(None)
    assert [line[1] for line in audit_lines(tenant.id, "retention.left_company")] == [str(person.id)]


def test_mark_as_left_without_a_purging_rule_only_records_it(leadgen_tenant, make_user, flagged, browser_as,
                                                             read_row):
    from saas.testing.retention_portal import leadgen_settings

    tenant = leadgen_tenant(settings={"leadgen": leadgen_settings(delete_when_contact_left=False)})
    person = flagged(tenant)
    browser = browser_as(*make_user(tenant=tenant))
    confirm_url = f"/{tenant.slug}/retention/verify/subjects/{person.id}/left"
    confirm = browser.get(confirm_url)
    assert 'id="purge-warning"' not in text_of(confirm)
    browser.post(confirm_url, data={"csrf_token": find_csrf_token(confirm.get_data(as_text=True))})
    assert read_row(tenant, DataSubject, person.id).left_company_on == TODAY


def test_agent_sees_and_acts_on_the_flagged_people_of_its_assignments_only(
        leadgen_tenant, make_user, make_client_org, flagged, browser_as, read_row):
    tenant = leadgen_tenant()
    org = make_client_org(tenant)
    mine = flagged(tenant, given_name="Mijn", family_name="Prospect", client_org=org)
    theirs = flagged(tenant, given_name="Andermans", family_name="Prospect", client_org=org)
    agent, password = make_user(tenant=tenant, role="agent")
    make_assignment(tenant, org.id, agents=[agent], subjects=[mine])
    browser = browser_as(agent, password)
    queue = f"/{tenant.slug}/retention/verify"

    page = text_of(browser.get(queue))
    assert "Mijn Prospect" in page and "Andermans" not in page
    assert "1 record to verify" in page
    assert f"/subjects/{mine.id}/edit" not in page           # agents do not edit; they open the check page
    assert f'href="/{tenant.slug}/subjects/{mine.id}/verify"' in page
    for url in (f"{queue}/subjects/{theirs.id}", f"{queue}/subjects/{theirs.id}/left"):
        assert _post(browser, queue, url).status_code == 404
    assert browser.get(f"{queue}/subjects/{theirs.id}/left").status_code == 404
    assert read_row(tenant, DataSubject, theirs.id).needs_verification_since == FLAGGED

    assert _post(browser, queue, f"{queue}/subjects/{mine.id}").status_code == 302
    assert read_row(tenant, DataSubject, mine.id).needs_verification_since is None


def test_client_users_have_no_queue(leadgen_tenant, make_user, flagged, browser_as):
    tenant = leadgen_tenant()
    person = flagged(tenant)
    browser = browser_as(*make_user(tenant=tenant, role="client"))
    queue = f"/{tenant.slug}/retention/verify"
    assert browser.get(queue).status_code == 404
    assert browser.get(f"{queue}/subjects/{person.id}/left").status_code == 404
    token = find_csrf_token(browser.get(f"/{tenant.slug}/").get_data(as_text=True))
    assert browser.post(f"{queue}/subjects/{person.id}", data={"csrf_token": token}).status_code == 404


def test_another_tenants_records_answer_404(leadgen_tenant, make_user, flagged, browser_as, read_row):
    tenant, other = leadgen_tenant(), leadgen_tenant()
    foreign, foreign_company = flagged(other), flagged.company(other)
    browser = browser_as(*make_user(tenant=tenant))
    queue = f"/{tenant.slug}/retention/verify"
    assert browser.get(f"{queue}/subjects/{foreign.id}/left").status_code == 404
    for url in (f"{queue}/subjects/{foreign.id}", f"{queue}/subjects/{foreign.id}/left",
                f"{queue}/companies/{foreign_company.id}", f"{queue}/subjects/not-a-uuid"):
        assert _post(browser, queue, url).status_code == 404, url
    assert read_row(other, DataSubject, foreign.id).needs_verification_since == FLAGGED
    assert read_row(other, Company, foreign_company.id).needs_verification_since == FLAGGED
    # Through the other tenant's URL: not a member, 404.
    assert browser.get(f"/{other.slug}/retention/verify").status_code == 404
