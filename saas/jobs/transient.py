"""Transient database errors in jobs: a lost connection is retried with back-off inside the job.

    retry_transient(lambda: one_batch(...), what="sweep batch")

A job that commits in idempotent batches redoes a batch whose connection was terminated (a database
restart, a fail-over, `pg_terminate_backend`) instead of failing: the failed transaction is rolled back,
the session takes a fresh connection, and the batch runs again. Such errors do not use up the job's RQ
retries; a real error (a bug, a constraint) is raised at once.
"""
from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import TypeVar

import sqlalchemy as sa

from saas.extensions import db

log = logging.getLogger(__name__)
T = TypeVar("T")

# Seconds between tries: about a minute and a half in all, enough for a database restart or fail-over.
BACKOFF = (0.2, 0.5, 1, 2, 4, 8, 15, 30, 30)

try:  # psycopg is the PostgreSQL driver; a SQLite-only install may lack it
    from psycopg import errors as pg_errors

    _PG_TRANSIENT: tuple[type[BaseException], ...] = (
        pg_errors.AdminShutdown, pg_errors.CrashShutdown, pg_errors.CannotConnectNow,
        pg_errors.ConnectionException, pg_errors.DeadlockDetected, pg_errors.SerializationFailure,
    )
except ImportError:  # pragma: no cover
    _PG_TRANSIENT = ()


def is_transient(exc: BaseException) -> bool:
    """Whether retrying the same work on a new connection may succeed: the connection was lost, the
    server is shutting down or starting, or the transaction lost a deadlock or serialisation race."""
    if isinstance(exc, sa.exc.DBAPIError):
        if exc.connection_invalidated:
            return True
        exc = exc.orig if exc.orig is not None else exc
    if _PG_TRANSIENT and isinstance(exc, _PG_TRANSIENT):
        return True
    # psycopg raises a plain OperationalError for a connection closed under it ("the connection is lost").
    return type(exc).__name__ == "OperationalError" and getattr(exc, "sqlstate", "") is None \
        and "connection" in str(exc).lower()


def retry_transient(work: Callable[[], T], *, what: str, backoff: tuple[float, ...] | None = None,
                    sleep: Callable[[float], None] | None = None) -> T:
    """Run `work` (one whole transaction that can be redone); on a transient error roll back, wait and run
    it again, up to len(backoff) more times. The last error is raised when all tries failed."""
    backoff = BACKOFF if backoff is None else backoff
    sleep = sleep or time.sleep
    for attempt, pause in enumerate((*backoff, None)):
        try:
            return work()
        except Exception as exc:
            if pause is None or not is_transient(exc):
                raise
            _roll_back()
            log.warning("%s: transient database error (%s), try %d again in %.1f s",
                        what, type(exc).__name__, attempt + 2, pause)
            sleep(pause)
    raise AssertionError("unreachable")  # pragma: no cover


def _roll_back() -> None:
    """Forget the failed transaction; a rollback on a dead connection may itself fail (and is not needed)."""
    try:
        db.session.rollback()
    except Exception:  # noqa: BLE001  (a dead connection may refuse even that: drop the session's state)
        db.session.close()
