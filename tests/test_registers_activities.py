"""Processing activities declared by sector plugins: frozen, versioned, checked at start-up, and every one
names the subject categories and retention policies of its own plugin."""
from __future__ import annotations

import dataclasses

import pytest

from saas.plugins import manager
from saas.plugins.definitions import LEGAL_BASES, PluginInfo, ProcessingActivity
from saas.plugins.hookspecs import hookimpl

SHIPPED = {"association", "consultancy", "employment", "fiscal", "hosting", "leadgen", "recruitment"}
HOOK = "saas_processing_activities"


def activity(**changes) -> ProcessingActivity:
    fields = dict(name="test.visits", version=1, purpose="Registering visitors", subject_categories=("visitor",),
                  data_categories=("name",), legal_basis="consent", recipients=("nobody",), transfers=(),
                  source="Wij registreren bezoekers.", seed="test")
    return ProcessingActivity(**{**fields, **changes})


def plugin_with(*activities: ProcessingActivity):
    class ActivityPlugin:
        @hookimpl
        def saas_plugin_info(self) -> PluginInfo:
            return PluginInfo(name="visits", version="0.1", title="visits", description="test plugin")

        @hookimpl
        def saas_processing_activities(self) -> list[ProcessingActivity]:
            return list(activities)

    return ActivityPlugin()


def test_every_shipped_plugin_declares_activities_of_its_own_categories_and_policies():
    registry = manager.load()
    found = registry.of(HOOK)
    assert {a.plugin for a in found} == SHIPPED
    for a in found:
        categories = {c.name for c in registry.of("saas_subject_categories", [a.plugin])}
        policies = {p.name for p in registry.of("saas_retention_policies", [a.plugin])}
        assert set(a.subject_categories) <= categories, a.name
        assert set(a.retention_policies) <= policies, a.name
        assert a.name.startswith(f"{a.plugin}.") and a.key == f"{a.name}@v{a.version}"
        assert a.source and a.seed and a.legal_basis in LEGAL_BASES


def test_the_earlier_bases_are_weighed_in_order_with_a_reason_each():
    for a in manager.load().of(HOOK):
        earlier = LEGAL_BASES[:LEGAL_BASES.index(a.legal_basis)]
        assert tuple(basis for basis, _ in a.not_applicable) == earlier, a.name
        assert all(reason.strip() for _, reason in a.not_applicable), a.name


def test_the_seed_activities_are_there():
    names = {a.name: a for a in manager.load().of(HOOK)}
    leadgen = names["leadgen.prospect_calling"]
    assert leadgen.legal_basis == "legitimate_interests" and "overweging 47" in leadgen.source
    assert set(leadgen.retention_policies) == {"leadgen.prospect_verification", "leadgen.prospect_unverified",
                                               "leadgen.prospect_left_company"}
    assert names["hosting.system_accounts"].legal_basis == "legitimate_interests"
    assert names["recruitment.candidate_mediation"].legal_basis == "consent"
    assert names["recruitment.candidate_mediation"].not_applicable == ()
    assert names["employment.personnel_files"].recipients == ("the board of the cooperative only",)


def test_an_activity_is_frozen():
    a = manager.load().of(HOOK)[0]
    with pytest.raises(dataclasses.FrozenInstanceError):
        a.purpose = "something else"


def test_a_valid_activity_of_a_test_plugin_loads_with_its_plugin_name():
    registry = manager.load([plugin_with(activity())], installed=False)
    assert registry.get(HOOK, "test.visits").plugin == "visits"


@pytest.mark.parametrize("changes, message", [
    ({"legal_basis": "because"}, "legal_basis 'because' is not one of consent, contract"),
    ({"legal_basis": "contract"}, r"why each earlier basis does not apply: \('consent',\), not \(\)"),
    ({"legal_basis": "legal_obligation", "not_applicable": (("contract", "x"), ("consent", "y"))},
     r"\('consent', 'contract'\), not \('contract', 'consent'\)"),
    ({"legal_basis": "contract", "not_applicable": (("consent", " "),)}, "needs a reason"),
    ({"purpose": ""}, "needs a purpose, subject categories and data categories"),
    ({"data_categories": ()}, "needs a purpose, subject categories and data categories"),
    ({"source": ""}, "cites the seed sentence"),
    ({"version": 0}, "version must be a whole number from 1"),
])
def test_a_bad_activity_stops_the_start(changes, message):
    with pytest.raises(manager.PluginError, match=message):
        manager.load([plugin_with(activity(**changes))], installed=False)


def test_two_activities_with_one_name_stop_the_start():
    with pytest.raises(manager.PluginError, match="duplicate ProcessingActivity name 'test.visits'"):
        manager.load([plugin_with(activity(), activity(purpose="again"))], installed=False)
