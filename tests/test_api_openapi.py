"""The OpenAPI document at /api/v1/openapi.json."""
from __future__ import annotations

import json


def test_openapi_document_lists_the_paths_and_the_bearer_scheme(client):
    response = client.get("/api/v1/openapi.json")
    assert response.status_code == 200
    document = json.loads(response.get_data(as_text=True))
    assert document["openapi"].startswith("3.")
    assert {"/api/v1/{tenant}/me", "/api/v1/{tenant}/subjects", "/api/v1/{tenant}/subjects/{subject_id}"} <= set(document["paths"])
    item = document["paths"]["/api/v1/{tenant}/subjects/{subject_id}"]
    assert {"get", "patch", "delete"} <= set(item)
    assert {"get", "post"} <= set(document["paths"]["/api/v1/{tenant}/subjects"])
    assert document["components"]["securitySchemes"]["bearerAuth"] == {
        "type": "http", "scheme": "bearer", "description": "A personal API token: `saas tokens create`.",
    }
    assert document["security"] == [{"bearerAuth": []}]
    created = document["paths"]["/api/v1/{tenant}/subjects"]["post"]
    assert "201" in created["responses"] and "422" in created["responses"]
    schemas = document["components"]["schemas"]
    assert "email" in schemas["SubjectCreate"]["properties"]
    assert "category" in schemas["SubjectCreate"]["required"]

