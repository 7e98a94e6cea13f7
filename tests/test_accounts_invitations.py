"""Members by invitation: accepted through the mailed link (new or existing account), pending ones seen and
withdrawn by admins, the inviting admin learns nothing about the address, other tenants' ids answer 404."""
from __future__ import annotations

import re
from datetime import timedelta

import pytest
import sqlalchemy as sa

from saas.core import clock, tenancy
from saas.extensions import db
from saas.modules.accounts import queries
from saas.modules.accounts.models import Invitation, Membership
from saas.modules.audit.models import AuditEntry
from tests.test_accounts_reset import deliver, link_path

TEMPLATE = "accounts.invitation"


@pytest.fixture()
def admin_client(client, login, make_user, web_tenant, use_smtp, smtp_server):
    use_smtp(smtp_server.url)
    admin, password = make_user(name="Anna Admin")
    login(client, admin.email, password)
    client.tenant_slug = web_tenant.slug
    return client


def _invite(admin_client, csrf_token, email, role="agent", **extra):
    url = f"/{admin_client.tenant_slug}/members"
    return admin_client.post(url, data={"csrf_token": csrf_token(admin_client, url), "email": email, "role": role,
                                        **extra})


def _member_role(tenant_id, user_id):
    db.session.commit()
    tenancy.set_tenant(tenant_id)
    role = db.session.scalar(sa.select(Membership.role).where(Membership.user_id == user_id))
    db.session.commit()
    tenancy.set_tenant(None)
    return role


def _actions(tenant_id):
    db.session.commit()
    tenancy.set_tenant(tenant_id)
    found = [(e.action, e.detail) for e in db.session.scalars(sa.select(AuditEntry).order_by(AuditEntry.seq))]
    db.session.commit()
    tenancy.set_tenant(None)
    return found


def _pending_ids(tenant_id):
    db.session.commit()
    tenancy.set_tenant(tenant_id)
    found = [str(i.id) for i in queries.pending_invitations()]
    db.session.commit()
    tenancy.set_tenant(None)
    return found


def test_a_new_person_accepts_by_mail_and_chooses_a_password(admin_client, csrf_token, new_client, login,
                                                             web_tenant, smtp_server):
    tenant_id, slug = web_tenant.id, web_tenant.slug
    assert _invite(admin_client, csrf_token, "Nieuw.Persoon@Example.test", role="supervisor").status_code == 302
    [message] = deliver(smtp_server, web_tenant, TEMPLATE)
    assert message["To"] == "nieuw.persoon@example.test"
    path = link_path(message)

    newcomer = new_client()
    assert newcomer.get(path).headers["Location"] == "/invite/accept"
    form = newcomer.get("/invite/accept")
    assert form.status_code == 200 and 'name="new_password"' in form.get_data(as_text=True)
    token = csrf_token(newcomer, "/invite/accept")
    short = newcomer.post("/invite/accept", data={"csrf_token": token, "display_name": "Nieuw Persoon",
                                                  "new_password": "kort", "new_password_again": "kort"})
    assert short.status_code == 400 and queries.find_user_by_email("nieuw.persoon@example.test") is None
    done = newcomer.post("/invite/accept", data={"csrf_token": token, "display_name": "Nieuw Persoon",
                                                 "new_password": "zelf-gekozen-wachtwoord",
                                                 "new_password_again": "zelf-gekozen-wachtwoord"})
    assert done.headers["Location"] == f"/{slug}/"
    assert newcomer.get(f"/{slug}/").status_code == 200
    user = queries.find_user_by_email("nieuw.persoon@example.test")
    assert _member_role(tenant_id, user.id) == "supervisor"
    assert login(new_client(), "nieuw.persoon@example.test", "zelf-gekozen-wachtwoord").status_code == 302

    reuse = new_client()
    reuse.get(path)
    assert reuse.get("/invite/accept").status_code == 410                     # single use
    actions = [a for a, _ in _actions(tenant_id)]
    assert {"invitation.send", "invitation.accept", "membership.create"} <= set(actions)
    assert _pending_ids(tenant_id) == []


def test_an_existing_account_sees_the_tenant_only_after_accepting(admin_client, csrf_token, new_client, login,
                                                                  make_user, make_tenant, web_tenant, smtp_server):
    tenant_id, slug = web_tenant.id, web_tenant.slug
    elsewhere = make_tenant(name="Elders BV")
    person, password = make_user(tenant=elsewhere, role="agent")
    person_id, email = person.id, person.email
    _invite(admin_client, csrf_token, email, role="agent")
    [message] = deliver(smtp_server, web_tenant, TEMPLATE)

    browser = new_client()
    login(browser, email, password)
    assert browser.get(f"/{slug}/").status_code == 404                         # not a member before accepting
    assert _member_role(tenant_id, person_id) is None
    browser.post("/logout", data={"csrf_token": csrf_token(browser, "/logout")})

    assert browser.get(link_path(message)).headers["Location"] == "/invite/accept"
    signin = browser.get("/invite/accept")
    assert signin.status_code == 200 and 'href="/login"' in signin.get_data(as_text=True)
    assert login(browser, email, password).headers["Location"] == "/invite/accept"
    confirm = browser.get("/invite/accept")
    assert confirm.status_code == 200
    accepted = browser.post("/invite/accept", data={"csrf_token": csrf_token(browser, "/invite/accept")})
    assert accepted.headers["Location"] == f"/{slug}/"
    assert _member_role(tenant_id, person_id) == "agent"
    assert browser.get(f"/{slug}/").status_code == 200


def test_another_account_cannot_accept_someone_elses_invitation(admin_client, csrf_token, new_client, login,
                                                               make_user, web_tenant, smtp_server):
    tenant_id, slug = web_tenant.id, web_tenant.slug
    _invite(admin_client, csrf_token, "bedoeld@example.test")
    [message] = deliver(smtp_server, web_tenant, TEMPLATE)
    intruder, password = make_user(tenant=False)
    browser = new_client()
    login(browser, intruder.email, password)
    browser.get(link_path(message))
    assert browser.get("/invite/accept").status_code == 403
    browser.post("/invite/accept", data={"csrf_token": csrf_token(browser, "/")})
    assert _member_role(tenant_id, intruder.id) is None
    assert browser.get(f"/{slug}/").status_code == 404


def test_the_admin_learns_nothing_about_an_existing_account_elsewhere(admin_client, csrf_token, make_user,
                                                                      make_tenant, web_tenant, smtp_server):
    elsewhere = make_tenant(name="Geheim Elders BV")
    existing, _ = make_user(tenant=elsewhere, name="Xander Verborgen")
    existing_email = existing.email
    fresh_email = "x" * (len(existing_email) - len("@example.test")) + "@example.test"
    answers = []
    for email in (existing_email, fresh_email):
        response = _invite(admin_client, csrf_token, email)
        page = admin_client.get(response.headers["Location"])
        answers.append((response.status_code, response.headers["Location"], page.status_code,
                        _normalised(page.get_data(as_text=True), email)))
    assert answers[0][:3] == answers[1][:3]
    first, second = answers[0][3], answers[1][3]
    assert first.count("[email]") == second.count("[email]") == 1
    assert "Xander Verborgen" not in first and "Geheim Elders" not in first
    mails = deliver(smtp_server, web_tenant, TEMPLATE)
    bodies = [re.sub(r"/invite/\S+", "[link]", m.get_content()) for m in mails]
    assert bodies[0] == bodies[1]


def _normalised(html: str, email: str) -> str:
    """A members page without what differs by design: CSRF tokens, this email's row, the other invitation."""
    html = re.sub(r'name="csrf_token"[^>]*', "", html)
    html = re.sub(r"/invitations/[0-9a-f-]+/", "/invitations/[id]/", html)
    return html.replace(email, "[email]")


def test_admins_see_and_withdraw_pending_invitations(admin_client, csrf_token, new_client, web_tenant,
                                                     smtp_server):
    tenant_id, slug = web_tenant.id, web_tenant.slug
    _invite(admin_client, csrf_token, "later@example.test")
    page = admin_client.get(f"/{slug}/members").get_data(as_text=True)
    assert "later@example.test" in page
    [invitation_id] = _pending_ids(tenant_id)
    [message] = deliver(smtp_server, web_tenant, TEMPLATE)
    revoke = admin_client.post(f"/{slug}/members/invitations/{invitation_id}/revoke",
                               data={"csrf_token": csrf_token(admin_client, f"/{slug}/members")})
    assert revoke.status_code == 302
    assert _pending_ids(tenant_id) == []
    assert "later@example.test" not in admin_client.get(f"/{slug}/members").get_data(as_text=True)
    browser = new_client()
    browser.get(link_path(message))
    assert browser.get("/invite/accept").status_code == 410
    assert ("invitation.revoke", {}) in _actions(tenant_id)


def test_an_invitation_expires(admin_client, csrf_token, new_client, web_tenant, smtp_server):
    start = clock.now()
    clock.set_now(start)
    _invite(admin_client, csrf_token, "traag@example.test")
    [message] = deliver(smtp_server, web_tenant, TEMPLATE)
    clock.set_now(start + timedelta(days=8))
    browser = new_client()
    browser.get(link_path(message))
    assert browser.get("/invite/accept").status_code == 410


def test_another_tenants_invitation_ids_and_links_answer_404(admin_client, csrf_token, new_client, login,
                                                             make_user, make_tenant, web_tenant, smtp_server):
    other = make_tenant()
    other_id, other_slug = other.id, other.slug
    their_admin, password = make_user(tenant=other)
    theirs = new_client()
    login(theirs, their_admin.email, password)
    url = f"/{other_slug}/members"
    theirs.post(url, data={"csrf_token": csrf_token(theirs, url), "email": "hun-kandidaat@example.test",
                           "role": "agent"})
    [their_invitation] = _pending_ids(other_id)
    [their_mail] = deliver(smtp_server, other, TEMPLATE)
    token = csrf_token(admin_client, f"/{admin_client.tenant_slug}/members")
    # Their invitation id under this tenant's URL, and this admin on their tenant's URL.
    own = admin_client.post(f"/{admin_client.tenant_slug}/members/invitations/{their_invitation}/revoke",
                            data={"csrf_token": token})
    assert own.status_code == 404
    assert admin_client.post(f"/{other_slug}/members/invitations/{their_invitation}/revoke",
                             data={"csrf_token": token}).status_code == 404
    assert _pending_ids(other_id) == [their_invitation]
    # Their link's token under this tenant's slug.
    their_token = link_path(their_mail).rsplit("/", 1)[1]
    browser = new_client()
    browser.get(f"/invite/{admin_client.tenant_slug}/{their_token}")
    assert browser.get("/invite/accept").status_code == 404


@pytest.mark.parametrize("role", ["supervisor", "agent"])
def test_non_admins_cannot_invite_or_withdraw(admin_client, csrf_token, new_client, login, make_user, web_tenant,
                                              role):
    slug, tenant_id = web_tenant.slug, web_tenant.id
    _invite(admin_client, csrf_token, "iemand@example.test")
    [invitation_id] = _pending_ids(tenant_id)
    user, password = make_user(role=role)
    browser = new_client()
    login(browser, user.email, password)
    token = csrf_token(browser, f"/{slug}/")
    assert browser.post(f"/{slug}/members", data={"csrf_token": token, "email": "x@example.test",
                                                   "role": "admin"}).status_code == 404
    assert browser.post(f"/{slug}/members/invitations/{invitation_id}/revoke",
                        data={"csrf_token": token}).status_code == 404
    assert _pending_ids(tenant_id) == [invitation_id]


def test_the_address_is_encrypted_at_rest(admin_client, csrf_token, web_tenant):
    _invite(admin_client, csrf_token, "versleuteld@example.test")
    tenant_id = web_tenant.id
    db.session.commit()
    tenancy.set_tenant(tenant_id)
    table = Invitation.__table__
    raw = db.session.execute(sa.select(table.c.ciphertext, table.c.token_hash).where(table.c.tenant_id == tenant_id)).one()
    db.session.commit()
    tenancy.set_tenant(None)
    assert b"versleuteld" not in raw[0]


def test_tokens_in_links_are_kept_out_of_the_request_log():
    import logging

    from saas.modules.accounts.account_views import RedactAccountTokens

    token = "A" * 43
    for path in (f"/invite/zest/{token}", f"/password/reset/{token}"):
        record = logging.LogRecord("werkzeug", logging.INFO, __file__, 1, '"GET %s HTTP/1.1" 302 -', (path,), None)
        RedactAccountTokens().filter(record)
        assert token not in record.getMessage() and "[token]" in record.getMessage()
