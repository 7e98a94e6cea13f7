"""The portal shell: security headers, no inline code, language switch, error pages, dashboard counts."""
import re

import pytest
from werkzeug.exceptions import InternalServerError

from saas.core import tenancy
from saas.core.web import endpoint_url, safe_redirect_target
from saas.extensions import db
from saas.modules.clients.models import ClientOrganisation
from saas.modules.subjects.models import DataSubject


@pytest.fixture()
def admin_client(client, login, make_user, web_tenant):
    admin, password = make_user(name="Anna Admin")
    login(client, admin.email, password)
    return client


def _pages(tenant):
    return ["/login", "/", f"/{tenant.slug}/", f"/{tenant.slug}/members", "/no-such-page/at-all"]


def test_security_headers_and_a_csp_without_unsafe_inline(admin_client, web_tenant):
    for path in _pages(web_tenant):
        response = admin_client.get(path)
        csp = response.headers["Content-Security-Policy"]
        assert "unsafe-inline" not in csp and "unsafe-eval" not in csp
        assert "script-src 'self'" in csp and "frame-ancestors 'none'" in csp
        assert response.headers["X-Content-Type-Options"] == "nosniff"
        assert response.headers["X-Frame-Options"] == "DENY"
    assert admin_client.get(f"/{web_tenant.slug}/").headers["Cache-Control"] == "no-store"


def test_pages_have_no_inline_script_or_style_and_load_only_local_assets(admin_client, web_tenant):
    for path in _pages(web_tenant):
        html = admin_client.get(path).get_data(as_text=True)
        assert not re.search(r"<script(?![^>]*\bsrc=)[^>]*>", html), path
        assert not re.search(r"\sstyle=|<style|\son[a-z]+=", html), path
        for url in re.findall(r'(?:src|href)="([^"]+)"', html):
            assert url.startswith(("/", "#")) and not url.startswith("//"), (path, url)


def test_static_assets_are_served(client):
    for asset in ("css/app.css", "js/app.js", "img/logo.svg"):
        with client.get(f"/static/{asset}") as response:  # closed: the file behind it is open
            assert response.status_code == 200


def test_every_form_carries_a_csrf_token(admin_client, web_tenant):
    for path in _pages(web_tenant):
        html = admin_client.get(path, follow_redirects=True).get_data(as_text=True)
        forms = re.findall(r"<form\b.*?</form>", html, re.S)
        assert forms
        for form in forms:
            if 'method="post"' in form:
                assert 'name="csrf_token"' in form, (path, form[:80])


def test_dutch_is_the_default_and_the_language_switch_is_kept(client, csrf_token, login, make_user, web_tenant):
    assert "Inloggen" in client.get("/login").get_data(as_text=True)
    token = csrf_token(client)
    assert client.post("/locale", data={"locale": "de", "csrf_token": token}).status_code == 400
    switched = client.post("/locale", data={"locale": "en", "next": "/login", "csrf_token": token})
    assert switched.headers["Location"] == "/login"
    page = client.get("/login").get_data(as_text=True)
    assert "Log in" in page and '<html lang="en">' in page
    user, password = make_user()
    login(client, user.email, password)
    assert "Dashboard" in client.get(f"/{web_tenant.slug}/").get_data(as_text=True)
    assert "Users" in client.get(f"/{web_tenant.slug}/members").get_data(as_text=True)


def test_the_language_switch_needs_csrf_and_never_redirects_away(client, csrf_token):
    assert client.post("/locale", data={"locale": "en"}).status_code == 400
    response = client.post("/locale", data={"locale": "en", "next": "//evil.example/", "csrf_token": csrf_token(client)})
    assert response.headers["Location"] == "/"


def test_error_pages_do_not_echo_the_request(admin_client, web_tenant):
    probe = "probe-<b>jan.jansen@example.test</b>"
    for path in (f"/{probe}/x", f"/{web_tenant.slug}/{probe}", f"/{web_tenant.slug}/members/{probe}"):
        response = admin_client.get(path + "?q=" + probe)
        assert response.status_code == 404
        html = response.get_data(as_text=True)
        assert "probe" not in html and "jansen" not in html
        assert "Pagina niet gevonden" in html


def test_api_errors_stay_json(client):
    response = client.get("/api/v1/does-not-exist")
    assert response.status_code == 404
    assert response.is_json


def test_the_500_page_stands_alone(app):
    handler = app.error_handler_spec[None][500][InternalServerError]
    with app.test_request_context("/some/where?name=Jan"):
        body, status = handler(InternalServerError())
    assert status == 500
    assert "Er ging iets mis" in body and "Jan" not in body


@pytest.mark.parametrize("target,expected", [
    ("/zest/members?page=2", "/zest/members?page=2"),
    ("/", "/"),
    ("https://evil.example/x", None),
    ("//evil.example", None),
    ("/\\evil.example", None),
    ("/ok\r\nSet-Cookie: x=1", None),
    ("evil.example", None),
    ("", None),
    (None, None),
])
def test_safe_redirect_target(target, expected):
    assert safe_redirect_target(target) == expected


def test_links_to_features_that_do_not_exist_are_left_out(app):
    with app.test_request_context("/"):
        assert endpoint_url("no_such_feature.index") is None
        assert endpoint_url("accounts.login") == "/login"


def _seed_subjects(tenant, counts: dict, client_org_id=None):
    tenancy.set_tenant(tenant.id)
    for category, count in counts.items():
        for _ in range(count):
            db.session.add(DataSubject(category=category, client_org_id=client_org_id))
    db.session.commit()
    tenancy.set_tenant(None)


def _stat(html: str, label: str) -> str:
    match = re.search(rf">{label}</h2>\s*<p class=\"stat__value\">(\d+)</p>", html)
    return match.group(1) if match else None


def test_dashboard_shows_this_tenants_counts_only(admin_client, make_tenant, make_user, web_tenant):
    other = make_tenant()
    make_user(role="agent")
    make_user(role="supervisor", tenant=other)
    _seed_subjects(web_tenant, {"candidate": 3, "prospect": 1})
    _seed_subjects(other, {"candidate": 5})
    html = admin_client.get(f"/{web_tenant.slug}/").get_data(as_text=True)
    assert web_tenant.name in html
    assert _stat(html, "Betrokkenen") == "4"
    assert _stat(html, "Gebruikers") == "2"
    assert _stat(html, "Klantorganisaties") == "0"
    assert int(_stat(html, "Auditregels vandaag")) >= 1


def test_a_client_sees_only_its_own_organisations_count(client, login, make_user, web_tenant):
    tenancy.set_tenant(web_tenant.id)
    mine, theirs = ClientOrganisation(name="Mijn BV"), ClientOrganisation(name="Hun BV")
    db.session.add_all([mine, theirs])
    db.session.commit()
    mine_id, theirs_id = mine.id, theirs.id
    tenancy.set_tenant(None)
    _seed_subjects(web_tenant, {"client_contact": 2}, client_org_id=mine_id)
    _seed_subjects(web_tenant, {"client_contact": 7}, client_org_id=theirs_id)
    tenancy.set_tenant(web_tenant.id)
    org = db.session.get(ClientOrganisation, mine_id)
    tenancy.set_tenant(None)
    user, password = make_user(role="client", client_org=org)
    login(client, user.email, password)
    html = client.get(f"/{web_tenant.slug}/").get_data(as_text=True)
    assert _stat(html, "Betrokkenen") == "2"
    assert _stat(html, "Gebruikers") is None and "Gebruikers en rollen" not in html


def test_an_agent_sees_no_totals(client, login, make_user, web_tenant):
    _seed_subjects(web_tenant, {"candidate": 2})
    user, password = make_user(role="agent")
    login(client, user.email, password)
    html = client.get(f"/{web_tenant.slug}/").get_data(as_text=True)
    assert "stat__value" not in html
    assert f'href="/{web_tenant.slug}/members"' not in html
