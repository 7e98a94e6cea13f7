"""One unit of work per entry point, and work that waits for its outcome.

A portal request, an API request and a job each end in one place: a request commits when its answer is
below 400 and rolls back otherwise (`finish_request`, installed for every request); a job commits when it
returns and rolls back when it raises (`saas.jobs.worker.unit_of_work`). Views and operations do not commit.

Two narrow exceptions, each named so it can be found:
- `fresh_transaction()` ends a transaction that only read, so the next statement starts a new one (a
  writer that serialises on a lock must not keep an older snapshot; PostgreSQL learns the tenant at the
  start of a transaction);
- `persist_now()` commits a write that must land although the answer will be an error: a counted wrong
  code, a refused access in the audit trail.

`after_commit(fn, ...)` runs `fn` once the session's outermost transaction commits, and forgets it when
that transaction rolls back; `after_rollback(fn, ...)` the reverse. Enqueuing a job for a row, or deleting
a file whose row is gone, waits for the commit: a worker never looks for a row that is not there yet,
and a rolled-back request leaves no job and no missing file behind.
"""
from __future__ import annotations

import functools
import logging

from flask import Flask
from sqlalchemy import event
from sqlalchemy.orm import Session

from saas.extensions import db

_ON_COMMIT = "saas_after_commit"
_ON_ROLLBACK = "saas_after_rollback"
log = logging.getLogger(__name__)


def after_commit(fn, *args, **kwargs) -> None:
    """Call `fn(*args, **kwargs)` after the current transaction commits; nothing if it rolls back.
    An exception of `fn` is logged, not raised: the transaction is committed already."""
    db.session().info.setdefault(_ON_COMMIT, []).append(functools.partial(fn, *args, **kwargs))


def after_rollback(fn, *args, **kwargs) -> None:
    """Call `fn(*args, **kwargs)` if the current transaction rolls back; nothing if it commits."""
    db.session().info.setdefault(_ON_ROLLBACK, []).append(functools.partial(fn, *args, **kwargs))


def _run(callbacks, outcome: str) -> None:
    for callback in callbacks:
        try:
            callback()
        except Exception:   # one failed follow-up must not hide the others, nor undo the outcome
            log.exception("%s callback %s failed", outcome, getattr(callback.func, "__qualname__", callback.func))


@event.listens_for(Session, "after_commit")
def _committed(session: Session) -> None:
    session.info.pop(_ON_ROLLBACK, None)
    _run(session.info.pop(_ON_COMMIT, ()), "after-commit")


@event.listens_for(Session, "after_soft_rollback")
def _rolled_back(session: Session, previous_transaction) -> None:
    if previous_transaction.nested or previous_transaction.parent is not None:
        return  # a savepoint: the outer transaction decides
    session.info.pop(_ON_COMMIT, None)
    _run(session.info.pop(_ON_ROLLBACK, ()), "after-rollback")


def fresh_transaction() -> None:
    """End a transaction that holds only reads; the next statement begins a new one."""
    if db.session.new or db.session.dirty or db.session.deleted:
        raise RuntimeError("a fresh transaction was asked for with unsaved changes")
    db.session.commit()


def persist_now() -> None:
    """Commit what is written so far, because it must land whatever the answer (see the module doc)."""
    db.session.commit()


def finish_request(response):
    """The commit point of every request: below 400 commit, otherwise roll back. A failing commit
    raises, so the client gets an error instead of a success for something not saved: a 500, or for a
    lost database connection a 503 with Retry-After after a rollback (`saas.core.outage`; a read is
    tried once more first). Each database's transaction is rolled back by the server when its
    connection dies before COMMIT, so nothing of the request is written."""
    if response.status_code < 400:
        db.session.commit()
    else:
        db.session.rollback()
    return response


def init_app(app: Flask) -> None:
    # after_request functions of the app run after those of blueprints, and in reverse order of
    # registration: registered first, this runs last, after every hook that may still write.
    app.after_request(finish_request)
