"""The recruitment rules (seed 002): re-consent and purge, for candidates never placed."""
from __future__ import annotations

from datetime import date, timedelta

import pytest

from plugins.recruitment import rules as recruitment
from saas.testing.rules import REGISTRY, Edge, acts, context, view

POLICIES = {p.name: p for p in REGISTRY.of("saas_retention_policies")}


@pytest.mark.parametrize("placed_from, placed_to, never", [
    (None, None, True),
    (date(2025, 1, 1), None, False),                 # working right now
    (date(2025, 1, 1), date(2026, 6, 14), False),    # worked through the tenant: not these rules
])
def test_recruitment_rules_are_for_candidates_never_placed(placed_from, placed_to, never):
    record = view("candidate", placed_from=placed_from, placed_to=placed_to)
    assert recruitment.never_placed(record, context()) is never
    assert {p.applies for p in POLICIES.values() if p.plugin == "recruitment"} == {recruitment.never_placed}


def test_a_yes_to_reconsent_resets_the_clock():
    """The consent page sets last_contact_on to the day of the yes: both recruitment rules count from it."""
    asked = Edge("recruitment.candidate_reconsent", "candidate", {"last_contact_on": date(2024, 3, 10)},
                 date(2025, 3, 10))
    assert acts(asked, date(2025, 3, 10))
    answered_yes = {"last_contact_on": date(2025, 3, 20), "consents": frozenset({"candidate_pool"})}
    for name, due in (("recruitment.candidate_reconsent", date(2026, 3, 20)),
                      ("recruitment.candidate_purge", date(2027, 3, 20))):
        edge = Edge(name, "candidate", answered_yes, due)
        assert [acts(edge, date(2026, 3, 10)), acts(edge, due - timedelta(days=1)), acts(edge, due)] == [
            False, False, True]
