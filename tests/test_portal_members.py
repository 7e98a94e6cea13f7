"""Member management for tenant admins: every change audited, other tenants' ids and non-admins get 404."""
import re

import pytest
import sqlalchemy as sa

from saas.core import tenancy
from saas.extensions import db
from saas.modules.accounts.models import Membership
from saas.modules.audit.models import AuditEntry
from saas.modules.clients.models import ClientOrganisation


def _audit_actions(tenant) -> list[tuple[str, str | None]]:
    db.session.commit()
    tenancy.set_tenant(tenant.id)
    found = [(e.action, e.object_id) for e in db.session.scalars(sa.select(AuditEntry).order_by(AuditEntry.seq))]
    db.session.commit()
    tenancy.set_tenant(None)
    return found


def _membership(tenant, user) -> tuple[str, str, str | None]:
    """(id, role, client org id) of a user's membership, read fresh."""
    db.session.commit()
    tenancy.set_tenant(tenant.id)
    m = db.session.scalar(sa.select(Membership).where(Membership.user_id == user.id))
    found = None if m is None else (str(m.id), m.role, str(m.client_org_id) if m.client_org_id else None)
    db.session.commit()
    tenancy.set_tenant(None)
    return found


def _client_org(tenant, name="Opdrachtgever BV") -> str:
    tenancy.set_tenant(tenant.id)
    org = ClientOrganisation(name=name)
    org_id = str(org.id)
    db.session.add(org)
    db.session.commit()
    tenancy.set_tenant(None)
    return org_id


@pytest.fixture()
def admin_client(client, login, make_user, web_tenant):
    admin, password = make_user(name="Anna Admin")
    login(client, admin.email, password)
    client.admin = admin
    return client


def test_admin_sees_the_members_and_the_view_is_audited(admin_client, make_user, web_tenant):
    agent, _ = make_user(role="agent", name="Bram Agent")
    page = admin_client.get(f"/{web_tenant.slug}/members")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert "Anna Admin" in html and "Bram Agent" in html and agent.email in html
    assert ("membership.list", str(web_tenant.id)) in _audit_actions(web_tenant)


def _invitations(tenant) -> list[tuple[str, str]]:
    """(role, email) of the tenant's pending invitations, read fresh."""
    from saas.modules.accounts import queries

    db.session.commit()
    tenancy.set_tenant(tenant.id)
    found = [(i.role, i.email) for i in queries.pending_invitations()]
    db.session.commit()
    tenancy.set_tenant(None)
    return found


# Adding a member now sends an invitation (issue 9 item 4): no account and no membership exist until the
# person accepts; the full flow is in test_accounts_invitations.py.
def test_admin_invites_a_new_address_and_no_membership_exists_yet(admin_client, csrf_token, web_tenant):
    response = admin_client.post(f"/{web_tenant.slug}/members", data={
        "csrf_token": csrf_token(admin_client, f"/{web_tenant.slug}/members"),
        "email": "Carla.Nieuw@Example.test", "role": "supervisor",
    })
    assert response.status_code == 302
    assert _invitations(web_tenant) == [("supervisor", "carla.nieuw@example.test")]
    page = admin_client.get(f"/{web_tenant.slug}/members").get_data(as_text=True)
    assert "carla.nieuw@example.test" in page and "<code>" not in page
    assert "invitation.send" in [action for action, _ in _audit_actions(web_tenant)]


def test_inviting_an_existing_account_adds_no_membership_until_accepted(admin_client, csrf_token, make_user,
                                                                       make_tenant, web_tenant):
    elsewhere, _ = make_user(tenant=make_tenant())
    response = admin_client.post(f"/{web_tenant.slug}/members", data={
        "csrf_token": csrf_token(admin_client, f"/{web_tenant.slug}/members"),
        "email": elsewhere.email, "role": "agent",
    })
    assert response.status_code == 302
    assert _membership(web_tenant, elsewhere) is None
    assert _invitations(web_tenant) == [("agent", elsewhere.email)]


def test_a_client_user_needs_one_of_this_tenants_client_organisations(
        admin_client, csrf_token, make_tenant, web_tenant):
    other_org = _client_org(make_tenant())
    own_org = _client_org(web_tenant)
    url = f"/{web_tenant.slug}/members"
    token = csrf_token(admin_client, url)
    base = {"csrf_token": token, "email": "dirk@example.test", "role": "client"}
    for org in ("", other_org, "not-an-id"):
        refused = admin_client.post(url, data={**base, "client_org": org})
        assert refused.status_code == 400
        assert "klantorganisaties van deze organisatie" in refused.get_data(as_text=True)
    assert _invitations(web_tenant) == []
    assert admin_client.post(url, data={**base, "client_org": own_org}).status_code == 302
    assert _invitations(web_tenant) == [("client", "dirk@example.test")]


def test_change_role_and_remove_are_audited(admin_client, csrf_token, make_user, web_tenant):
    agent, _ = make_user(role="agent")
    membership_id = _membership(web_tenant, agent)[0]
    url = f"/{web_tenant.slug}/members/{membership_id}"
    token = csrf_token(admin_client, url)
    assert admin_client.post(f"{url}/role", data={"csrf_token": token, "role": "supervisor"}).status_code == 302
    assert _membership(web_tenant, agent)[1] == "supervisor"
    assert admin_client.post(f"{url}/remove", data={"csrf_token": token}).status_code == 302
    assert _membership(web_tenant, agent) is None
    actions = _audit_actions(web_tenant)
    assert ("membership.change_role", membership_id) in actions
    assert ("membership.remove", membership_id) in actions


def test_the_last_admin_cannot_be_removed_or_demoted(admin_client, csrf_token, web_tenant):
    membership_id = _membership(web_tenant, admin_client.admin)[0]
    url = f"/{web_tenant.slug}/members/{membership_id}"
    token = csrf_token(admin_client, url)
    demote = admin_client.post(f"{url}/role", data={"csrf_token": token, "role": "agent"})
    assert demote.status_code == 400
    assert "minstens één beheerder" in demote.get_data(as_text=True)
    remove = admin_client.post(f"{url}/remove", data={"csrf_token": token}, follow_redirects=True)
    assert "minstens één beheerder" in remove.get_data(as_text=True)
    assert _membership(web_tenant, admin_client.admin)[1] == "admin"


def test_member_actions_need_the_csrf_token(admin_client, make_user, web_tenant):
    agent, _ = make_user(role="agent")
    url = f"/{web_tenant.slug}/members/{_membership(web_tenant, agent)[0]}"
    assert admin_client.post(f"{url}/role", data={"role": "admin"}).status_code == 400
    assert admin_client.post(f"{url}/remove").status_code == 400
    assert _membership(web_tenant, agent)[1] == "agent"


@pytest.mark.parametrize("role", ["supervisor", "agent", "client"])
def test_non_admins_get_404_on_every_members_page(client, login, csrf_token, make_user, web_tenant, role):
    admin, _ = make_user()
    user, password = make_user(role=role)
    login(client, user.email, password)
    token = csrf_token(client, f"/{web_tenant.slug}/")
    target = f"/{web_tenant.slug}/members/{_membership(web_tenant, admin)[0]}"
    assert client.get(f"/{web_tenant.slug}/members").status_code == 404
    assert client.post(f"/{web_tenant.slug}/members", data={"csrf_token": token}).status_code == 404
    assert client.get(target).status_code == 404
    assert client.post(f"{target}/role", data={"csrf_token": token, "role": "agent"}).status_code == 404
    assert client.post(f"{target}/remove", data={"csrf_token": token}).status_code == 404
    assert _membership(web_tenant, admin)[1] == "admin"


def test_another_tenants_pages_and_membership_ids_answer_404(admin_client, csrf_token, make_user, make_tenant,
                                                             web_tenant):
    other = make_tenant()
    their_admin, _ = make_user(tenant=other)
    their_id = _membership(other, their_admin)[0]
    token = csrf_token(admin_client, f"/{web_tenant.slug}/members")
    # The other tenant's own pages: this user is no member there.
    for path in (f"/{other.slug}/", f"/{other.slug}/members", f"/{other.slug}/members/{their_id}"):
        assert admin_client.get(path).status_code == 404
    for action in ("role", "remove"):
        assert admin_client.post(f"/{other.slug}/members/{their_id}/{action}",
                                 data={"csrf_token": token, "role": "agent"}).status_code == 404
    # The other tenant's membership id under this tenant's URLs.
    own = f"/{web_tenant.slug}/members/{their_id}"
    assert admin_client.get(own).status_code == 404
    assert admin_client.post(f"{own}/role", data={"csrf_token": token, "role": "agent"}).status_code == 404
    assert admin_client.post(f"{own}/remove", data={"csrf_token": token}).status_code == 404
    assert _membership(other, their_admin)[1] == "admin"
    assert ("tenant.enter", str(other.id)) in [(a, o) for a, o in _audit_actions(other)]


def test_unknown_tenant_and_malformed_ids_answer_404(admin_client, web_tenant):
    assert admin_client.get("/no-such-tenant/").status_code == 404
    assert admin_client.get(f"/{web_tenant.slug}/members/12345").status_code == 404


def test_cli_creates_a_member_and_blocks_a_user(app, client, login, web_tenant):
    from saas.modules.accounts.cli import users

    runner = app.test_cli_runner()
    created = runner.invoke(users, args=["create", "--email", "Eva@Example.test", "--name", "Eva Beheer",
                                  "--tenant", web_tenant.slug, "--role", "admin"])
    assert created.exit_code == 0, created.output
    password = re.search(r"^password: (\S+)$", created.output, re.M).group(1)
    # The operator saw the password: it must be changed first (issue 9 item 5), then the tenant opens.
    assert login(client, "eva@example.test", password).headers["Location"] == "/account/password"
    assert client.get(f"/{web_tenant.slug}/").headers["Location"] == "/account/password"
    again = runner.invoke(users, args=["create", "--email", "eva@example.test", "--name", "Eva",
                                "--tenant", web_tenant.slug])
    assert again.exit_code != 0 and "already_member" in again.output
    blocked = runner.invoke(users, args=["deactivate", "--email", "eva@example.test"])
    assert blocked.exit_code == 0, blocked.output
    assert client.get(f"/{web_tenant.slug}/").status_code == 302


def test_a_refused_role_change_rolls_back_but_its_page_view_is_audited(admin_client, csrf_token, web_tenant):
    """The commit point rolls back the refused change (400); the page it shows again names a member, so
    its audit line lands all the same (persist_now)."""
    membership_id = _membership(web_tenant, admin_client.admin)[0]
    url = f"/{web_tenant.slug}/members/{membership_id}"
    token = csrf_token(admin_client, url)
    before = _audit_actions(web_tenant)
    assert admin_client.post(f"{url}/role", data={"csrf_token": token, "role": "agent"}).status_code == 400
    new = _audit_actions(web_tenant)[len(before):]
    assert new == [("membership.view", membership_id)]
    assert _membership(web_tenant, admin_client.admin)[1] == "admin"
