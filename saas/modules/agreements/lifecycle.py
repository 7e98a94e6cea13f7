"""The agreement's states and the only moves between them. Every status change goes through `move`, which
refuses anything else with a clear message, and writes an event to the agreement's own trail."""
from __future__ import annotations

from saas.modules.agreements.events import record_event
from saas.modules.agreements.models import Agreement

# status -> statuses it may move to
TRANSITIONS: dict[str, frozenset[str]] = {
    "draft": frozenset({"sent", "revoked"}),
    "sent": frozenset({"viewed", "signed", "declined", "expired", "revoked", "superseded"}),
    "viewed": frozenset({"signed", "declined", "expired", "revoked", "superseded"}),
    "signed": frozenset({"countersigned", "revoked", "superseded"}),
    "countersigned": frozenset({"completed"}),
    "completed": frozenset({"superseded"}),
    "declined": frozenset({"superseded"}),
    "expired": frozenset({"superseded"}),
    "revoked": frozenset(),
    "superseded": frozenset(),
}
OPEN_FOR_SIGNING = frozenset({"sent", "viewed"})


class TransitionRefused(ValueError):
    """A status change the lifecycle does not allow (e.g. signing a revoked agreement)."""


def can_move(agreement: Agreement, new_status: str) -> bool:
    return new_status in TRANSITIONS.get(agreement.status, frozenset())


def move(agreement: Agreement, new_status: str, *, event: str | None = None, signer=None,
         detail: dict | None = None) -> None:
    """Change the status or raise TransitionRefused; records the event (default: the new status)."""
    if not can_move(agreement, new_status):
        raise TransitionRefused(f"agreement {agreement.number} is {agreement.status}; it cannot become {new_status}")
    agreement.status = new_status
    record_event(agreement, event or new_status, signer=signer, detail=detail)
