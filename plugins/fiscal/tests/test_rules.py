"""The fiscal rules (seed 001): seven years from the end of the year, or a liability hold."""
from __future__ import annotations

from datetime import date, timedelta

import pytest

from plugins.fiscal import rules as fiscal
from saas.testing.rules import REGISTRY, Edge, acts, context, view


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


def test_fiscal_year_end_edges():
    """Every end date in 2019 is due on 1 January 2027; the first day of 2020 one year later."""
    for ended, due in ((date(2019, 1, 1), date(2027, 1, 1)), (date(2019, 12, 31), date(2027, 1, 1)),
                       (date(2020, 1, 1), date(2028, 1, 1))):
        moved = Edge("fiscal.client_contact_records", "client_contact", {"relationship_ended_on": ended}, due)
        assert [acts(moved, due - timedelta(days=1)), acts(moved, due)] == [False, True]
