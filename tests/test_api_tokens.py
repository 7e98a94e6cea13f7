"""Personal API tokens: the CLI that makes and revokes them, and Bearer authentication."""
from __future__ import annotations

import hashlib

import pytest
import sqlalchemy as sa

from saas.api import tokens
from saas.cli import cli
from saas.core import clock, tenancy
from saas.extensions import db
from saas.modules.accounts.models import ApiToken
from saas.testing.fixtures_api import bearer


@pytest.fixture()
def web_tenant(make_tenant):
    """Categories come only from a tenant's plugins: this tenant holds candidates (recruitment)."""
    return make_tenant(plugins=["recruitment"])


def _token_row(tenant, prefix):
    db.session.commit()
    with tenancy.tenant_context(tenant.id):
        row = db.session.scalar(sa.select(ApiToken).where(ApiToken.prefix == prefix))
        db.session.expunge(row)  # a detached copy keeps its values after the commit
        db.session.commit()
    return row


def test_cli_create_prints_a_token_once_and_stores_only_its_hash(app, web_tenant, make_user, client):
    user, _ = make_user()
    result = app.test_cli_runner().invoke(
        cli, ["tokens", "create", "--tenant", web_tenant.slug, "--email", user.email, "--name", "sync", "--days", "7"])
    assert result.exit_code == 0, result.output
    token = result.stdout.strip()
    assert token.startswith("saas_") and len(token) == 45
    row = _token_row(web_tenant, token[:12])
    assert row.token_hash == hashlib.sha256(token.encode()).hexdigest()
    assert token not in (row.token_hash, row.prefix, row.name)
    assert row.user_id == user.id and row.name == "sync"
    assert client.get(f"/api/v1/{web_tenant.slug}/me", headers=bearer(token)).status_code == 200


def test_cli_refuses_a_user_who_is_not_a_member(app, web_tenant, make_user):
    outsider, _ = make_user(tenant=False)
    result = app.test_cli_runner().invoke(
        cli, ["tokens", "create", "--tenant", web_tenant.slug, "--email", outsider.email])
    assert result.exit_code == 1
    assert "not a member" in result.output


def test_cli_refuses_a_bad_lifetime_and_an_unknown_prefix(app, web_tenant, make_user):
    user, _ = make_user()
    runner = app.test_cli_runner()
    result = runner.invoke(cli, ["tokens", "create", "--tenant", web_tenant.slug, "--email", user.email, "--days", "0"])
    assert result.exit_code == 1 and "between 1 and" in result.output
    result = runner.invoke(cli, ["tokens", "revoke", "--tenant", web_tenant.slug, "--prefix", "saas_nothing"])
    assert result.exit_code == 1 and "no token with prefix" in result.output
    assert runner.invoke(cli, ["tokens", "list", "--tenant", web_tenant.slug]).output == ""


def test_cli_revoke_stops_the_token(app, web_tenant, api_user, client):
    _user, token = api_user()
    assert client.get(f"/api/v1/{web_tenant.slug}/me", headers=bearer(token)).status_code == 200
    result = app.test_cli_runner().invoke(cli, ["tokens", "revoke", "--tenant", web_tenant.slug, "--prefix", token[:12]])
    assert result.exit_code == 0, result.output
    listing = app.test_cli_runner().invoke(cli, ["tokens", "list", "--tenant", web_tenant.slug])
    assert f"{token[:12]}  revoked" in listing.output
    response = client.get(f"/api/v1/{web_tenant.slug}/me", headers=bearer(token))
    assert response.status_code == 401
    assert response.json["message"] == "this token was revoked"


def test_me_answers_user_role_and_tenant_and_notes_last_use(web_tenant, api_user, client):
    user, token = api_user(role="supervisor")
    assert _token_row(web_tenant, token[:12]).last_used_at is None
    response = client.get(f"/api/v1/{web_tenant.slug}/me", headers=bearer(token))
    assert response.status_code == 200
    body = response.json
    assert body["user"]["id"] == str(user.id) and body["role"] == "supervisor"
    assert body["tenant"] == {"slug": web_tenant.slug, "name": web_tenant.name}
    assert body["token"]["prefix"] == token[:12]
    assert _token_row(web_tenant, token[:12]).last_used_at is not None


def test_missing_malformed_and_unknown_tokens_are_401_json(web_tenant, api_user, client):
    _user, token = api_user()
    url = f"/api/v1/{web_tenant.slug}/me"
    forged_tenant = "saas_" + "A" * 34 + "AAAAAA"  # well formed, names tenant id 0
    huge_tenant = "saas_" + "A" * 34 + "D_____"   # well formed, names a tenant id beyond PostgreSQL's integer
    for headers in ({}, {"Authorization": f"Basic {token}"}, bearer("nonsense"), bearer(forged_tenant),
                    bearer(huge_tenant),
                    bearer(token[:-1] + ("A" if token[-1] != "A" else "B"))):
        response = client.get(url, headers=headers)
        assert response.status_code == 401, headers
        assert response.is_json and response.json["message"]
        assert response.headers["WWW-Authenticate"].startswith("Bearer")


def test_expired_token_is_refused_and_audited(web_tenant, api_user, client, audit_rows):
    _user, token = api_user()
    row = _token_row(web_tenant, token[:12])
    with tenancy.tenant_context(web_tenant.id):
        db.session.execute(sa.update(ApiToken).where(ApiToken.id == row.id).values(expires_at=clock.now()))
        db.session.commit()
    response = client.get(f"/api/v1/{web_tenant.slug}/me", headers=bearer(token))
    assert response.status_code == 401
    assert response.json["message"] == "this token has expired"
    last = audit_rows(web_tenant)[-1]
    assert (last["action"], last["outcome"], last["object_id"]) == ("api.authenticate", "denied", str(row.id))
    assert last["detail"]["reason"] == "expired"


def test_forged_secret_for_a_known_prefix_is_audited_in_its_tenant(web_tenant, api_user, client, audit_rows):
    _user, token = api_user()
    # Same prefix and tenant (the last 8 characters hold the tenant id), another secret in between.
    forged = token[:20] + "x" * 17 + token[-8:]
    assert tokens.tenant_id_of(forged) == web_tenant.id
    response = client.get(f"/api/v1/{web_tenant.slug}/me", headers=bearer(forged))
    assert response.status_code == 401 and response.json["message"] == "unknown token"
    last = audit_rows(web_tenant)[-1]
    assert (last["action"], last["outcome"], last["detail"]["reason"]) == ("api.authenticate", "denied", "wrong_secret")
    assert last["actor_id"] is None


def test_token_of_another_tenant_answers_404_and_is_audited(make_tenant, web_tenant, api_user, client, audit_rows):
    other = make_tenant()
    _user, token = api_user()
    for path in ("me", "subjects"):
        response = client.get(f"/api/v1/{other.slug}/{path}", headers=bearer(token))
        assert response.status_code == 404 and response.is_json
    assert client.get("/api/v1/no-such-tenant/me", headers=bearer(token)).status_code == 404
    denied = [r for r in audit_rows(web_tenant) if r["action"] == "api.tenant_mismatch"]
    assert len(denied) == 3 and all(r["outcome"] == "denied" for r in denied)
    assert not [r for r in audit_rows(other) if r["outcome"] == "denied"]


def test_a_member_who_left_loses_the_token_also_after_coming_back(web_tenant, api_user, client, audit_rows):
    from saas.modules.accounts import operations, queries

    user, token = api_user(role="agent")
    db.session.commit()
    with tenancy.tenant_context(web_tenant.id):
        operations.remove_membership(queries.membership_of(user))
        db.session.commit()
    assert [r["action"] for r in audit_rows(web_tenant)[-2:]] == ["membership.remove", "api_token.revoke"]
    response = client.get(f"/api/v1/{web_tenant.slug}/me", headers=bearer(token))
    assert response.status_code == 401
    assert audit_rows(web_tenant)[-1]["detail"]["reason"] == "revoked"

    with tenancy.tenant_context(web_tenant.id):
        operations.add_membership(web_tenant, user, "agent")
        db.session.commit()
    assert client.get(f"/api/v1/{web_tenant.slug}/me", headers=bearer(token)).status_code == 401


def test_api_needs_no_csrf_token_but_ignores_the_session_cookie(web_tenant, make_user, api_user, client, login):
    _user, token = api_user()
    response = client.post(f"/api/v1/{web_tenant.slug}/subjects", headers=bearer(token),
                           json={"category": "candidate", "given_name": "Sanne"})
    assert response.status_code == 201, response.json
    browser_user, password = make_user()
    assert login(client, browser_user.email, password).status_code == 302
    response = client.post(f"/api/v1/{web_tenant.slug}/subjects", json={"category": "candidate", "given_name": "Cookie"})
    assert response.status_code == 401
