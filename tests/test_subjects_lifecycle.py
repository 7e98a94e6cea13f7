"""Lifecycle dates, company link and consent history of data subjects: edited in the portal and the API,
checked together, shown on the subject page; bad input writes nothing."""
from __future__ import annotations

import uuid
from datetime import date, datetime, timedelta, timezone

import pytest
import sqlalchemy as sa

from saas.core import clock
from saas.extensions import db
from saas.modules.assignments.models import CallNote
from saas.modules.consents import operations as consents
from saas.modules.consents.models import ConsentRecord
from saas.modules.subjects.models import DataSubject
from saas.testing.fixtures_api import bearer
from saas.testing.fixtures_web import find_csrf_token
from saas.testing.records import add_note, count, in_tenant, make_assignment, make_company


@pytest.fixture()
def web_tenant(make_tenant):
    """Categories come only from a tenant's plugins: this tenant holds candidates, applicants, employees,
    client contacts, relations and members."""
    return make_tenant(plugins=["recruitment", "employment", "fiscal", "association"])

TODAY = date(2026, 3, 10)


@pytest.fixture(autouse=True)
def _today():
    clock.set_now(datetime(2026, 3, 10, 11, tzinfo=timezone.utc))
    yield
    clock.set_now(None)


def _stored(tenant, subject_id, *names):
    """The stored values of these attributes (read, and decrypted, inside the tenant)."""
    with in_tenant(tenant):
        subject = db.session.get(DataSubject, subject_id)
        db.session.refresh(subject)
        values = tuple(getattr(subject, name) for name in names)
    return values if len(values) > 1 else values[0]


def _form(**overrides) -> dict:
    form = {"category": "applicant", "given_name": "Iris", "family_name": "de Boer", "email": "iris@deboer.nl",
            "phone": "", "job_title": "", "city": "Gouda", "address": "", "iban": "", "last_contact_on": "",
            "notes": "", "client_org": "", "company": "", "placed_from": "", "placed_to": "", "employed_from": "",
            "employed_to": "", "relationship_ended_on": "", "procedure_closed_on": "", "procedure_outcome": "",
            "last_verified_on": "", "left_company_on": ""}
    form.update(overrides)
    return form


def test_supervisor_records_lifecycle_dates_and_company(make_user, web_tenant, make_subject, browser_as, audit_lines):
    company_id = make_company(web_tenant, name="Drukkerij Van Dam BV")
    subject = make_subject(web_tenant, "applicant", given_name="Iris", family_name="de Boer")
    browser = browser_as(*make_user(role="supervisor"))
    path = f"/{web_tenant.slug}/subjects/{subject.id}/edit"
    token = find_csrf_token(browser.get(path).get_data(as_text=True))

    response = browser.post(path, data=_form(
        csrf_token=token, company=str(company_id), procedure_closed_on="2026-02-20", procedure_outcome="rejected",
        employed_from="2020-01-01", employed_to="2025-12-31", iban="NL91 ABNA 0417 1643 00",
        address="Markt 1, 2801 JJ Gouda"))
    assert response.status_code == 302, response.get_data(as_text=True)
    assert _stored(web_tenant, subject.id, "procedure_closed_on", "procedure_outcome", "employed_from", "employed_to",
                   "company_id") == (date(2026, 2, 20), "rejected", date(2020, 1, 1), date(2025, 12, 31), company_id)
    page = browser.get(f"/{web_tenant.slug}/subjects/{subject.id}").get_data(as_text=True)
    assert "Drukkerij Van Dam BV" in page and "NL91 ABNA 0417 1643 00" in page and "Markt 1" in page
    fields = audit_lines(web_tenant.id, "subject.update")[0][3]["fields"]
    assert {"procedure_closed_on", "procedure_outcome", "company_id", "iban"} <= set(fields)
    assert "NL91" not in str(audit_lines(web_tenant.id, "subject.update"))


@pytest.mark.parametrize("overrides, field", [
    ({"placed_from": "2025-05-01", "placed_to": "2025-04-01"}, "placed_to"),
    ({"placed_to": "2025-04-01"}, "placed_from"),
    ({"employed_from": "2025-05-01", "employed_to": "2024-12-31"}, "employed_to"),
    ({"procedure_outcome": "rejected"}, "procedure_closed_on"),
    ({"procedure_closed_on": "2026-01-05"}, "procedure_outcome"),
    ({"procedure_closed_on": "2026-03-11", "procedure_outcome": "hired"}, "procedure_closed_on"),
    ({"last_verified_on": "2026-03-11"}, "last_verified_on"),
    ({"left_company_on": "2027-01-01"}, "left_company_on"),
    ({"procedure_outcome": "promoted"}, "procedure_outcome"),
    ({"iban": "NL91 ABNA 0417 1643 01"}, "iban"),
    ({"company": str(uuid.uuid4())}, "company"),
])
def test_form_rejects_dates_that_do_not_fit_and_writes_nothing(make_user, web_tenant, make_subject, browser_as,
                                                               audit_lines, overrides, field):
    subject = make_subject(web_tenant, "applicant", given_name="Iris", family_name="de Boer", city="Gouda")
    browser = browser_as(*make_user(role="admin"))
    path = f"/{web_tenant.slug}/subjects/{subject.id}/edit"
    token = find_csrf_token(browser.get(path).get_data(as_text=True))
    response = browser.post(path, data=_form(csrf_token=token, city="Delft", **overrides))
    assert response.status_code == 400
    assert f'id="{field}-errors"' in response.get_data(as_text=True)
    assert _stored(web_tenant, subject.id, "city") == "Gouda"
    assert audit_lines(web_tenant.id, "subject.update") == []


def test_the_day_itself_is_not_in_the_future(make_user, web_tenant, make_subject, browser_as):
    subject = make_subject(web_tenant, "applicant")
    browser = browser_as(*make_user(role="admin"))
    path = f"/{web_tenant.slug}/subjects/{subject.id}/edit"
    token = find_csrf_token(browser.get(path).get_data(as_text=True))
    response = browser.post(path, data=_form(csrf_token=token, last_verified_on="2026-03-10",
                                             procedure_closed_on="2026-03-10", procedure_outcome="withdrawn"))
    assert response.status_code == 302
    assert _stored(web_tenant, subject.id, "last_verified_on") == TODAY


def test_api_reads_and_checks_lifecycle_dates_against_what_is_stored(web_tenant, api_user, add_subject, client):
    _user, token = api_user()
    subject_id = add_subject(web_tenant, category="candidate", given_name="Bas", placed_from=date(2025, 6, 1))
    url = f"/api/v1/{web_tenant.slug}/subjects/{subject_id}"

    too_early = client.patch(url, headers=bearer(token), json={"placed_to": "2025-05-31"})
    assert too_early.status_code == 422 and "placed_to" in too_early.json["errors"]["json"]
    fine = client.patch(url, headers=bearer(token), json={"placed_to": "2025-06-01", "last_contact_on": "2026-03-01"})
    assert fine.status_code == 200
    assert (fine.json["placed_from"], fine.json["placed_to"]) == ("2025-06-01", "2025-06-01")
    bad_outcome = client.patch(url, headers=bearer(token), json={"procedure_outcome": "maybe"})
    assert bad_outcome.status_code == 422 and "procedure_outcome" in bad_outcome.json["errors"]["json"]
    bad_iban = client.patch(url, headers=bearer(token), json={"iban": "NL00 BANK 0000 0000 00"})
    assert bad_iban.status_code == 422 and "iban" in bad_iban.json["errors"]["json"]
    assert client.get(url, headers=bearer(token)).json["last_contact_on"] == "2026-03-01"


def test_api_refuses_another_tenants_company(make_tenant, web_tenant, api_user, add_subject, client):
    theirs = make_company(make_tenant(), name="Elders BV")
    _user, token = api_user()
    subject_id = add_subject(web_tenant, given_name="Bas")
    response = client.patch(f"/api/v1/{web_tenant.slug}/subjects/{subject_id}", headers=bearer(token),
                            json={"company_id": str(theirs)})
    assert response.status_code == 422 and "company_id" in response.json["errors"]["json"]
    assert _stored(web_tenant, subject_id, "company_id") is None


def test_needs_verification_filter_in_list_and_api(make_user, web_tenant, make_subject, browser_as, api_user, client):
    make_subject(web_tenant, "prospect", given_name="Gecontroleerd", last_verified_on=TODAY)
    make_subject(web_tenant, "prospect", given_name="Verlopen", needs_verification_since=TODAY - timedelta(days=3))
    browser = browser_as(*make_user(role="admin"))
    page = browser.get(f"/{web_tenant.slug}/subjects?verification=needed").get_data(as_text=True)
    assert "Verlopen" in page and "Gecontroleerd" not in page
    everyone = browser.get(f"/{web_tenant.slug}/subjects").get_data(as_text=True)
    assert "Verlopen" in everyone and "Gecontroleerd" in everyone  # admins see flagged records too
    _user, token = api_user()
    flagged = client.get(f"/api/v1/{web_tenant.slug}/subjects?needs_verification=true", headers=bearer(token)).json
    assert [s["given_name"] for s in flagged] == ["Verlopen"]
    assert flagged[0]["needs_verification_since"] == "2026-03-07"


def test_subject_page_shows_the_consent_history(make_user, web_tenant, make_subject, browser_as):
    subject = make_subject(web_tenant, "candidate", given_name="Noor")
    with in_tenant(web_tenant):
        stored = db.session.get(DataSubject, subject.id)
        first = consents.give_consent(stored, "candidate_pool", "consent", "Mogen wij uw cv bewaren? Ja.", "web",
                                      given_at=datetime(2024, 1, 5, 9, tzinfo=timezone.utc))
        consents.withdraw(first)
        consents.give_consent(stored, "candidate_pool", "consent", "Toestemming opnieuw gegeven per mail.", "email")
        consents.give_consent(stored, "newsletter", "legitimate_interest", "Klantrelatie, afmelden kan altijd.",
                              "paper", expires_on=date(2026, 3, 10), given_at=datetime(2025, 1, 1, tzinfo=timezone.utc))
    browser = browser_as(*make_user(role="agent"))  # no assignment: an agent may not see it
    assert browser.get(f"/{web_tenant.slug}/subjects/{subject.id}").status_code == 404
    page = browser_as(*make_user(role="admin")).get(f"/{web_tenant.slug}/subjects/{subject.id}").get_data(as_text=True)
    for evidence in ("Mogen wij uw cv bewaren? Ja.", "Toestemming opnieuw gegeven per mail.",
                     "Klantrelatie, afmelden kan altijd."):
        assert evidence in page
    assert page.index("Toestemming opnieuw") < page.index("Klantrelatie") < page.index("Mogen wij")  # newest first
    assert count(web_tenant, ConsentRecord) == 3


def test_erasing_a_subject_removes_its_consents_and_call_notes(make_user, web_tenant, make_subject, make_client_org,
                                                               api_user, client):
    org = make_client_org(web_tenant)
    subject = make_subject(web_tenant, "prospect", client_org=org)
    other = make_subject(web_tenant, "prospect", client_org=org)
    assignment = make_assignment(web_tenant, org.id, subjects=[subject, other])
    add_note(web_tenant, assignment, subject.id, "Weg ermee")
    add_note(web_tenant, assignment, other.id, "Blijft")
    with in_tenant(web_tenant):
        consents.give_consent(db.session.get(DataSubject, subject.id), "newsletter", "consent", "Ja", "web")
    _user, token = api_user()
    assert client.delete(f"/api/v1/{web_tenant.slug}/subjects/{subject.id}", headers=bearer(token)).status_code == 204
    assert count(web_tenant, ConsentRecord) == 0
    with in_tenant(web_tenant):
        assert db.session.scalars(sa.select(CallNote.subject_id)).all() == [other.id]
