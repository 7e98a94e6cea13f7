"""The documents sweep, run daily per tenant from the schedule (`saas.jobs.schedule.SCHEDULE`): documents
whose own period ended (an NDA after its confidentiality) are deleted; the worker commits."""
from __future__ import annotations

from saas.modules.documents import operations


def sweep() -> dict:
    """Counts only (ids and counts in job results, never personal data)."""
    return {"removed": operations.remove_due()}
