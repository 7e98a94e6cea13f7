"""The one clock every rule reads. Tests and commands can set it (`--now`)."""
from __future__ import annotations

import contextlib
import contextvars
from datetime import date, datetime, timezone
from zoneinfo import ZoneInfo

AMSTERDAM = ZoneInfo("Europe/Amsterdam")
_frozen: contextvars.ContextVar[datetime | None] = contextvars.ContextVar("frozen_now", default=None)
_global_frozen: datetime | None = None


def now() -> datetime:
    """Current time in UTC (aware)."""
    frozen = _frozen.get() or _global_frozen
    return frozen if frozen is not None else datetime.now(timezone.utc)


def today() -> date:
    """Today's date in Amsterdam, the calendar the tenants live by."""
    return now().astimezone(AMSTERDAM).date()


def _as_utc(moment: datetime | date) -> datetime:
    if isinstance(moment, datetime):
        return moment if moment.tzinfo else moment.replace(tzinfo=timezone.utc)
    return datetime(moment.year, moment.month, moment.day, 12, tzinfo=AMSTERDAM).astimezone(timezone.utc)


@contextlib.contextmanager
def frozen_at(moment: datetime | date):
    """Freeze time within a block (a date means noon in Amsterdam that day)."""
    token = _frozen.set(_as_utc(moment))
    try:
        yield now()
    finally:
        _frozen.reset(token)


def set_now(moment: datetime | date | None) -> None:
    """Set the clock process-wide (for `--now` on commands); None restores the real clock."""
    global _global_frozen
    _global_frozen = None if moment is None else _as_utc(moment)


def local(moment: datetime) -> datetime:
    """A stored UTC time as shown to people: Europe/Amsterdam, with its zone."""
    return _as_utc(moment).astimezone(AMSTERDAM)
