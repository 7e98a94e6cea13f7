"""GET /api/v1/<tenant>/registers/controller: the controller register as JSON, admins only, per tenant."""
from __future__ import annotations

import pytest

from saas.testing.fixtures_api import bearer
from saas.testing.retention_portal import leadgen_tenant  # noqa: F401  (fixture)

CONTACT = {"role": "dpo", "email": "privacy@example.test"}


def test_the_register_as_json_with_live_retention(leadgen_tenant, make_user, make_token, client):
    tenant = leadgen_tenant(contact=CONTACT)
    admin, _ = make_user(tenant=tenant)
    response = client.get(f"/api/v1/{tenant.slug}/registers/controller", headers=bearer(make_token(admin, tenant)))
    assert response.status_code == 200, response.get_data(as_text=True)
    body = response.get_json()
    assert body["complete"] is True and body["missing"] == []
    (line,) = body["lines"]
    assert line["activity"] == "leadgen.prospect_calling@v1" and line["legal_basis"] == "legitimate_interests"
    assert [n["basis"] for n in line["not_applicable"]] == [
        "consent", "contract", "legal_obligation", "vital_interests", "public_task"]
    unverified = next(r for r in line["retention"] if r["policy"] == "leadgen.prospect_unverified@v1")
    assert unverified["period"] == {"months": 10} and unverified["action"] == "purge"


@pytest.mark.parametrize("role", ["supervisor", "agent", "board"])
def test_other_roles_get_404(leadgen_tenant, make_user, make_token, client, role):
    tenant = leadgen_tenant(contact=CONTACT)
    user, _ = make_user(tenant=tenant, role=role)
    response = client.get(f"/api/v1/{tenant.slug}/registers/controller", headers=bearer(make_token(user, tenant)))
    assert response.status_code == 404


def test_another_tenants_register_is_404(leadgen_tenant, make_user, make_token, client):
    mine, other = leadgen_tenant(contact=CONTACT), leadgen_tenant(contact=CONTACT)
    admin, _ = make_user(tenant=mine)
    token = make_token(admin, mine)
    assert client.get(f"/api/v1/{other.slug}/registers/controller", headers=bearer(token)).status_code == 404
