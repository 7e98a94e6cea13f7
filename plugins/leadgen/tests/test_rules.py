"""The lead-generation rules (seed 004): leavers purged, and only its purges suppress."""
from __future__ import annotations

from datetime import date

from plugins.leadgen import rules as leadgen
from saas.testing.rules import REGISTRY, context, view

POLICIES = {p.name: p for p in REGISTRY.of("saas_retention_policies")}


def test_leadgen_leavers_are_purged_not_flagged():
    here, gone = view("prospect"), view("prospect", left_company_on=date(2026, 6, 1))
    assert leadgen.still_at_the_company(here, context()) and not leadgen.still_at_the_company(gone, context())
    assert leadgen.deletes_leavers(gone, context())
    assert leadgen.deletes_leavers(gone, context(delete_when_contact_left=True))
    assert not leadgen.deletes_leavers(gone, context(delete_when_contact_left=False))


def test_leadgen_purges_suppress_and_nothing_else_does():
    assert {name for name, p in POLICIES.items() if p.suppress} == {
        "leadgen.prospect_unverified", "leadgen.prospect_left_company",
    }
