"""Companies (business data): kept by admins and supervisors, verified by agents too, never shown across
tenants or client organisations, removed only by admins (their people stay, unlinked)."""
from __future__ import annotations

import uuid
from datetime import date, datetime, timezone

import pytest
import sqlalchemy as sa

from saas.core import clock
from saas.extensions import db
from saas.modules.companies.models import Company
from saas.modules.subjects.models import DataSubject
from saas.testing.fixtures_api import bearer
from saas.testing.records import count, in_tenant, make_company

TODAY = date(2026, 4, 15)


@pytest.fixture(autouse=True)
def _today():
    clock.set_now(datetime(2026, 4, 15, 10, tzinfo=timezone.utc))
    yield
    clock.set_now(None)


def _company(tenant, company_id) -> Company:
    with in_tenant(tenant):
        company = db.session.get(Company, company_id)
        if company is not None:
            db.session.expunge(company)
    return company


def test_supervisor_adds_edits_and_agent_verifies_in_the_portal(make_user, web_tenant, browser_as, page_token,
                                                               audit_lines):
    make_company(web_tenant, name="Bestaand BV", kvk_number="12345678")
    supervisor = browser_as(*make_user(role="supervisor"))
    base = f"/{web_tenant.slug}/companies"
    token = page_token(supervisor, f"{base}/new")
    form = {"csrf_token": token, "name": "  Transport  Hendriks BV ", "kvk_number": "87654321", "city": "Venlo",
            "website": "https://hendriks.example", "client_org": "", "last_verified_on": ""}

    for bad in ({"kvk_number": "12345678"}, {"kvk_number": "1234"}, {"website": "geen adres"}, {"name": ""},
                {"last_verified_on": "2026-04-16"}):
        assert supervisor.post(f"{base}/new", data={**form, **bad}).status_code == 400, bad
    assert count(web_tenant, Company) == 1

    created = supervisor.post(f"{base}/new", data=form)
    assert created.status_code == 302
    company_id = uuid.UUID(created.headers["Location"].rsplit("/", 1)[1])
    assert _company(web_tenant, company_id).name == "Transport Hendriks BV"
    edited = supervisor.post(f"{base}/{company_id}/edit", data={**form, "city": "Roermond"})
    assert edited.status_code == 302 and _company(web_tenant, company_id).city == "Roermond"
    assert supervisor.get(f"{base}/{company_id}/delete").status_code == 404  # only admins remove

    with in_tenant(web_tenant):
        db.session.get(Company, company_id).needs_verification_since = date(2026, 4, 1)
    agent = browser_as(*make_user(role="agent"))
    flagged = agent.get(f"{base}?verification=needed").get_data(as_text=True)
    assert "Transport Hendriks BV" in flagged and "Bestaand BV" not in flagged
    assert agent.get(f"{base}/new").status_code == 404
    assert agent.post(f"{base}/{company_id}/verify", data={"csrf_token": page_token(agent, base)}).status_code == 302
    verified = _company(web_tenant, company_id)
    assert (verified.needs_verification_since, verified.last_verified_on) == (None, TODAY)
    assert "Transport Hendriks BV" not in agent.get(f"{base}?verification=needed").get_data(as_text=True)
    assert "Hendriks" in agent.get(f"{base}?q=hendr").get_data(as_text=True)
    assert [line[1] for line in audit_lines(web_tenant.id, "company.create") if line[0] != "denied"] == [str(company_id)]


def test_admin_removes_a_company_and_its_people_stay(make_user, web_tenant, make_subject, browser_as, page_token,
                                                    api_user, client):
    company_id = make_company(web_tenant, name="Opgeheven BV")
    person = make_subject(web_tenant, "prospect", company_id=company_id)
    browser = browser_as(*make_user(role="admin"))
    path = f"/{web_tenant.slug}/companies/{company_id}/delete"
    assert browser.post(path, data={}).status_code == 400
    assert browser.post(path, data={"csrf_token": page_token(browser, path)}).status_code == 302
    assert _company(web_tenant, company_id) is None
    with in_tenant(web_tenant):
        assert db.session.get(DataSubject, person.id).company_id is None

    other = make_company(web_tenant, name="Via API BV")
    _user, token = api_user(role="supervisor")
    assert client.delete(f"/api/v1/{web_tenant.slug}/companies/{other}", headers=bearer(token)).status_code == 404
    _user, admin_token = api_user()
    assert client.delete(f"/api/v1/{web_tenant.slug}/companies/{other}", headers=bearer(admin_token)).status_code == 204
    assert count(web_tenant, Company) == 0


def test_api_crud_verify_and_filters(web_tenant, api_user, client):
    _user, token = api_user(role="supervisor")
    url = f"/api/v1/{web_tenant.slug}/companies"
    created = client.post(url, headers=bearer(token), json={"name": "Kwekerij De Zon", "kvk_number": "11223344",
                                                            "website": "https://dezon.example"})
    assert created.status_code == 201, created.json
    item = f"{url}/{created.json['id']}"
    duplicate = client.post(url, headers=bearer(token), json={"name": "Andere", "kvk_number": "11223344"})
    assert duplicate.status_code == 422 and "kvk_number" in duplicate.json["errors"]["json"]
    for bad in ({"name": ""}, {"website": "ftp://x.example"}, {"kvk_number": "abc"}, {"colour": "red"}):
        assert client.patch(item, headers=bearer(token), json=bad).status_code == 422, bad
    assert client.patch(item, headers=bearer(token), json={"city": "Westland"}).json["city"] == "Westland"
    with in_tenant(web_tenant):
        db.session.get(Company, uuid.UUID(created.json["id"])).needs_verification_since = date(2026, 1, 1)
    flagged = client.get(f"{url}?needs_verification=true", headers=bearer(token)).json
    assert [c["name"] for c in flagged] == ["Kwekerij De Zon"]
    verified = client.post(f"{item}/verify", headers=bearer(token))
    assert verified.status_code == 200
    assert (verified.json["needs_verification_since"], verified.json["last_verified_on"]) == (None, "2026-04-15")
    assert client.get(f"{url}?needs_verification=true", headers=bearer(token)).json == []
    assert [c["name"] for c in client.get(f"{url}?q=zon", headers=bearer(token)).json] == ["Kwekerij De Zon"]
    assert count(web_tenant, Company) == 1


def test_client_users_see_their_own_organisations_companies_and_agents_only_verify(
        web_tenant, make_client_org, api_user, client):
    own, other = make_client_org(web_tenant), make_client_org(web_tenant)
    mine = make_company(web_tenant, name="Eigen Lead BV", client_org_id=own.id)
    theirs = make_company(web_tenant, name="Andermans Lead BV", client_org_id=other.id)
    _user, token = api_user(role="client", client_org=own)
    url = f"/api/v1/{web_tenant.slug}/companies"
    assert [c["name"] for c in client.get(url, headers=bearer(token)).json] == ["Eigen Lead BV"]
    assert client.get(f"{url}/{theirs}", headers=bearer(token)).status_code == 404
    assert client.patch(f"{url}/{mine}", headers=bearer(token), json={"city": "X"}).status_code == 404
    assert client.post(f"{url}/{mine}/verify", headers=bearer(token)).status_code == 404

    _user, agent_token = api_user(role="agent")
    assert client.post(url, headers=bearer(agent_token), json={"name": "Nieuw"}).status_code == 404
    assert client.post(f"{url}/{theirs}/verify", headers=bearer(agent_token)).status_code == 200
    assert count(web_tenant, Company) == 2


def test_another_tenants_company_is_404_everywhere(make_tenant, web_tenant, make_user, browser_as, page_token,
                                                   api_user, client):
    other = make_tenant()
    theirs = make_company(other, name="Geheim BV", needs_verification_since=date(2026, 1, 1))
    browser = browser_as(*make_user(role="admin"))
    base = f"/{web_tenant.slug}/companies"
    token = page_token(browser, f"{base}/new")
    for path in (f"{base}/{theirs}", f"{base}/{theirs}/edit", f"{base}/{theirs}/delete", f"{base}/nope"):
        assert browser.get(path).status_code == 404, path
    for path in (f"{base}/{theirs}/edit", f"{base}/{theirs}/verify", f"{base}/{theirs}/delete"):
        assert browser.post(path, data={"csrf_token": token, "name": "Overgenomen"}).status_code == 404, path
    assert "Geheim BV" not in browser.get(base).get_data(as_text=True)

    _user, api_token = api_user()
    url = f"/api/v1/{web_tenant.slug}/companies/{theirs}"
    assert client.get(url, headers=bearer(api_token)).status_code == 404
    assert client.patch(url, headers=bearer(api_token), json={"name": "Overgenomen"}).status_code == 404
    assert client.post(f"{url}/verify", headers=bearer(api_token)).status_code == 404
    assert client.delete(url, headers=bearer(api_token)).status_code == 404
    kept = _company(other, theirs)
    assert (kept.name, kept.needs_verification_since) == ("Geheim BV", date(2026, 1, 1))
    with in_tenant(other):
        assert db.session.scalar(sa.select(sa.func.count(Company.id))) == 1
