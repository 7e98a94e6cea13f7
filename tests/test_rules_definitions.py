"""The sector rules as definitions: complete, well-formed, tied to the plugin settings and to the seed
sentences they keep; and each rule's `applies` as a plain function of a record view and a context."""
from __future__ import annotations

import re
from pathlib import Path

import pytest

from plugins.fiscal import rules as fiscal
from saas.modules.retention.models import ACTIONS
from saas.modules.subjects.models import DataSubject
from saas.modules.tenants.schemas import PERIOD_UNITS, RECORD_DATES, setting_unit
from saas.plugins import manager

REGISTRY = manager.load()
POLICIES = {p.name: p for p in REGISTRY.of("saas_retention_policies")}
EXCEPTIONS = {e.name: e for e in REGISTRY.of("saas_erasure_exceptions")}
SEEDS = Path(__file__).resolve().parents[1] / "tenants" / "seeds"
# The seed each plugin's rules come from (DESIGN.md section 2).
PLUGIN_SEEDS = {
    "consultancy": "000_", "fiscal": "001_", "recruitment": "002_", "hosting": "002_", "association": "003_",
    "leadgen": "004_", "employment": "004_",
}


def test_every_rule_the_issue_names_is_a_policy():
    assert {name: (p.category, p.anchor, p.action) for name, p in POLICIES.items()} == {
        "recruitment.candidate_reconsent": ("candidate", "last_contact_on", "reconsent"),
        "recruitment.candidate_purge": ("candidate", "last_contact_on", "purge"),
        "employment.applicant_rejected": ("applicant", "procedure_closed_on", "purge"),
        "employment.applicant_pool": ("applicant", "procedure_closed_on", "purge"),
        "employment.employee_records": ("employee", "employed_to", "purge"),
        "fiscal.client_contact_records": ("client_contact", "relationship_ended_on", "purge"),
        "fiscal.client_contact_liability": ("client_contact", "relationship_ended_on", "hold"),
        "fiscal.relation_records": ("relation", "relationship_ended_on", "purge"),
        "fiscal.relation_liability": ("relation", "relationship_ended_on", "hold"),
        "leadgen.company_verification": ("company", "last_verified_on", "flag"),
        "leadgen.prospect_verification": ("prospect", "last_verified_on", "flag"),
        "leadgen.prospect_unverified": ("prospect", "last_verified_on", "purge"),
        "leadgen.prospect_left_company": ("prospect", "left_company_on", "purge"),
        "association.member_kept": ("member", "relationship_ended_on", "hold"),
        "association.member_purge": ("member", "relationship_ended_on", "purge"),
        "hosting.hosting_contact_contract_end": ("hosting_contact", "relationship_ended_on", "purge"),
        "hosting.system_user_contract_end": ("system_user", "relationship_ended_on", "purge"),
        "consultancy.crm_contact_relationship_end": ("crm_contact", "relationship_ended_on", "purge"),
        "consultancy.training_participant_end": ("training_participant", "relationship_ended_on", "purge"),
        "consultancy.referee_relationship_end": ("referee", "relationship_ended_on", "purge"),
    }


def _period(policy) -> dict[str, int]:
    return {unit: getattr(policy, unit) for unit in PERIOD_UNITS if getattr(policy, unit)}


def test_periods_are_the_seeds_and_the_law():
    periods = {name: (_period(p), p.from_year_end) for name, p in POLICIES.items()}
    assert periods == {
        "recruitment.candidate_reconsent": ({"months": 12}, False),   # "Na één jaar"
        "recruitment.candidate_purge": ({"months": 24}, False),       # "maximaal twee jaar"
        "employment.applicant_rejected": ({"weeks": 4}, False),       # AP: "uiterlijk vier weken"
        "employment.applicant_pool": ({"months": 12}, False),         # "één jaar na afwijzing"
        "employment.employee_records": ({"years": 5}, False),         # "tot 5 jaar na uitdiensttreding"
        "fiscal.client_contact_records": ({"years": 7}, True),        # AWR art. 52(4)
        "fiscal.client_contact_liability": ({"years": 7}, True),
        "fiscal.relation_records": ({"years": 7}, True),
        "fiscal.relation_liability": ({"years": 7}, True),
        "leadgen.company_verification": ({"months": 6}, False),       # "na 6 maanden een melding"
        "leadgen.prospect_verification": ({"months": 6}, False),      # "na 6 maanden aangemerkt"
        "leadgen.prospect_unverified": ({"months": 12}, False),       # "12 maanden"
        "leadgen.prospect_left_company": ({}, False),                 # "direct verwijderd"
        "association.member_kept": ({"years": 7}, True),              # "belastingdienst 7 jaar"
        "association.member_purge": ({"years": 7}, True),
        "hosting.hosting_contact_contract_end": ({}, False),          # "zolang de overeenkomst"
        "hosting.system_user_contract_end": ({}, False),
        "consultancy.crm_contact_relationship_end": ({}, False),      # seed silent: the purpose
        "consultancy.training_participant_end": ({}, False),
        "consultancy.referee_relationship_end": ({}, False),
    }


def test_a_company_is_never_purged():
    assert [p.action for p in POLICIES.values() if p.category == "company"] == ["flag"]


@pytest.mark.parametrize("name", sorted(POLICIES))
def test_a_policy_is_well_formed(name):
    policy = POLICIES[name]
    categories = {c.name for c in REGISTRY.of("saas_subject_categories")} | {"company"}
    assert name.startswith(f"{policy.plugin}.") and policy.version == 1
    assert policy.category in categories
    assert policy.anchor in RECORD_DATES
    assert policy.action in ACTIONS
    assert all(getattr(policy, unit) >= 0 for unit in PERIOD_UNITS)
    assert policy.source.strip() and policy.description.strip()
    assert bool(policy.purpose) == (policy.action == "reconsent")
    assert policy.applies is None or callable(policy.applies)


@pytest.mark.parametrize("name", sorted(n for n, p in POLICIES.items() if p.setting))
def test_a_setting_holds_the_period_with_the_same_default(name):
    """The plugin setting named by a policy exists, names its unit, and defaults to the policy's own period,
    so a tenant without the setting gets the period the definition shows."""
    policy = POLICIES[name]
    defaults = REGISTRY.settings_schemas[policy.plugin]().load({})
    assert policy.setting in defaults
    unit = setting_unit(policy.setting)
    assert getattr(policy, unit) == defaults[policy.setting]
    assert set(_period(policy)) <= {unit}


def test_the_tied_settings():
    assert {name: p.setting for name, p in POLICIES.items() if p.setting} == {
        "recruitment.candidate_reconsent": "reconsent_after_months",
        "recruitment.candidate_purge": "purge_after_months",
        "employment.applicant_rejected": "applicant_weeks",
        "employment.applicant_pool": "applicant_with_consent_months",
        "employment.employee_records": "employee_years",
        "fiscal.client_contact_records": "retention_years",
        "fiscal.client_contact_liability": "retention_years",
        "fiscal.relation_records": "retention_years",
        "fiscal.relation_liability": "retention_years",
        "leadgen.company_verification": "verify_after_months",
        "leadgen.prospect_verification": "verify_after_months",
        "leadgen.prospect_unverified": "purge_unverified_after_months",
        "association.member_kept": "minimum_years",
        "association.member_purge": "minimum_years",
        "hosting.hosting_contact_contract_end": "delete_after_contract_days",
        "hosting.system_user_contract_end": "delete_after_contract_days",
    }


def _normalised(text: str) -> str:
    return re.sub(r"\s+", " ", text.replace("\u2019", "'")).strip()


@pytest.mark.parametrize("name", sorted(POLICIES))
def test_the_source_is_quoted_word_for_word_from_the_seed(name):
    policy = POLICIES[name]
    seed = next(SEEDS.glob(f"{PLUGIN_SEEDS[policy.plugin]}*.txt")).read_text(encoding="utf-8")
    # A source may join two sentences of the seed; each must be there as written.
    for sentence in re.split(r"(?<=\.) (?=[A-Z])", policy.source):
        assert _normalised(sentence) in _normalised(seed), sentence


def test_erasure_exceptions_keep_the_fiscal_fields_for_seven_years():
    fields = set(fiscal.FISCAL_FIELDS)
    encrypted = {name for name, value in vars(DataSubject).items() if type(value).__name__ == "EncryptedField"}
    assert fields <= encrypted and fields == {"given_name", "family_name", "address", "city", "iban"}
    assert {name: (e.category, e.anchor, e.years, e.from_year_end, e.reason, set(e.fields))
            for name, e in EXCEPTIONS.items()} == {
        f"{plugin}.{category}_fiscal_fields": (category, "relationship_ended_on", 7, True,
                                               "Fiscale bewaarplicht (art. 52 lid 4 AWR)", fields)
        for plugin, category in (("fiscal", "client_contact"), ("fiscal", "relation"), ("association", "member"))
    }
    assert "email" not in fields and "notes" not in fields  # the rest goes on erasure


# --- applies: pure functions of the view and the context; each plugin's own in plugins/<sector>/tests/ ------


def test_every_applies_is_a_module_level_function_of_its_plugin_rules():
    for policy in POLICIES.values():
        if policy.applies is not None:
            assert policy.applies.__module__ == f"plugins.{policy.plugin}.rules", policy.name
            assert policy.applies.__qualname__ == policy.applies.__name__, policy.name  # no lambda, no closure
