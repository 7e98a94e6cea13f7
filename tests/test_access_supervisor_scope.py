"""Seed 004, section 3: "Een door de opdrachtgever geüploade database is in zijn geheel alleen in te zien door de
opdrachtgever, door de interne opdrachtbegeleider van Leadhunter en door de systeembeheerder." A supervisor sees
the people of the client organisations they supervise an assignment for (all of them) and the tenant's own
relations, never another client's database: not in the portal, the API, company pages or the verification
queue. The administrator still sees everything but HR files. A supervisor keeps people only within that sight."""
from __future__ import annotations

from datetime import date

import pytest

from saas.extensions import db
from saas.modules.subjects.models import DataSubject
from saas.testing.fixtures_api import bearer
from saas.testing.fixtures_web import find_csrf_token
from saas.testing.records import count, in_tenant, make_assignment, make_company

FLAGGED = date(2026, 2, 1)


@pytest.fixture()
def web_tenant(make_tenant):
    """Prospects (leadgen) and applicants (employment); no processor agreement per assignment needed."""
    return make_tenant(plugins=["leadgen", "employment"],
                       settings={"leadgen": {"agreement_per_assignment": False}})


@pytest.fixture()
def world(web_tenant, make_user, make_client_org, make_subject):
    """Client A's assignment supervised by `supervisor`; client B's assignment by someone else. Each client has a
    prospect (flagged for verification) working at a company of that client; the tenant has its own applicant."""
    org_a, org_b = make_client_org(web_tenant, "Opdrachtgever A"), make_client_org(web_tenant, "Opdrachtgever B")
    company_a = make_company(web_tenant, name="Firma Alfa BV", client_org_id=org_a.id, needs_verification_since=FLAGGED)
    company_b = make_company(web_tenant, name="Firma Beta BV", client_org_id=org_b.id, needs_verification_since=FLAGGED)
    person_a = make_subject(web_tenant, "prospect", client_org=org_a, given_name="Anna", family_name="Alfastra",
                            company_id=company_a, needs_verification_since=FLAGGED)
    person_b = make_subject(web_tenant, "prospect", client_org=org_b, given_name="Bert", family_name="Betasma",
                            company_id=company_b, needs_verification_since=FLAGGED)
    own = make_subject(web_tenant, "applicant", given_name="Olga", family_name="Eigenaar")
    supervisor, password = make_user(role="supervisor")
    other_supervisor, _ = make_user(role="supervisor")
    make_assignment(web_tenant, org_a.id, supervisor=supervisor, title="Campagne A")
    make_assignment(web_tenant, org_b.id, supervisor=other_supervisor, subjects=[person_b], title="Campagne B")
    return {"org_a": org_a, "org_b": org_b, "company_a": company_a, "company_b": company_b, "person_a": person_a,
            "person_b": person_b, "own": own, "supervisor": (supervisor, password)}


def _text(response) -> str:
    return response.get_data(as_text=True)


def test_supervisor_sees_only_the_clients_they_supervise_for_in_the_portal(web_tenant, world, make_user, browser_as):
    base = f"/{web_tenant.slug}"
    person_a, person_b = world["person_a"], world["person_b"]
    supervisor = browser_as(*world["supervisor"])

    listing = _text(supervisor.get(f"{base}/subjects"))
    assert "Alfastra" in listing and "Eigenaar" in listing  # the supervised client's database and own relations
    assert "Betasma" not in listing
    assert supervisor.get(f"{base}/subjects/{person_a.id}").status_code == 200
    assert supervisor.get(f"{base}/subjects/{person_b.id}").status_code == 404
    assert supervisor.get(f"{base}/subjects/{person_b.id}/edit").status_code == 404

    assert supervisor.get(f"{base}/companies/{world['company_a']}").status_code == 200
    assert supervisor.get(f"{base}/companies/{world['company_b']}").status_code == 404
    companies = _text(supervisor.get(f"{base}/companies"))
    assert "Firma Alfa BV" in companies and "Firma Beta BV" not in companies

    queue = _text(supervisor.get(f"{base}/retention/verify"))
    assert "Alfastra" in queue and "Firma Alfa BV" in queue
    assert "Betasma" not in queue and "Firma Beta BV" not in queue

    admin = browser_as(*make_user(role="admin"))
    assert "Betasma" in _text(admin.get(f"{base}/subjects"))
    assert admin.get(f"{base}/subjects/{person_b.id}").status_code == 200
    assert admin.get(f"{base}/companies/{world['company_b']}").status_code == 200
    assert "Betasma" in _text(admin.get(f"{base}/retention/verify"))


def test_supervisor_sees_only_the_clients_they_supervise_for_in_the_api(
        web_tenant, world, make_user, make_token, api_user, client):
    base = f"/api/v1/{web_tenant.slug}"
    person_a, person_b = world["person_a"], world["person_b"]
    token = make_token(world["supervisor"][0], web_tenant)

    listed = client.get(f"{base}/subjects", headers=bearer(token))
    assert listed.status_code == 200
    assert {p["id"] for p in listed.json} == {str(person_a.id), str(world["own"].id)}
    assert client.get(f"{base}/subjects/{person_a.id}", headers=bearer(token)).status_code == 200
    assert client.get(f"{base}/subjects/{person_b.id}", headers=bearer(token)).status_code == 404
    assert client.get(f"{base}/subjects/{person_b.id}/consents", headers=bearer(token)).status_code == 404
    assert client.get(f"{base}/companies/{world['company_b']}", headers=bearer(token)).status_code == 404

    _admin, admin_token = api_user()
    everyone = client.get(f"{base}/subjects", headers=bearer(admin_token)).json
    assert str(person_b.id) in {p["id"] for p in everyone}
    assert client.get(f"{base}/subjects/{person_b.id}", headers=bearer(admin_token)).status_code == 200


def test_supervisor_adds_people_only_for_a_client_they_supervise_for_or_none(web_tenant, world, make_token, client,
                                                                             browser_as):
    url = f"/api/v1/{web_tenant.slug}/subjects"
    token = make_token(world["supervisor"][0], web_tenant)
    body = {"category": "prospect", "given_name": "Nieuwe", "family_name": "Lead"}

    for_a = client.post(url, headers=bearer(token), json={**body, "client_org_id": str(world["org_a"].id)})
    assert for_a.status_code == 201, for_a.json
    own = client.post(url, headers=bearer(token), json={**body, "category": "applicant"})
    assert own.status_code == 201, own.json
    for_b = client.post(url, headers=bearer(token), json={**body, "client_org_id": str(world["org_b"].id)})
    assert for_b.status_code == 422
    message = str(for_b.json["errors"]["json"]["client_org_id"])
    assert "van wie je een opdracht begeleidt" in message  # the tenant's language: Dutch
    # Nor by moving one of their people to the other client.
    moved = client.patch(f"{url}/{world['person_a'].id}", headers=bearer(token),
                         json={"client_org_id": str(world["org_b"].id)})
    assert moved.status_code == 422
    with in_tenant(web_tenant):
        assert db.session.get(DataSubject, world["person_a"].id).client_org_id == world["org_a"].id
    assert count(web_tenant, DataSubject, DataSubject.client_org_id == world["org_b"].id) == 1

    # The portal form offers only the supervised client (and none), and refuses the other one.
    browser = browser_as(*world["supervisor"])
    new = f"/{web_tenant.slug}/subjects/new"
    page = browser.get(new)
    assert "Opdrachtgever A" in _text(page) and "Opdrachtgever B" not in _text(page)
    form = {"csrf_token": find_csrf_token(_text(page)), "category": "prospect", "given_name": "Via",
            "family_name": "Formulier", "client_org": str(world["org_b"].id)}
    assert browser.post(new, data=form).status_code == 400
    assert browser.post(new, data={**form, "client_org": str(world["org_a"].id)}).status_code == 302
    assert count(web_tenant, DataSubject, DataSubject.client_org_id == world["org_b"].id) == 1


def test_supervisor_files_companies_only_under_a_client_they_supervise_for_or_none(
        web_tenant, world, make_token, client, browser_as):
    url = f"/api/v1/{web_tenant.slug}/companies"
    token = make_token(world["supervisor"][0], web_tenant)

    assert client.post(url, headers=bearer(token), json={"name": "Voor A BV", "client_org_id": str(world["org_a"].id)}
                       ).status_code == 201
    assert client.post(url, headers=bearer(token), json={"name": "Algemeen BV"}).status_code == 201
    refused = client.post(url, headers=bearer(token), json={"name": "Voor B BV", "client_org_id": str(world["org_b"].id)})
    assert refused.status_code == 422 and "client_org_id" in refused.json["errors"]["json"]
    moved = client.patch(f"{url}/{world['company_a']}", headers=bearer(token),
                         json={"client_org_id": str(world["org_b"].id)})
    assert moved.status_code == 422

    page = _text(browser_as(*world["supervisor"]).get(f"/{web_tenant.slug}/companies/new"))
    assert "Opdrachtgever A" in page and "Opdrachtgever B" not in page


def test_only_an_administrator_hands_a_supervisor_another_clients_database(web_tenant, world, make_token, client,
                                                                           make_user):
    """A supervisor who could start (or move) an assignment for any client would see that client's database."""
    url = f"/api/v1/{web_tenant.slug}/assignments"
    token = make_token(world["supervisor"][0], web_tenant)
    for_a = client.post(url, headers=bearer(token), json={"title": "Tweede ronde A", "client_org_id": str(world["org_a"].id)})
    assert for_a.status_code == 201, for_a.json
    for_b = client.post(url, headers=bearer(token), json={"title": "Ook B", "client_org_id": str(world["org_b"].id)})
    assert for_b.status_code == 422 and "client_org_id" in for_b.json["errors"]["json"]
    moved = client.patch(f"{url}/{for_a.json['id']}", headers=bearer(token), json={"client_org_id": str(world["org_b"].id)})
    assert moved.status_code == 422
    assert client.get(f"/api/v1/{web_tenant.slug}/subjects/{world['person_b'].id}", headers=bearer(token)).status_code == 404
    admin_token = make_token(make_user(role="admin")[0], web_tenant)
    by_admin = client.post(url, headers=bearer(admin_token), json={
        "title": "B door beheerder", "client_org_id": str(world["org_b"].id), "supervisor_id": str(world["supervisor"][0].id)})
    assert by_admin.status_code == 201, by_admin.json
    assert client.get(f"/api/v1/{web_tenant.slug}/subjects/{world['person_b'].id}", headers=bearer(token)).status_code == 200
