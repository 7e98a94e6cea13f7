"""Every rule's due date at its edges, as pure functions: the engine's `resolve` and `due_on` on a record view.
The same edges run through real sweeps and a real worker in test_rules_sweeps.py."""
from __future__ import annotations

from datetime import date, timedelta

import pytest

from saas.modules.retention.policies import due_on, resolve
from saas.testing.rules import REGISTRY, Edge, acts, defaults, view


EDGES = [
    # Seed 002: one year, two years after the last contact; 29 February + 12 months = 28 February.
    Edge("recruitment.candidate_reconsent", "candidate", {"last_contact_on": date(2024, 2, 29)}, date(2025, 2, 28)),
    Edge("recruitment.candidate_purge", "candidate", {"last_contact_on": date(2024, 2, 29)}, date(2026, 2, 28)),
    # AP guidance: 4 weeks after the procedure; seed 004: one year with consent, 5 years after leaving.
    Edge("employment.applicant_rejected", "applicant",
         {"procedure_closed_on": date(2026, 1, 5), "procedure_outcome": "rejected"}, date(2026, 2, 2)),
    Edge("employment.applicant_pool", "applicant",
         {"procedure_closed_on": date(2026, 1, 5), "procedure_outcome": "rejected",
          "consents": frozenset({"applicant_pool"})}, date(2027, 1, 5)),
    Edge("employment.employee_records", "employee", {"employed_to": date(2020, 6, 30)}, date(2025, 6, 30)),
    # AWR art. 52(4): ended 1 March 2019 -> fiscal year 2019 -> 7 years through 2026 -> due 1 January 2027.
    Edge("fiscal.client_contact_records", "client_contact", {"relationship_ended_on": date(2019, 3, 1)},
         date(2027, 1, 1)),
    Edge("fiscal.relation_records", "relation", {"relationship_ended_on": date(2019, 3, 1)}, date(2027, 1, 1)),
    Edge("fiscal.client_contact_liability", "client_contact", {"relationship_ended_on": date(2019, 3, 1)},
         date(2027, 1, 1), {"liability_hold": True}),
    Edge("fiscal.relation_liability", "relation", {"relationship_ended_on": date(2019, 3, 1)},
         date(2027, 1, 1), {"liability_hold": True}),
    # Seed 004: verify at 6 months, purge unverified at 12 (31 August + 6 months = 28 February), leavers at once.
    Edge("leadgen.company_verification", "company", {"last_verified_on": date(2025, 8, 31)}, date(2026, 2, 28)),
    Edge("leadgen.prospect_verification", "prospect", {"last_verified_on": date(2025, 8, 31)}, date(2026, 2, 28)),
    Edge("leadgen.prospect_unverified", "prospect", {"last_verified_on": date(2025, 8, 31)}, date(2026, 8, 31)),
    Edge("leadgen.prospect_left_company", "prospect",
         {"left_company_on": date(2026, 3, 10), "last_verified_on": date(2026, 3, 1)}, date(2026, 3, 10)),
    # Seed 003: at least 7 years (tax), counted like the fiscal duty; then kept (hold) or, if so set, purged.
    Edge("association.member_kept", "member", {"relationship_ended_on": date(2019, 12, 31)}, date(2027, 1, 1)),
    Edge("association.member_purge", "member", {"relationship_ended_on": date(2020, 1, 1)}, date(2028, 1, 1),
         {"keep_until_erasure_request": False}),
    # Seed 002: while the contract runs; a tenant's grace days move it.
    Edge("hosting.hosting_contact_contract_end", "hosting_contact", {"relationship_ended_on": date(2026, 4, 1)},
         date(2026, 4, 1)),
    Edge("hosting.system_user_contract_end", "system_user", {"relationship_ended_on": date(2026, 4, 1)},
         date(2026, 5, 1), {"delete_after_contract_days": 30}),
    # Seed 000: while the relationship (the training) lasts.
    Edge("consultancy.crm_contact_relationship_end", "crm_contact", {"relationship_ended_on": date(2026, 4, 1)},
         date(2026, 4, 1)),
    Edge("consultancy.training_participant_end", "training_participant",
         {"relationship_ended_on": date(2026, 4, 1)}, date(2026, 4, 1)),
    Edge("consultancy.referee_relationship_end", "referee", {"relationship_ended_on": date(2026, 4, 1)},
         date(2026, 4, 1)),
]


def test_every_rule_has_an_edge():
    assert {edge.policy for edge in EDGES} == set(REGISTRY.definitions["saas_retention_policies"])


@pytest.mark.parametrize("edge", EDGES, ids=lambda e: e.policy)
def test_the_day_before_the_day_of_and_the_day_after(edge):
    definition = REGISTRY.get("saas_retention_policies", edge.policy)
    settings = {**defaults(definition.plugin), **edge.settings}
    assert due_on(resolve(definition, settings, None), view(edge.category, **edge.dates)) == edge.due
    one = timedelta(days=1)
    assert [acts(edge, edge.due - one), acts(edge, edge.due), acts(edge, edge.due + one)] == [False, True, True]


LONG_AGO = date(2010, 1, 1)
PLACED = {"last_contact_on": LONG_AGO, "placed_from": LONG_AGO}
CLOSED = {"procedure_closed_on": LONG_AGO}


@pytest.mark.parametrize("policy, category, dates", [
    ("recruitment.candidate_purge", "candidate", PLACED),
    ("recruitment.candidate_reconsent", "candidate", PLACED),
    ("employment.applicant_rejected", "applicant", {**CLOSED, "procedure_outcome": "hired"}),
    ("employment.applicant_rejected", "applicant",
     {**CLOSED, "procedure_outcome": "rejected", "consents": frozenset({"applicant_pool"})}),
    ("employment.applicant_pool", "applicant", {**CLOSED, "procedure_outcome": "rejected"}),
    ("fiscal.relation_records", "relation", {"relationship_ended_on": LONG_AGO}),   # liability_hold set below
    ("leadgen.prospect_verification", "prospect", {"last_verified_on": LONG_AGO, "left_company_on": LONG_AGO}),
    ("association.member_purge", "member", {"relationship_ended_on": LONG_AGO}),    # keeps until asked
    ("hosting.hosting_contact_contract_end", "hosting_contact", {}),                 # contract still runs
    ("consultancy.crm_contact_relationship_end", "crm_contact", {"last_contact_on": LONG_AGO}),
])
def test_records_a_rule_must_leave_alone_long_after_the_date(policy, category, dates):
    settings = {"liability_hold": True} if policy.startswith("fiscal.") else {}
    assert not acts(Edge(policy, category, dates, date.max, settings), date(2040, 1, 1))
