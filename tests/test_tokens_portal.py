"""A member makes and revokes their own API tokens in the portal (issue 11 item 4): shown once, stored as a
SHA-256, usable for the export at once, dead once revoked; another member's or tenant's token id is 404."""
from __future__ import annotations

import hashlib
import re

import sqlalchemy as sa

from saas.extensions import db
from saas.modules.accounts.models import ApiToken
from saas.testing.fixtures_api import bearer
from saas.testing.records import in_tenant, leadgen_tenant

TOKEN = re.compile(r"saas_[A-Za-z0-9_-]{40}")


def _make(browser, page_token, slug, name="Export naar CRM"):
    url = f"/{slug}/tokens"
    response = browser.post(url, data={"csrf_token": page_token(browser, url), "name": name, "days": "30"})
    assert response.status_code == 200
    assert response.headers["Cache-Control"] == "no-store"
    return TOKEN.findall(response.get_data(as_text=True))


def test_a_client_makes_a_token_sees_it_once_and_revokes_it(make_tenant, make_user, make_client_org, browser_as,
                                                             page_token, client, audit_lines):
    tenant = leadgen_tenant(make_tenant)
    org = make_client_org(tenant)
    user, password = make_user(role="client", tenant=tenant, client_org=org)
    browser = browser_as(user, password)
    found = _make(browser, page_token, tenant.slug)
    assert len(set(found)) == 1
    token = found[0]
    with in_tenant(tenant):
        row = db.session.scalar(sa.select(ApiToken).where(ApiToken.user_id == user.id))
        assert row.token_hash == hashlib.sha256(token.encode()).hexdigest() and row.name == "Export naar CRM"
        token_id = row.id
    listing = browser.get(f"/{tenant.slug}/tokens").get_data(as_text=True)
    assert token not in listing and token[:12] in listing   # the list shows the prefix only
    export = f"/api/v1/{tenant.slug}/clients/{org.id}/export?format=csv"
    assert client.get(export, headers=bearer(token)).status_code == 200

    revoke = f"/{tenant.slug}/tokens/{token_id}/revoke"
    assert browser.post(revoke, data={"csrf_token": page_token(browser, f"/{tenant.slug}/tokens")}).status_code == 302
    assert client.get(export, headers=bearer(token)).status_code == 401
    assert [line[1] for line in audit_lines(tenant.id, "api_token.create")] == [str(token_id)]
    assert [line[1] for line in audit_lines(tenant.id, "api_token.revoke")] == [str(token_id)]


def test_a_bad_form_is_refused_with_nothing_made(make_tenant, make_user, browser_as, page_token):
    tenant = leadgen_tenant(make_tenant)
    user, password = make_user(role="agent", tenant=tenant)
    browser = browser_as(user, password)
    url = f"/{tenant.slug}/tokens"
    response = browser.post(url, data={"csrf_token": page_token(browser, url), "name": "", "days": "400"})
    assert response.status_code == 400 and not TOKEN.findall(response.get_data(as_text=True))
    with in_tenant(tenant):
        assert db.session.scalar(sa.select(sa.func.count()).select_from(ApiToken)) == 0


def test_another_members_and_another_tenants_token_are_404(make_tenant, make_user, browser_as, page_token,
                                                           make_token):
    tenant = leadgen_tenant(make_tenant)
    owner, owner_pw = make_user(role="client", tenant=tenant)
    other, other_pw = make_user(role="client", tenant=tenant)
    owner_browser = browser_as(owner, owner_pw)
    _make(owner_browser, page_token, tenant.slug)
    with in_tenant(tenant):
        token_id = db.session.scalar(sa.select(ApiToken.id).where(ApiToken.user_id == owner.id))
    intruder = browser_as(other, other_pw)
    token = page_token(intruder, f"/{tenant.slug}/tokens")
    assert intruder.post(f"/{tenant.slug}/tokens/{token_id}/revoke", data={"csrf_token": token}).status_code == 404
    assert intruder.post(f"/{tenant.slug}/tokens/not-an-id/revoke", data={"csrf_token": token}).status_code == 404
    assert "Export naar CRM" not in intruder.get(f"/{tenant.slug}/tokens").get_data(as_text=True)
    elsewhere = leadgen_tenant(make_tenant)
    stranger, stranger_pw = make_user(role="admin", tenant=elsewhere)
    far = browser_as(stranger, stranger_pw)
    far_token = page_token(far, f"/{elsewhere.slug}/tokens")
    assert far.post(f"/{elsewhere.slug}/tokens/{token_id}/revoke", data={"csrf_token": far_token}).status_code == 404
    with in_tenant(tenant):
        assert db.session.scalar(sa.select(ApiToken.revoked_at).where(ApiToken.id == token_id)) is None
