"""Bad input is a 400 with a message, never a 500: NUL bytes and lone surrogates anywhere in a request
(one check for the whole app), page numbers out of any range (portal and API), and `%` / `_` in the
company search matching literally."""
from __future__ import annotations

import json

import pytest

from saas.testing.fixtures_api import bearer
from saas.testing.fixtures_web import find_csrf_token
from saas.testing.records import make_company

HUGE = str(10 ** 30)


def _api_message(response) -> str:
    return json.loads(response.get_data(as_text=True))["message"]


def test_a_nul_byte_in_the_login_form_is_a_400_with_a_message(client, make_user):
    user, password = make_user()
    token = find_csrf_token(client.get("/login").get_data(as_text=True))
    for email, secret in ((user.email[:3] + "\x00" + user.email[3:], password), (user.email, password + "\x00")):
        response = client.post("/login", data={"email": email, "password": secret, "csrf_token": token})
        assert response.status_code == 400, (email, response.status_code)
    # the normal login still works afterwards: nothing half-done
    assert client.post("/login", data={"email": user.email, "password": password,
                                       "csrf_token": token}).status_code == 302


def test_a_nul_byte_in_a_query_string_or_path_is_a_400(client, make_user, web_tenant, login):
    user, password = make_user(role="admin")
    assert login(client, user.email, password).status_code == 302
    for url in (f"/{web_tenant.slug}/companies?q=a%00b", f"/{web_tenant.slug}/subjects?category=%00",
                f"/{web_tenant.slug}/companies?%00=1", "/%00/subjects", "/verify?x=%00"):
        assert client.get(url).status_code == 400, url


def test_nul_bytes_and_lone_surrogates_in_api_json_are_a_400_with_a_message(client, api_user, web_tenant):
    _user, token = api_user("admin")
    url = f"/api/v1/{web_tenant.slug}/companies"
    for body in ('{"name": "Bakkerij\\u0000Jansen"}', '{"name": "Bakkerij \\ud800 Jansen"}',
                 '{"name\\u0000": "Bakkerij"}', '{"name": "ok", "city": ["x\\u0000"]}'):
        response = client.post(url, data=body, content_type="application/json", headers=bearer(token))
        assert response.status_code == 400, (body, response.status_code)
        assert "NUL" in _api_message(response)
    response = client.get(f"{url}?q=%00", headers=bearer(token))
    assert response.status_code == 400 and "NUL" in _api_message(response)
    assert client.post(url, json={"name": "Bakkerij Jansen"}, headers=bearer(token)).status_code == 201


@pytest.mark.parametrize("page", [HUGE, "-1", "0", "abc", "1.5", "１", "99999999999"])
def test_page_numbers_out_of_range_are_a_400_in_the_portal(client, make_user, web_tenant, login, page):
    user, password = make_user(role="admin")
    assert login(client, user.email, password).status_code == 302
    for path in ("subjects", "companies", "audit", "outbox"):
        response = client.get(f"/{web_tenant.slug}/{path}?page={page}")
        assert response.status_code == 400, (path, response.status_code)


@pytest.mark.parametrize("page", [HUGE, "-1", "0", "abc", "99999999999"])
def test_page_numbers_out_of_range_are_a_400_with_a_message_in_the_api(client, api_user, web_tenant, page):
    _user, token = api_user("admin")
    for path in ("subjects", "companies"):
        response = client.get(f"/api/v1/{web_tenant.slug}/{path}?page={page}", headers=bearer(token))
        assert response.status_code == 400, (path, response.status_code)
        assert "'page' must be a whole number" in _api_message(response)


def test_a_page_beyond_the_last_is_an_empty_page_not_an_error(client, api_user, web_tenant):
    _user, token = api_user("admin")
    response = client.get(f"/api/v1/{web_tenant.slug}/companies?page=1000000", headers=bearer(token))
    assert response.status_code == 200 and response.get_json() == []


def test_percent_and_underscore_in_the_company_search_match_literally(client, api_user, web_tenant, make_user,
                                                                     login):
    make_company(web_tenant, name="Korting 50% BV", city="Venlo")
    make_company(web_tenant, name="Data_Lab BV", city="Roermond")
    make_company(web_tenant, name="Bakkerij Jansen BV", city="Weert")
    _user, token = api_user("admin")

    def found(term: str) -> list[str]:
        response = client.get(f"/api/v1/{web_tenant.slug}/companies", query_string={"q": term}, headers=bearer(token))
        assert response.status_code == 200
        return sorted(c["name"] for c in response.get_json())

    assert found("%") == ["Korting 50% BV"]
    assert found("_") == ["Data_Lab BV"]
    assert found("50%") == ["Korting 50% BV"]
    assert found("a_l") == ["Data_Lab BV"]
    assert found("%%") == [] and found("__") == [] and found("\\") == []
    assert found("bakkerij") == ["Bakkerij Jansen BV"]

    user, password = make_user(role="admin")
    portal = client.application.test_client()
    portal.environ_base["REMOTE_ADDR"] = "10.99.0.1"
    assert login(portal, user.email, password).status_code == 302
    page = portal.get(f"/{web_tenant.slug}/companies", query_string={"q": "_"}).get_data(as_text=True)
    assert "Data_Lab BV" in page and "Bakkerij Jansen BV" not in page and "Korting 50% BV" not in page
