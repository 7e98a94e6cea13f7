"""Job functions the tests enqueue; a worker subprocess imports them by name (saas.testing.jobs_for_tests.X).

They use an existing tenant table (client_organisation) so row-level security applies to them, and
client names that are markers, not personal data."""
from __future__ import annotations

import os
import time

import sqlalchemy as sa
from rq import get_current_job

from saas.core.tenancy import current_tenant_id
from saas.extensions import db
from saas.jobs import progress
from saas.modules.clients.models import ClientOrganisation

HOLD_SECONDS = 30


def hold_key(marker: str) -> str:
    return f"saas-test:hold:{marker}"


def visible_client_tenants(tenant_id: int) -> dict:
    """Which tenants' rows the job can see, through the ORM and through raw SQL (RLS only)."""
    orm = db.session.scalars(sa.select(ClientOrganisation.tenant_id)).all()
    raw = db.session.execute(sa.text("SELECT tenant_id FROM client_organisation")).scalars().all()
    return {"current": current_tenant_id(), "orm": sorted(set(orm)), "sql": sorted(set(raw))}


def ensure_marker_client(tenant_id: int, marker: str) -> str:
    """Idempotent: creates the marker client once, however often it runs."""
    if _marker_client(marker) is None:
        db.session.add(ClientOrganisation(name=marker))
        db.session.flush()
    return marker


def write_then_fail(tenant_id: int, marker: str) -> None:
    ensure_marker_client(tenant_id, marker)
    raise RuntimeError("deliberate failure after a write")


def always_fails(tenant_id: int) -> None:
    raise ValueError("deliberate failure")


def report_steps(tenant_id: int, steps: int) -> int:
    for done in range(1, steps + 1):
        progress.report(done, steps, "counting")
    return steps


def held_marker_client(tenant_id: int, marker: str) -> str:
    """Writes the marker client, then waits (uncommitted) while the test holds it, so the test can kill
    the worker mid-job."""
    ensure_marker_client(tenant_id, marker)
    _hold(marker)
    return marker


def held_without_writing(tenant_id: int, marker: str) -> str:
    """Waits while the test holds it, with no open write (SQLite would lock the test out)."""
    _hold(marker)
    return marker


def _hold(marker: str) -> None:
    """Report halfway, put the work horse's pid in job.meta, wait for the test to release the marker."""
    progress.report(1, 2, "holding")
    job = get_current_job()
    job.meta["pid"] = os.getpid()
    job.save_meta()
    deadline = time.monotonic() + HOLD_SECONDS
    while job.connection.exists(hold_key(marker)):
        if time.monotonic() > deadline:
            raise TimeoutError("the test never released the job")
        time.sleep(0.05)
    progress.report(2, 2, "done")


def _marker_client(marker: str):
    return db.session.scalar(sa.select(ClientOrganisation).where(ClientOrganisation.name == marker))
