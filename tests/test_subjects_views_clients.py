"""Client organisations page: admins list and add them; bad input writes nothing."""
from __future__ import annotations

import sqlalchemy as sa

from saas.core import tenancy
from saas.extensions import db
from saas.modules.clients.models import ClientOrganisation
from saas.testing.fixtures_web import find_csrf_token


def _names(tenant_id: int) -> list[str]:
    db.session.commit()
    tenancy.set_tenant(tenant_id)
    names = sorted(db.session.scalars(sa.select(ClientOrganisation.name)))
    db.session.commit()
    tenancy.set_tenant(None)
    return names


def test_admin_adds_and_lists_client_organisations(make_user, make_tenant, web_tenant, make_client_org, browser_as,
                                                   audit_lines):
    make_client_org(make_tenant(), name="Van Andere Tenant BV")
    browser = browser_as(*make_user(role="admin"))
    path = f"/{web_tenant.slug}/clients"
    token = find_csrf_token(browser.get(path).get_data(as_text=True))

    response = browser.post(path, data={"csrf_token": token, "name": "  Bakkerij  De Korenaar ", "kvk_number": "12345678"})

    assert response.status_code == 302
    page = browser.get(path).get_data(as_text=True)
    assert "Bakkerij De Korenaar" in page and "12345678" in page
    assert "Van Andere Tenant BV" not in page
    assert _names(web_tenant.id) == ["Bakkerij De Korenaar"]
    assert len(audit_lines(web_tenant.id, "client_org.create")) == 1


def test_bad_input_and_duplicates_write_nothing(make_user, web_tenant, make_client_org, browser_as):
    make_client_org(web_tenant, name="Bestaand BV")
    browser = browser_as(*make_user(role="admin"))
    path = f"/{web_tenant.slug}/clients"
    token = find_csrf_token(browser.get(path).get_data(as_text=True))

    for data in ({"name": "", "kvk_number": ""}, {"name": "Nieuw", "kvk_number": "12AB"},
                 {"name": "bestaand bv", "kvk_number": ""}):
        assert browser.post(path, data={"csrf_token": token, **data}).status_code == 400, data
    assert _names(web_tenant.id) == ["Bestaand BV"]


def test_only_admins_manage_client_organisations(make_user, web_tenant, browser_as):
    for role in ("supervisor", "agent", "client"):
        browser = browser_as(*make_user(role=role))
        assert browser.get(f"/{web_tenant.slug}/clients").status_code == 404, role
