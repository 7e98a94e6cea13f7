"""Logging in and out: argon2id, CSRF, rate limit, no user enumeration, safe redirects, tenant chooser."""
import pytest
import sqlalchemy as sa
from argon2 import PasswordHasher

from saas.core import tenancy
from saas.extensions import db
from saas.modules.accounts import operations
from saas.modules.accounts.models import User
from saas.modules.audit.models import AuditEntry


def _audit(tenant, action):
    """(outcome, object_id, actor_id, detail) of a tenant's audit lines with this action."""
    db.session.commit()
    tenancy.set_tenant(tenant.id)
    rows = db.session.scalars(sa.select(AuditEntry).where(AuditEntry.action == action).order_by(AuditEntry.seq))
    found = [(e.outcome, e.object_id, e.actor_id, e.detail) for e in rows]
    db.session.commit()
    tenancy.set_tenant(None)
    return found


def test_password_is_stored_as_argon2id(make_user):
    user, password = make_user()
    assert user.password_hash.startswith("$argon2id$")
    assert password not in user.password_hash


def test_login_with_one_tenant_lands_on_its_dashboard(client, login, make_user, web_tenant):
    user, password = make_user()
    response = login(client, user.email.upper(), password)
    assert response.status_code == 302
    assert response.headers["Location"] == f"/{web_tenant.slug}/"
    page = client.get(response.headers["Location"])
    assert page.status_code == 200
    assert web_tenant.name in page.get_data(as_text=True)
    assert [(e[0], e[1], e[2]) for e in _audit(web_tenant, "auth.login")] == [("ok", str(user.id), str(user.id))]


def test_wrong_password_and_unknown_email_get_the_same_answer(client, login, make_user, web_tenant):
    user, _ = make_user()
    wrong_password = login(client, user.email, "not-the-password")
    unknown_email = login(client, "nobody-here@example.test", "not-the-password")
    assert wrong_password.status_code == unknown_email.status_code == 401
    message = "Het e-mailadres of wachtwoord klopt niet."
    assert message in wrong_password.get_data(as_text=True)
    assert message in unknown_email.get_data(as_text=True)
    assert client.get(f"/{web_tenant.slug}/").status_code == 302  # still not logged in


def test_failed_login_is_audited_by_user_id_only(client, login, make_user, web_tenant):
    user, _ = make_user()
    login(client, user.email, "not-the-password")
    entries = _audit(web_tenant, "auth.login")
    assert [e[:3] for e in entries] == [("failed", str(user.id), None)]
    assert user.email not in repr(entries)


def test_login_without_csrf_token_is_rejected(client, make_user):
    user, password = make_user()
    response = client.post("/login", data={"email": user.email, "password": password})
    assert response.status_code == 400
    assert "Het formulier kon niet worden verwerkt" in response.get_data(as_text=True)
    assert client.get("/").status_code == 302


def test_login_is_rate_limited_per_address(client, login, make_user):
    user, password = make_user()
    for _ in range(10):
        assert login(client, user.email, "wrong-password-here").status_code == 401
    response = login(client, user.email, password)
    assert response.status_code == 429
    assert "Te veel pogingen" in response.get_data(as_text=True)
    assert "Retry-After" in response.headers


def test_logout_needs_post_with_csrf_and_ends_the_session(client, login, make_user, csrf_token, web_tenant):
    user, password = make_user()
    login(client, user.email, password)
    dashboard = f"/{web_tenant.slug}/"
    confirm = client.get("/logout")
    assert confirm.status_code == 200 and 'action="/logout"' in confirm.get_data(as_text=True)
    assert client.post("/logout").status_code == 400
    assert client.get(dashboard).status_code == 200
    response = client.post("/logout", data={"csrf_token": csrf_token(client, dashboard)})
    assert response.status_code == 302
    assert client.get(dashboard).status_code == 302


@pytest.mark.parametrize("target", [
    "https://evil.example/", "//evil.example/", "/\\evil.example", "\\\\evil.example", "javascript:alert(1)",
    "http:/evil.example", " //evil.example",
])
def test_next_never_leaves_the_site(client, login, make_user, web_tenant, target):
    user, password = make_user()
    response = login(client, user.email, password, next=target)
    assert response.headers["Location"] == f"/{web_tenant.slug}/"


def test_next_on_this_site_is_followed(client, login, make_user, web_tenant):
    user, password = make_user()
    to_members = client.get(f"/{web_tenant.slug}/members")
    assert to_members.status_code == 302
    assert to_members.headers["Location"].startswith("/login?next=")
    response = login(client, user.email, password, next=f"/{web_tenant.slug}/members")
    assert response.headers["Location"] == f"/{web_tenant.slug}/members"


def test_chooser_lists_only_the_users_tenants(client, login, make_user, make_tenant, as_tenant):
    first, second, other = make_tenant(name="Eerste BV"), make_tenant(name="Tweede BV"), make_tenant(name="Ander BV")
    make_user(tenant=other)
    user, password = make_user(tenant=first)
    as_tenant(second)
    operations.add_membership(second, user, "supervisor")
    as_tenant(None)
    response = login(client, user.email, password)
    assert response.headers["Location"] == "/"
    page = client.get("/").get_data(as_text=True)
    assert "Eerste BV" in page and "Tweede BV" in page
    assert "Ander BV" not in page


def test_user_without_tenants_sees_an_empty_chooser(client, login, make_user):
    user, password = make_user(tenant=False)
    login(client, user.email, password)
    page = client.get("/")
    assert page.status_code == 200
    assert "geen lid van een organisatie" in page.get_data(as_text=True)


def test_hash_is_upgraded_when_the_cost_settings_change(client, login, make_user):
    user, password = make_user()
    old_hash = PasswordHasher(time_cost=2, memory_cost=2048).hash(password)
    db.session.execute(sa.update(User).where(User.id == user.id).values(password_hash=old_hash))
    db.session.commit()
    assert login(client, user.email, password).status_code == 302
    db.session.expire_all()
    new_hash = db.session.get(User, user.id).password_hash
    assert new_hash != old_hash
    assert not operations.hasher().check_needs_rehash(new_hash)


def test_deactivated_user_cannot_log_in_and_loses_the_session(new_client, login, make_user, web_tenant):
    user, password = make_user()
    browser, other = new_client(), new_client()
    login(browser, user.email, password)
    assert browser.get(f"/{web_tenant.slug}/").status_code == 200
    operations.deactivate(db.session.get(User, user.id))
    db.session.commit()
    assert browser.get(f"/{web_tenant.slug}/").status_code == 302
    assert login(other, user.email, password).status_code == 401
    assert [e[0] for e in _audit(web_tenant, "user.deactivate")] == ["ok"]


def test_session_cookie_is_http_only_and_same_site(client, login, make_user):
    user, password = make_user()
    login(client, user.email, password)
    cookie = client.get_cookie("session")
    assert cookie.http_only
    assert cookie.same_site == "Lax"
