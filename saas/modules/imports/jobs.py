"""The import and its undo as RQ jobs: ids only. The import commits once, at the end (all-or-nothing)."""
from __future__ import annotations

import logging
import uuid

import sqlalchemy as sa

from saas.extensions import db
from saas.jobs import progress
from saas.modules.imports import operations
from saas.modules.imports.models import CANCELLED, DONE, FAILED, QUEUED, REFUSED, RUNNING, ImportRun

log = logging.getLogger(__name__)


def run_import(import_id: str) -> str:
    """Run a queued import. A worker killed half-way committed nothing but the RUNNING status, so a run found
    RUNNING (RQ hands an abandoned job out again) simply starts over."""
    run = db.session.get(ImportRun, uuid.UUID(import_id))
    if run is None or run.status not in (QUEUED, RUNNING):
        return "skipped"
    run.status = RUNNING
    db.session.commit()
    try:
        table = operations.table_of(run)
        plan = operations.execute(run, table, progress.report)
        if operations.cancel_asked(run.id) or _cancel_in_database(run.id):
            raise operations.Cancelled()
    except operations.Cancelled:
        return _end(run.id, CANCELLED, "cancelled")
    except operations.ImportRefused as refused:
        return _end(run.id, REFUSED, refused.reason, problems=getattr(refused, "problems", None),
                    counts=getattr(refused, "counts", None), **refused.detail)
    except Exception as exc:
        return _failed(run.id, import_id, exc)
    try:
        run.counts = plan.counts
        run.problems = plan.problems
        operations.finish(run, DONE)
        db.session.commit()   # the one commit of everything the import wrote
    except Exception as exc:
        return _failed(run.id, import_id, exc)
    progress.report(1, 1, "done")
    operations.erase_leavers(sorted(plan.leavers))
    return DONE


def _failed(run_id, import_id: str, exc: Exception) -> str:
    # The id and the kind of error only: a database error's text quotes the values of the row it refused.
    log.error("import %s failed: %s", import_id, type(exc).__name__)
    return _end(run_id, FAILED, "failed")


def _cancel_in_database(run_id) -> bool:
    """The cancel flag as committed by the portal (PostgreSQL reads committed rows inside this transaction)."""
    return bool(db.session.scalar(sa.select(ImportRun.cancel_requested).where(ImportRun.id == run_id)
                                  .execution_options(populate_existing=True)))


def _end(run_id, status: str, code: str, problems=None, counts=None, **detail) -> str:
    """Nothing of the import stays: roll back, then record the outcome and delete the upload."""
    db.session.rollback()
    run = db.session.get(ImportRun, run_id)
    operations.finish(run, status, code, **{k: v for k, v in detail.items() if isinstance(v, int)})
    if problems is not None:
        run.problems = problems
    if counts is not None:
        run.counts = counts
    db.session.commit()
    progress.report(1, 1, status)
    return status


def undo_import(import_id: str) -> dict:
    run = db.session.get(ImportRun, uuid.UUID(import_id))
    if run is None:
        return {}
    return operations.undo(run)
