"""The sector rules as definitions: complete, well-formed, tied to the plugin settings and to the seed
sentences they keep; and each rule's `applies` as a plain function of a record view and a context."""
from __future__ import annotations

import re
import uuid
from datetime import date
from pathlib import Path

import pytest

from plugins.association import rules as association
from plugins.employment import rules as employment
from plugins.fiscal import rules as fiscal
from plugins.leadgen import rules as leadgen
from plugins.recruitment import rules as recruitment
from saas.modules.retention.models import ACTIONS
from saas.modules.subjects.models import DataSubject
from saas.modules.tenants.schemas import PERIOD_UNITS, RECORD_DATES, setting_unit
from saas.plugins import manager
from saas.plugins.definitions import RecordView, RuleContext

REGISTRY = manager.load()
POLICIES = {p.name: p for p in REGISTRY.of("saas_retention_policies")}
EXCEPTIONS = {e.name: e for e in REGISTRY.of("saas_erasure_exceptions")}
SEEDS = Path(__file__).resolve().parents[1] / "tenants" / "seeds"
# The seed each plugin's rules come from (DESIGN.md section 2).
PLUGIN_SEEDS = {
    "consultancy": "000_", "fiscal": "001_", "recruitment": "002_", "hosting": "002_", "association": "003_",
    "leadgen": "004_", "employment": "004_",
}
TODAY = date(2026, 6, 15)


def view(category: str = "candidate", **dates) -> RecordView:
    return RecordView(id=uuid.uuid4(), kind="company" if category == "company" else "subject", category=category,
                      created_on=date(2020, 1, 1), **dates)


def context(**settings) -> RuleContext:
    return RuleContext(tenant_id=1, today=TODAY, settings=settings)


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


def test_leadgen_purges_suppress_and_nothing_else_does():
    assert {name for name, p in POLICIES.items() if p.suppress} == {
        "leadgen.prospect_unverified", "leadgen.prospect_left_company",
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


# --- applies: pure functions of the view and the context ---------------------------------------------------

@pytest.mark.parametrize("placed_from, placed_to, never", [
    (None, None, True),
    (date(2025, 1, 1), None, False),                 # working right now
    (date(2025, 1, 1), date(2026, 6, 14), False),    # worked through the tenant: not these rules
])
def test_recruitment_rules_are_for_candidates_never_placed(placed_from, placed_to, never):
    record = view("candidate", placed_from=placed_from, placed_to=placed_to)
    assert recruitment.never_placed(record, context()) is never
    assert {p.applies for p in POLICIES.values() if p.plugin == "recruitment"} == {recruitment.never_placed}


@pytest.mark.parametrize("outcome, consents, rejected_rule, pool_rule", [
    ("rejected", frozenset(), True, False),
    ("withdrawn", frozenset(), True, False),
    (None, frozenset(), True, False),
    ("rejected", frozenset({"applicant_pool"}), False, True),
    ("rejected", frozenset({"newsletter"}), True, False),
    ("hired", frozenset(), False, False),
    ("hired", frozenset({"applicant_pool"}), False, False),
])
def test_employment_applicants(outcome, consents, rejected_rule, pool_rule):
    record = view("applicant", procedure_outcome=outcome, procedure_closed_on=date(2026, 1, 1), consents=consents)
    assert employment.not_hired_without_pool_consent(record, context()) is rejected_rule
    assert employment.not_hired_with_pool_consent(record, context()) is pool_rule


@pytest.mark.parametrize("settings, purge, hold", [
    ({}, True, False),                              # the schema's default: liability_hold = false
    ({"liability_hold": False}, True, False),
    ({"liability_hold": True}, False, True),        # kantoor, KVGO
])
def test_fiscal_liability_hold_turns_the_purge_into_a_hold(settings, purge, hold):
    record = view("relation", relationship_ended_on=date(2019, 3, 1))
    assert fiscal.without_liability_hold(record, context(**settings)) is purge
    assert fiscal.with_liability_hold(record, context(**settings)) is hold
    assert REGISTRY.settings_schemas["fiscal"]().load({})["liability_hold"] is False


@pytest.mark.parametrize("settings, hold, purge", [
    ({}, True, False),
    ({"keep_until_erasure_request": True}, True, False),   # KVGO
    ({"keep_until_erasure_request": False}, False, True),
])
def test_association_keeps_members_until_they_ask(settings, hold, purge):
    record = view("member", relationship_ended_on=date(2019, 3, 1))
    assert association.keeps_until_erasure_request(record, context(**settings)) is hold
    assert association.purges_after_minimum(record, context(**settings)) is purge
    assert REGISTRY.settings_schemas["association"]().load({})["keep_until_erasure_request"] is True


def test_leadgen_leavers_are_purged_not_flagged():
    here, gone = view("prospect"), view("prospect", left_company_on=date(2026, 6, 1))
    assert leadgen.still_at_the_company(here, context()) and not leadgen.still_at_the_company(gone, context())
    assert leadgen.deletes_leavers(gone, context())
    assert leadgen.deletes_leavers(gone, context(delete_when_contact_left=True))
    assert not leadgen.deletes_leavers(gone, context(delete_when_contact_left=False))


def test_every_applies_is_a_module_level_function_of_its_plugin_rules():
    for policy in POLICIES.values():
        if policy.applies is not None:
            assert policy.applies.__module__ == f"plugins.{policy.plugin}.rules", policy.name
            assert policy.applies.__qualname__ == policy.applies.__name__, policy.name  # no lambda, no closure
