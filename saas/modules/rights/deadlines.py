"""The two deadlines of a rights request, kept apart.

- Legal (art. 12(3) GDPR): one month from receipt, counted by calendar month: the same day number in the
  next month, or that month's last day when it has no such day (received 31 January: due 28 or 29
  February). Extendable once by two further months (three from receipt), only with reasons sent within
  the first month.
- The tenant's own target: its `rights_request_days` (14 days at Leadhunter, 4 weeks at KVGO). A target
  that falls on a Saturday or Sunday moves to the Friday before, so the promise is kept on a working day;
  it is never later than the legal date. The legal date is not moved: the law's month is the outer limit.
"""
from __future__ import annotations

from datetime import date, timedelta

from dateutil.relativedelta import relativedelta

EXTENSION_MONTHS = 2
REMIND_TARGET_DAYS = 2     # admins are reminded this many days before the tenant's target
REMIND_LEGAL_DAYS = 5      # ... and this many before the legal date


def legal_due(received_on: date) -> date:
    return received_on + relativedelta(months=1)


def extended_due(received_on: date) -> date:
    return received_on + relativedelta(months=1 + EXTENSION_MONTHS)


def may_extend(received_on: date, today: date) -> bool:
    """The extension must be told within the first month: up to and including the legal date."""
    return today <= legal_due(received_on)


def previous_working_day(day: date) -> date:
    while day.weekday() >= 5:
        day -= timedelta(days=1)
    return day


def target_due(received_on: date, days: int) -> date:
    return previous_working_day(min(received_on + timedelta(days=days), legal_due(received_on)))


def remind_target_on(target: date) -> date:
    return target - timedelta(days=REMIND_TARGET_DAYS)


def remind_legal_on(legal: date) -> date:
    return legal - timedelta(days=REMIND_LEGAL_DAYS)
