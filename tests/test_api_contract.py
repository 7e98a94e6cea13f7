"""The API keeps its own contract: X-Pagination is the JSON object its document describes, an empty PATCH is
refused with a message, and a 405 says which methods the URL takes (API and portal)."""
from __future__ import annotations

import json

from saas.testing.fixtures_api import bearer
from saas.testing.records import make_company


def _document(client) -> dict:
    return json.loads(client.get("/api/v1/openapi.json").get_data(as_text=True))


def test_x_pagination_is_sent_as_its_document_says(client, api_user, web_tenant):
    make_company(web_tenant, name="Bakkerij A")
    make_company(web_tenant, name="Bakkerij B")
    make_company(web_tenant, name="Bakkerij C")
    _user, token = api_user("admin")
    header_doc = _document(client)["paths"]["/api/v1/{tenant}/companies"]["get"]["responses"]["200"]["headers"][
        "X-Pagination"]
    schema = header_doc["content"]["application/json"]["schema"]
    assert schema["type"] == "object" and set(schema["required"]) == {"total", "total_pages"}
    page_parameter = next(p for p in _document(client)["paths"]["/api/v1/{tenant}/companies"]["get"]["parameters"]
                          if p["name"] == "page")
    assert page_parameter["schema"]["maximum"] == 1_000_000

    url = f"/api/v1/{web_tenant.slug}/companies"
    for page, expected in ((1, {"total": 3, "total_pages": 2, "first_page": 1, "last_page": 2, "page": 1,
                                "next_page": 2}),
                           (2, {"total": 3, "total_pages": 2, "first_page": 1, "last_page": 2, "page": 2,
                                "previous_page": 1}),
                           (5, {"total": 3, "total_pages": 2, "first_page": 1, "last_page": 2})):
        response = client.get(url, query_string={"page": page, "page_size": 2}, headers=bearer(token))
        metadata = json.loads(response.headers["X-Pagination"])
        assert metadata == expected
        assert set(metadata) <= set(schema["properties"]) and set(schema["required"]) <= set(metadata)


def test_an_empty_patch_is_refused_with_a_message_and_documented(client, api_user, web_tenant, add_subject):
    company_id = make_company(web_tenant, name="Bakkerij Jansen BV")
    subject_id = add_subject(web_tenant)
    _user, token = api_user("admin")
    for url in (f"/api/v1/{web_tenant.slug}/companies/{company_id}", f"/api/v1/{web_tenant.slug}/subjects/{subject_id}"):
        response = client.patch(url, json={}, headers=bearer(token))
        assert response.status_code == 422, url
        assert response.get_json()["message"] == "send at least one field to change"
    assert client.patch(f"/api/v1/{web_tenant.slug}/companies/{company_id}", json={"city": "Venlo"},
                        headers=bearer(token)).status_code == 200
    for path, item in _document(client)["paths"].items():
        if "patch" in item:
            assert item["patch"]["requestBody"]["content"]["application/json"]["schema"]["minProperties"] == 1, path


def test_a_405_names_the_allowed_methods(client, api_user, web_tenant, make_user, login):
    _user, token = api_user("admin")
    response = client.put(f"/api/v1/{web_tenant.slug}/subjects", json={}, headers=bearer(token))
    assert response.status_code == 405
    assert set(response.headers["Allow"].split(", ")) >= {"GET", "POST"}
    user, password = make_user(role="admin")
    assert login(client, user.email, password).status_code == 302
    portal = client.delete("/login")
    assert portal.status_code == 405 and "POST" in portal.headers["Allow"]
