"""Tenants apart on the signing pages: a link names its tenant and finds nothing elsewhere; another
tenant's admin reaches neither the signer pages nor the agreement through the portal."""
from __future__ import annotations

import base64

from saas.core import tenancy
from saas.extensions import db
from saas.modules.agreements.models import Agreement
from saas.testing.fixtures_web import find_csrf_token
from saas.testing.signing import agreement_of, create_agreement, events_of, sign_form, verify

GET_PATHS = ("", "/code", "/review", "/document.pdf", "/done")
POST_PATHS = ("/code/send", "/code", "/sign", "/decline")


def _with_tenant(token: str, tenant_id: int) -> str:
    raw = base64.urlsafe_b64decode(token)
    return base64.urlsafe_b64encode(raw[:32] + tenant_id.to_bytes(4, "big")).decode()


def test_a_link_moved_to_another_tenant_finds_nothing_on_any_page(ctx, make_tenant, client):
    owner = make_tenant(name="Eigenaar BV")
    other = make_tenant(name="Ander BV")
    made = create_agreement(owner.id)
    create_agreement(other.id, counterparty="Geheim Klant BV")
    verify(client, made)                               # even with a verified session for the real link
    data = sign_form(client, made.tokens[0])
    moved = _with_tenant(made.tokens[0], other.id)
    before = len(events_of(made))
    tenancy.set_tenant(None)
    for path in GET_PATHS:
        response = client.get(f"/sign/{moved}{path}")
        assert response.status_code == 404, path
        body = response.get_data(as_text=True)
        assert "Ander BV" not in body and "Geheim Klant BV" not in body and "Eigenaar BV" not in body, path
    for path in POST_PATHS:
        response = client.post(f"/sign/{moved}{path}", data={**data, "code": "123456", "reason": "nee"})
        assert response.status_code == 404, path
    assert len(events_of(made)) == before
    assert agreement_of(made).status == "viewed"


def test_another_tenants_admin_reaches_neither_signer_pages_nor_the_agreement(ctx, make_tenant, make_user,
                                                                              client, login):
    owner = make_tenant(name="Eigenaar BV")
    other = make_tenant(name="Ander BV")
    made = create_agreement(owner.id)
    outsider, password = make_user(role="admin", tenant=other)
    assert login(client, outsider.email, password).status_code == 302
    # Through the portal: not under the owner's slug, not under the admin's own slug.
    for base in (f"/{owner.slug}/agreements/{made.agreement_id}", f"/{other.slug}/agreements/{made.agreement_id}"):
        for path in ("", "/document.pdf", "/sealed.pdf", "/countersign"):
            response = client.get(base + path)
            assert response.status_code == 404, base + path
            assert made.number not in response.get_data(as_text=True)
    # The signer pages do not care who is logged in: without the mailed code, no document and no forms.
    for path in ("/review", "/document.pdf", "/done"):
        response = client.get(f"/sign/{made.tokens[0]}{path}")
        assert response.status_code == 302 and response.headers["Location"].endswith(f"/sign/{made.tokens[0]}"), path
    landing = client.get(f"/sign/{made.tokens[0]}").get_data(as_text=True)
    csrf = find_csrf_token(landing)
    sign = client.post(f"/sign/{made.tokens[0]}/sign", data={"csrf_token": csrf, "name": "Indringer", "function": "x",
                                                              "authority": "y", "document_sha256": made.sha256})
    assert sign.status_code == 302
    tenancy.set_tenant(owner.id)
    assert db.session.get(Agreement, made.agreement_id).status == "sent"
    tenancy.set_tenant(None)


def test_a_verified_session_opens_only_its_own_link(ctx, make_tenant, client):
    first = create_agreement(make_tenant().id)
    second = create_agreement(make_tenant().id)
    verify(client, first)
    for path in ("/review", "/document.pdf"):
        assert client.get(f"/sign/{second.tokens[0]}{path}").status_code == 302, path
    assert client.get(f"/sign/{first.tokens[0]}/review").status_code == 200
