"""The employment rules (seed 004): rejected applicants, and the applicant pool with consent."""
from __future__ import annotations

from datetime import date

import pytest

from plugins.employment import rules as employment
from saas.testing.rules import context, view


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
