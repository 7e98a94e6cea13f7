"""The association rules (seed 003): members kept until they ask, unless the tenant says otherwise."""
from __future__ import annotations

from datetime import date

import pytest

from plugins.association import rules as association
from saas.testing.rules import REGISTRY, context, view


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
