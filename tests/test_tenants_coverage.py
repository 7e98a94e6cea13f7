"""Every category a tenant can hold has a retention rule. Categories come only from the tenant's plugins;
`saas tenants sync` refuses a tenant file that leaves one uncovered (naming tenant, category and plugins),
and nobody can be recorded in an uncovered category: the check sits in the subjects' operations, so the
portal, the API and every import meet it."""
from __future__ import annotations

import pytest
import sqlalchemy as sa

from saas.core import tenancy
from saas.extensions import db
from saas.modules.subjects import operations
from saas.modules.subjects.models import DataSubject
from saas.modules.tenants.queries import find_by_slug
from saas.modules.tenants.schemas import TenantConfigError, read_tenant_file
from saas.plugins import manager
from saas.testing.fixtures_api import bearer
from saas.testing.fixtures_web import find_csrf_token

REFEREES_OFF = '\n[retention."consultancy.referee_relationship_end"]\nenabled = false\n'


def _count(tenant, category: str) -> int:
    with tenancy.tenant_context(tenant.id):
        return db.session.scalar(sa.select(sa.func.count()).select_from(DataSubject)
                                 .where(DataSubject.category == category))


def test_the_shipped_plugins_cover_every_category_they_declare():
    registry = manager.load()
    assert registry.uncovered_categories(registry.plugins) == {}


def test_a_plugin_whose_category_has_no_rule_is_refused_by_sync(tmp_path, make_test_plugin):
    registry = manager.load([make_test_plugin("visitors", ("visitor",))])
    path = tmp_path / "museum.toml"
    path.write_text('slug = "museum"\nname = "Museum"\nlocale = "nl"\nplugins = ["visitors", "fiscal"]\n'
                    'rights_request_days = 30\n[contact]\nrole = "contact"\n', encoding="utf-8")
    with pytest.raises(TenantConfigError) as refused:
        read_tenant_file(path, registry)
    [problem] = refused.value.problems
    assert problem.key == "plugins"
    assert all(part in problem.reason for part in ("'museum'", "'visitor'", "visitors, fiscal"))


def test_sync_refuses_a_file_that_switches_off_a_categorys_only_rule(ctx, tenant_files, saas_cli, db_snapshot):
    zest = tenant_files.slug("zest")
    tenant_files.write("zest", tenant_files.read("zest") + REFEREES_OFF)
    before = db_snapshot()
    result = saas_cli("tenants", "sync", "--dir", str(tenant_files.directory))
    assert result.exit_code != 0
    problem = next(line for line in result.output.splitlines() if str(tenant_files.path("zest")) in line)
    assert f": plugins: tenant '{zest}': category 'referee' (from plugin consultancy) has no retention rule" in problem
    assert "in the plugins consultancy" in problem
    assert db_snapshot() == before and find_by_slug(zest) is None


@pytest.fixture()
def uncovered(make_tenant):
    """A consultancy whose referees have no rule that is switched on (a tenant stored before the check)."""
    return make_tenant(plugins=["consultancy"],
                       retention={"consultancy.referee_relationship_end": {"enabled": False}})


def test_the_api_cannot_create_a_person_in_an_uncovered_category(uncovered, api_user, client):
    _user, token = api_user(tenant=uncovered)
    url = f"/api/v1/{uncovered.slug}/subjects"
    refused = client.post(url, headers=bearer(token), json={"category": "referee", "family_name": "Smit"})
    assert refused.status_code == 422
    message = refused.json["errors"]["json"]["category"][0]
    assert message.startswith(("No retention rule", "Geen bewaarregel"))   # the request's language
    assert _count(uncovered, "referee") == 0
    assert client.post(url, headers=bearer(token), json={"category": "crm_contact", "family_name": "Smit"}
                       ).status_code == 201


def test_the_portal_cannot_create_a_person_in_an_uncovered_category(uncovered, make_user, browser_as):
    browser = browser_as(*make_user(role="supervisor", tenant=uncovered))
    path = f"/{uncovered.slug}/subjects/new"
    token = find_csrf_token(browser.get(path).get_data(as_text=True))
    response = browser.post(path, data={"csrf_token": token, "category": "referee", "family_name": "Smit"})
    assert response.status_code == 400
    assert 'id="category-errors"' in response.get_data(as_text=True)
    assert _count(uncovered, "referee") == 0


def test_no_write_path_can_create_or_move_a_person_into_an_uncovered_category(ctx, uncovered):
    """What an import calls: the operations refuse it, and the session is left as it was."""
    tenancy.set_tenant(uncovered.id)
    try:
        with pytest.raises(operations.SubjectRejected) as refused:
            operations.create_subject({"category": "referee", "family_name": "Smit"})
        assert list(refused.value.errors) == ["category"]
        contact = operations.create_subject({"category": "crm_contact", "family_name": "Smit"})
        with pytest.raises(operations.SubjectRejected):
            operations.update_subject(contact, {"category": "referee"})
        db.session.commit()
    finally:
        tenancy.set_tenant(None)
    assert (_count(uncovered, "referee"), _count(uncovered, "crm_contact")) == (0, 1)


def test_categories_come_only_from_the_tenants_plugins(ctx, make_tenant):
    registry = manager.load()
    assert registry.categories(["leadgen"]) == ["prospect"]
    assert registry.categories([]) == []
    tenancy.set_tenant(make_tenant().id)
    try:
        with pytest.raises(operations.SubjectRejected):
            operations.create_subject({"category": "candidate", "family_name": "Smit"})
    finally:
        db.session.rollback()
        tenancy.set_tenant(None)


def test_core_asks_for_a_behaviour_never_for_a_plugin():
    """How assignments decide that agents need a completed agreement per assignment (leadgen declares it;
    its setting of the same name switches it off)."""
    registry = manager.load()
    flag = "agreement_per_assignment"
    assert registry.plugins_with(flag, ["leadgen", "employment"], {"leadgen": {flag: True}}) == ["leadgen"]
    assert registry.plugins_with(flag, ["leadgen"], {"leadgen": {flag: False}}) == []
    assert registry.plugins_with(flag, ["recruitment", "fiscal"], {}) == []
