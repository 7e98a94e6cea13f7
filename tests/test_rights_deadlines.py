"""The two deadlines of a rights request (art. 12(3) GDPR and the tenant's own target), at their edges."""
from __future__ import annotations

from datetime import date

import pytest

from saas.modules.rights import deadlines


@pytest.mark.parametrize("received, due", [
    (date(2026, 1, 28), date(2026, 2, 28)),
    (date(2026, 1, 29), date(2026, 2, 28)),   # no 29 February in 2026: the month's last day
    (date(2026, 1, 30), date(2026, 2, 28)),
    (date(2026, 1, 31), date(2026, 2, 28)),
    (date(2028, 1, 29), date(2028, 2, 29)),   # a leap year
    (date(2028, 1, 31), date(2028, 2, 29)),
    (date(2026, 3, 31), date(2026, 4, 30)),
    (date(2026, 4, 30), date(2026, 5, 30)),
    (date(2026, 5, 31), date(2026, 6, 30)),
    (date(2026, 12, 31), date(2027, 1, 31)),
    (date(2026, 2, 28), date(2026, 3, 28)),
])
def test_the_legal_month_counts_by_calendar_month(received, due):
    assert deadlines.legal_due(received) == due


@pytest.mark.parametrize("received, due", [
    (date(2026, 1, 31), date(2026, 4, 30)),
    (date(2027, 11, 30), date(2028, 2, 29)),  # into a leap February
    (date(2026, 11, 29), date(2027, 2, 28)),
])
def test_an_extension_gives_two_more_months(received, due):
    assert deadlines.extended_due(received) == due


def test_an_extension_is_possible_only_within_the_first_month():
    received = date(2026, 1, 31)
    assert deadlines.may_extend(received, date(2026, 2, 27))      # the day before
    assert deadlines.may_extend(received, date(2026, 2, 28))      # the day of
    assert not deadlines.may_extend(received, date(2026, 3, 1))   # the day after


def test_the_tenants_target_moves_to_the_friday_before_a_weekend():
    # Received Friday 6 March 2026 + 14 days = Friday 20 March: kept.
    assert deadlines.target_due(date(2026, 3, 6), 14) == date(2026, 3, 20)
    # Received Saturday 7 March + 14 = Saturday 21 March -> Friday 20 March.
    assert deadlines.target_due(date(2026, 3, 7), 14) == date(2026, 3, 20)
    # Received Sunday 8 March + 14 = Sunday 22 March -> Friday 20 March.
    assert deadlines.target_due(date(2026, 3, 8), 14) == date(2026, 3, 20)
    # Monday 23 March stays.
    assert deadlines.target_due(date(2026, 3, 9), 14) == date(2026, 3, 23)
    # KVGO's 4 weeks from a Saturday end on a Saturday: the Friday before.
    assert deadlines.target_due(date(2026, 3, 7), 28) == date(2026, 4, 3)


def test_the_target_is_never_later_than_the_law():
    # 30 days from 31 January 2026 is 2 March; the law ends on 28 February (a Saturday: the law is not moved).
    assert deadlines.target_due(date(2026, 1, 31), 30) == date(2026, 2, 27)
    assert deadlines.legal_due(date(2026, 1, 31)) == date(2026, 2, 28)
