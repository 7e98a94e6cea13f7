"""Password reset by mail: the same answer for any address, a hashed single-use token that expires,
sent through the outbox over real SMTP, every session ended afterwards."""
from __future__ import annotations

import re
from datetime import timedelta
from urllib.parse import urlsplit

import sqlalchemy as sa

from saas.core import clock, tenancy
from saas.extensions import db
from saas.jobs.queues import queue
from saas.jobs.worker import unit_of_work
from saas.modules.accounts.models import PasswordReset
from saas.modules.audit.models import AuditEntry
from saas.modules.outbox import jobs
from saas.modules.outbox.models import OutboxMail

TEMPLATE = "accounts.password_reset"


def deliver(smtp_server, tenant, template) -> list:
    """Send every queued mail of this template of the tenant (what the worker does); the SMTP messages."""
    tenant_id = tenant.id
    db.session.commit()
    tenancy.set_tenant(tenant_id)
    ids = [str(i) for i in db.session.scalars(sa.select(OutboxMail.id).where(OutboxMail.template == template))]
    db.session.commit()
    tenancy.set_tenant(None)
    for mail_id in ids:
        with unit_of_work(tenant_id):
            jobs.send_mail(mail_id=mail_id)
        for job in queue("mail").get_jobs():
            if job.kwargs.get("mail_id") == mail_id:
                job.delete()
    return list(smtp_server.messages)


def link_path(message) -> str:
    url = re.search(r"https?://\S+", message.get_content()).group(0)
    return urlsplit(url).path


def _forgot(client, csrf_token, email):
    return client.post("/password/forgot", data={"csrf_token": csrf_token(client, "/password/forgot"), "email": email})


def _set(client, csrf_token, password):
    return client.post("/password/reset", data={
        "csrf_token": csrf_token(client, "/login"), "new_password": password, "new_password_again": password})


def test_the_answer_is_the_same_whether_or_not_the_address_exists(client, csrf_token, make_user, web_tenant,
                                                                  smtp_server, use_smtp):
    use_smtp(smtp_server.url)
    user, _ = make_user()
    email = user.email
    known, unknown = _forgot(client, csrf_token, user.email), _forgot(client, csrf_token, "nobody@example.test")
    assert known.status_code == unknown.status_code == 200
    strip = lambda html: re.sub(r'name="csrf_token"[^>]*', "", html)  # noqa: E731
    assert strip(known.get_data(as_text=True)) == strip(unknown.get_data(as_text=True))
    [message] = deliver(smtp_server, web_tenant, TEMPLATE)
    assert message["To"] == email


def test_reset_link_is_single_use_hashed_and_ends_every_session(client, new_client, login, csrf_token, make_user,
                                                                web_tenant, smtp_server, use_smtp):
    use_smtp(smtp_server.url)
    user, password = make_user()
    email, user_id = user.email, user.id
    tenant_id, dashboard = web_tenant.id, f"/{web_tenant.slug}/"
    logged_in = new_client()
    login(logged_in, user.email, password)
    _forgot(client, csrf_token, user.email)
    [message] = deliver(smtp_server, web_tenant, TEMPLATE)
    path = link_path(message)
    token = path.rsplit("/", 1)[1]
    stored = db.session.scalars(sa.select(PasswordReset.token_hash).where(PasswordReset.user_id == user_id)).all()
    assert stored and token not in repr(stored)

    browser = new_client()
    assert browser.get(path).headers["Location"] == "/password/reset"
    assert browser.get("/password/reset").status_code == 200
    assert _set(browser, csrf_token, "kort").status_code == 400
    assert _set(browser, csrf_token, "mijn-nieuwe-wachtwoord").headers["Location"] == "/login"
    assert logged_in.get(dashboard).status_code == 302                            # sessions ended
    assert login(new_client(), email, password).status_code == 401
    assert login(new_client(), email, "mijn-nieuwe-wachtwoord").status_code == 302

    again = new_client()
    again.get(path)
    assert again.get("/password/reset").status_code == 410                       # used once
    assert _set(again, csrf_token, "nog-een-wachtwoord-x").status_code == 410
    assert login(new_client(), email, "mijn-nieuwe-wachtwoord").status_code == 302
    tenancy.set_tenant(tenant_id)
    actions = list(db.session.scalars(sa.select(AuditEntry.action)))
    db.session.commit()
    tenancy.set_tenant(None)
    assert "auth.reset_request" in actions and "auth.reset" in actions
    tenancy.set_tenant(tenant_id)
    details = repr(list(db.session.scalars(sa.select(AuditEntry.detail))))
    db.session.commit()
    tenancy.set_tenant(None)
    assert email not in details


def test_reset_link_expires(client, new_client, login, csrf_token, make_user, web_tenant, smtp_server, use_smtp):
    use_smtp(smtp_server.url)
    user, password = make_user()
    email = user.email
    start = clock.now()
    clock.set_now(start)
    _forgot(client, csrf_token, user.email)
    [message] = deliver(smtp_server, web_tenant, TEMPLATE)
    browser = new_client()
    browser.get(link_path(message))
    clock.set_now(start + timedelta(minutes=29))
    assert browser.get("/password/reset").status_code == 200
    clock.set_now(start + timedelta(minutes=31))
    assert browser.get("/password/reset").status_code == 410
    assert _set(browser, csrf_token, "te-laat-gekozen-x").status_code == 410
    assert login(new_client(), email, password).status_code == 302


def test_a_forged_token_is_not_valid(new_client, csrf_token):
    browser = new_client()
    browser.get("/password/reset/" + "x" * 43)
    assert browser.get("/password/reset").status_code == 404
    assert new_client().get("/password/reset").status_code == 404                 # no token at all


def test_one_mail_per_account_every_two_minutes(client, csrf_token, make_user, web_tenant, smtp_server, use_smtp):
    use_smtp(smtp_server.url)
    user, _ = make_user()
    email = user.email
    start = clock.now()
    clock.set_now(start)
    _forgot(client, csrf_token, email)
    clock.set_now(start + timedelta(seconds=60))
    assert _forgot(client, csrf_token, email).status_code == 200
    clock.set_now(start + timedelta(seconds=150))
    _forgot(client, csrf_token, email)
    assert len(deliver(smtp_server, web_tenant, TEMPLATE)) == 2


def test_nul_bytes_in_the_new_forms_are_a_400(client, new_client, csrf_token, login, make_user, web_tenant):
    assert _forgot(client, csrf_token, "iemand\x00@example.test").status_code == 400
    admin, password = make_user()
    login(client, admin.email, password)
    url = f"/{web_tenant.slug}/members"
    invite = client.post(url, data={"csrf_token": csrf_token(client, url), "email": "a\x00b@example.test",
                                    "role": "agent"})
    assert invite.status_code == 400
    two_factor = new_client().post("/login/two-factor", data={"code": "12\x0034"})
    assert two_factor.status_code in (302, 400)


def test_a_reset_revokes_the_users_api_tokens_in_each_tenant(client, new_client, csrf_token, make_user, make_tenant,
                                                             make_token, web_tenant, smtp_server, use_smtp):
    """Whoever knew the old password may have made API tokens with it: after the reset none works."""
    from saas.api import tokens
    from saas.modules.accounts import operations
    from saas.testing.fixtures_api import bearer

    use_smtp(smtp_server.url)
    user, _ = make_user()
    user_id, email = user.id, user.email
    other_tenant = make_tenant()
    tenancy.set_tenant(other_tenant.id)
    operations.add_membership(other_tenant, db.session.get(type(user), user_id), "agent")
    db.session.commit()
    tenancy.set_tenant(None)
    here, there = make_token(user, web_tenant), make_token(user, other_tenant)
    bystander, _ = make_user()
    kept = make_token(bystander, web_tenant)
    ours, theirs = (web_tenant.slug, web_tenant.id), (other_tenant.slug, other_tenant.id)
    me = lambda tenant, token: client.get(f"/api/v1/{tenant[0]}/me", headers=bearer(token)).status_code  # noqa: E731
    assert me(ours, here) == me(theirs, there) == 200

    _forgot(client, csrf_token, email)
    [message] = deliver(smtp_server, web_tenant, TEMPLATE)
    browser = new_client()
    browser.get(link_path(message))
    assert _set(browser, csrf_token, "mijn-nieuwe-wachtwoord").headers["Location"] == "/login"

    assert me(ours, here) == me(theirs, there) == 401
    assert me(ours, kept) == 200                                        # only this user's tokens
    for _slug, tenant_id in (ours, theirs):
        db.session.commit()
        with tenancy.tenant_context(tenant_id):
            reasons = [e.detail for e in db.session.scalars(
                sa.select(AuditEntry).where(AuditEntry.action == "api_token.revoke"))]
            live = [t.prefix for t in tokens.list_tokens() if t.revoked_at is None and t.user_id == user_id]
            db.session.commit()
        assert live == [] and [r["why"] for r in reasons] == ["password_reset"]
