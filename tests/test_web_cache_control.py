"""Personal data and PDFs are sent with `Cache-Control: no-store`, decided in one place (saas.core.web):
public signing pages, agreement PDF downloads, /verify and its answers, the API, the login page; only the
static assets may be cached."""
from __future__ import annotations

import io

from saas.testing.agreements import agreement_queue, agreements_world  # noqa: F401  (fixtures)
from saas.testing.fixtures_api import bearer
from saas.testing.fixtures_web import find_csrf_token
from saas.testing.signing import create_agreement, verify


def _no_store(response) -> bool:
    return response.headers.get("Cache-Control") == "no-store" and "Expires" not in response.headers


def test_agreement_pdf_downloads_are_not_stored(agreements_world, client, login):
    world = agreements_world
    assert login(client, world.admin_email, world.password).status_code == 302
    agreement_id = world.completed()
    draft_id = world.draft()
    base = f"/{world.slug}/agreements"
    for path in (f"/{agreement_id}/document.pdf", f"/{agreement_id}/sealed.pdf", f"/{draft_id}/preview.pdf"):
        response = client.get(base + path)
        assert response.status_code == 200 and response.data.startswith(b"%PDF-"), path
        assert _no_store(response), (path, response.headers.get("Cache-Control"))


def test_public_signing_pages_are_not_stored(ctx, make_tenant, client):
    tenant = make_tenant()
    made = create_agreement(tenant.id)
    landing = client.get(f"/sign/{made.tokens[0]}")
    assert landing.status_code == 200 and _no_store(landing)
    verify(client, made)
    for path in ("/review", "/document.pdf"):
        response = client.get(f"/sign/{made.tokens[0]}{path}")
        assert response.status_code == 200 and _no_store(response), path


def test_verify_answers_the_api_and_login_are_not_stored_but_static_files_may_be(client, api_user, web_tenant):
    page = client.get("/verify")
    assert _no_store(page)
    token = find_csrf_token(page.get_data(as_text=True))
    answer = client.post("/verify", data={"csrf_token": token, "document": (io.BytesIO(b"%PDF-1.4\n"), "a.pdf")},
                         content_type="multipart/form-data")
    assert answer.status_code in (200, 400, 422) and _no_store(answer)
    assert _no_store(client.get("/verify/ca.pem"))
    assert _no_store(client.get("/login"))
    _user, api_token = api_user("client")
    assert _no_store(client.get(f"/api/v1/{web_tenant.slug}/me", headers=bearer(api_token)))
    assert _no_store(client.get(f"/api/v1/{web_tenant.slug}/subjects", headers=bearer(api_token)))
    assert _no_store(client.get(f"/api/v1/{web_tenant.slug}/nothing-here", headers=bearer(api_token)))
    with client.get("/static/" + _a_static_file(client.application)) as static:   # closed: a file is behind it
        assert static.status_code == 200 and "no-store" not in static.headers.get("Cache-Control", "")


def _a_static_file(app) -> str:
    from pathlib import Path

    folder = Path(app.static_folder)
    return next(p for p in folder.rglob("*") if p.is_file()).relative_to(folder).as_posix()
