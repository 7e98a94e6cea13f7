"""A tenant's effective policies: definition < plugin setting < the tenant's override, with where each value
came from; legal holds of the tenant's plugins; and the shipped plugins' policies all resolve."""
import pytest

from saas.modules.retention.policies import (
    DEFINITION, OVERRIDE, SETTING, Period, PolicyError, active_holds, effective_policies, resolve,
)
from saas.plugins.definitions import RetentionPolicy
from saas.plugins.manager import current_registry
from saas.testing.retention_for_tests import using_test_rules


@pytest.fixture()
def rules(app, ctx):
    with using_test_rules(app):
        yield


def test_period_anchor_and_switch_come_from_definition_setting_or_override(rules, make_tenant):
    tenant = make_tenant(plugins=["rtest"], settings={"rtest": {"purge_after_months": 36}}, retention={
        "rtest.candidate_reconsent": {"months": 6, "weeks": 1},
        "rtest.prospect_flag": {"anchor": "last_contact_on"},
        "rtest.off": {"enabled": True},
    })
    found = {p.name: p for p in effective_policies(tenant)}

    purge = found["rtest.candidate_purge"]
    assert (purge.period, purge.origins["period"]) == (Period(months=36), SETTING)
    assert purge.key == "rtest.candidate_purge@v1" and purge.plugin == "rtest"
    reconsent = found["rtest.candidate_reconsent"]
    assert (reconsent.period, reconsent.origins["period"]) == (Period(months=6, weeks=1), OVERRIDE)
    flag = found["rtest.prospect_flag"]
    assert (flag.anchor, flag.origins["anchor"], flag.period, flag.origins["period"]) == \
        ("last_contact_on", OVERRIDE, Period(months=6), DEFINITION)
    assert (found["rtest.off"].enabled, found["rtest.off"].origins["enabled"]) == (True, OVERRIDE)
    assert found["rtest.prospect_purge"].key == "rtest.prospect_purge@v2"
    assert found["rtest.candidate_purge"].settings == {"purge_after_months": 36}
    assert [p.name for p in effective_policies(tenant)] == sorted(found)  # also the disabled ones, by name


def test_an_override_period_replaces_the_whole_period_also_a_settings_one(rules, make_tenant):
    tenant = make_tenant(plugins=["rtest"], settings={"rtest": {"purge_after_months": 36}},
                         retention={"rtest.candidate_purge": {"years": 3}})
    purge = {p.name: p for p in effective_policies(tenant)}["rtest.candidate_purge"]
    assert (purge.period, purge.origins["period"]) == (Period(years=3), OVERRIDE)


def test_a_tenant_gets_only_its_own_plugins_policies_and_holds(rules, make_tenant):
    without = make_tenant(plugins=[])
    assert effective_policies(without) == [] and active_holds(without) == []
    tenant = make_tenant(plugins=["rtest"])
    assert {p.plugin for p in effective_policies(tenant)} == {"rtest"}
    assert [h.name for h in active_holds(tenant)] == ["rtest.contact_fiscal"]


def test_policies_that_cannot_be_applied_are_refused_by_name():
    def policy(**fields):
        return RetentionPolicy(**{"name": "x.p", "version": 1, "category": "candidate",
                                  "anchor": "last_contact_on", "action": "purge", **fields})

    with pytest.raises(PolicyError, match="_years, _months"):
        resolve(policy(setting="purge_after"), {"purge_after": 3}, None)
    with pytest.raises(PolicyError, match="company records can only be flagged"):
        resolve(policy(category="company"), {}, None)
    with pytest.raises(PolicyError, match="not a date"):
        resolve(policy(anchor="birthday"), {}, None)
    with pytest.raises(PolicyError, match="needs a purpose"):
        resolve(policy(action="reconsent"), {}, None)
    with pytest.raises(PolicyError, match="unknown action"):
        resolve(policy(action="archive"), {}, None)
    assert resolve(policy(setting="purge_after_days"), {"purge_after_days": 0}, None).period.is_zero


def test_every_shipped_plugin_policy_resolves_with_its_plugins_default_settings(ctx):
    """What `saas tenants sync` stores for a tenant that leaves `[settings.<plugin>]` out: each policy's
    setting must be a field of its plugin's schema, in a unit the engine knows."""
    registry = current_registry()
    checked = 0
    for policy in registry.of("saas_retention_policies"):
        schema = registry.settings_schemas.get(policy.plugin)
        defaults = schema().load({}) if schema else {}
        if policy.setting:
            assert policy.setting in defaults, f"{policy.name}: {policy.setting} is not a setting of {policy.plugin}"
        resolve(policy, defaults, None)
        checked += 1
    assert checked > 0
