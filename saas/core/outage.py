"""A lost database connection is an outage to ride out, not a bug: never a 500 for it.

- Connections that died while idle in the pool (a server restart, `pg_terminate_backend`) are found before
  use by `pool_pre_ping` (every bind: `Settings.flask_config`).
- A connection lost during a request rolls the request back. A GET or HEAD (a read: safe to repeat) is run
  once more, from its first hook, on a fresh connection, before anything is sent.
- Anything else, or a read that fails again, is answered 503 with `Retry-After`: the portal a page of its
  own (no database look-ups), the API a JSON error in its error schema. The request's transaction is rolled
  back, so nothing of it is written; the client may send it again.
"""
from __future__ import annotations

import logging

from flask import Flask, g, render_template, request
from sqlalchemy import exc as sa_exc
from werkzeug.exceptions import ServiceUnavailable

from saas.extensions import db

RETRY_AFTER_SECONDS = 5
SAFE_METHODS = ("GET", "HEAD")
# SQLSTATEs of a connection that is gone or not yet there: class 08 (connection exception), and
# admin_shutdown / crash_shutdown / cannot_connect_now (a terminated backend, a server restart).
_LOST_STATES = ("57P01", "57P02", "57P03")
API_MESSAGE = "the database connection was lost; nothing was saved; try again after Retry-After seconds"
log = logging.getLogger(__name__)


def is_lost_connection(error: BaseException) -> bool:
    """A database error that says the connection is gone (not a bad statement: that stays a 500)."""
    if not isinstance(error, sa_exc.DBAPIError):
        return False
    if error.connection_invalidated:
        return True
    original = error.orig
    state = getattr(original, "sqlstate", None)
    if state:
        return state.startswith("08") or state in _LOST_STATES
    # psycopg raises a plain OperationalError (no SQLSTATE) when it cannot reach the server at all.
    return isinstance(error, sa_exc.OperationalError) and type(original).__module__.startswith("psycopg")


def _forget_connection() -> None:
    """Roll the request's transaction back; a session that cannot even do that is thrown away."""
    try:
        db.session.rollback()
    except Exception:  # noqa: BLE001 - the connection is gone; a new session gets a new one
        db.session.remove()


class App(Flask):
    """Flask with the two steps above: one retry of a read, a 503 for the rest."""

    def full_dispatch_request(self):
        view_args = dict(request.view_args or {})   # the hooks pop values from them (the tenant)
        try:
            return super().full_dispatch_request()
        except Exception as error:
            if not is_lost_connection(error) or request.method not in SAFE_METHODS or g.get("saas_retried"):
                raise
            log.warning("database connection lost during a %s (%s); trying it once more",
                        request.method, type(error.orig).__name__)
        _forget_connection()
        g.saas_retried = True
        request.view_args = view_args
        return super().full_dispatch_request()

    def handle_exception(self, e):
        if not is_lost_connection(e):
            return super().handle_exception(e)
        log.warning("database connection lost during a %s (%s): answered 503", request.method,
                    type(e.orig).__name__)
        _forget_connection()
        unavailable = ServiceUnavailable(description=API_MESSAGE, retry_after=RETRY_AFTER_SECONDS)
        response = self.finalize_request(self.handle_user_exception(unavailable), from_error_handler=True)
        response.headers["Retry-After"] = str(RETRY_AFTER_SECONDS)
        return response


def _unavailable_page(_error):
    """The portal's 503: a page that needs no database (it is what just failed)."""
    response = App.response_class(render_template("errors/503.html"), 503)
    response.headers["Retry-After"] = str(RETRY_AFTER_SECONDS)
    return response


def init_app(app: Flask) -> None:
    # The API's blueprints answer their own 503 as JSON (saas.api.json_error); this is the portal's.
    app.register_error_handler(ServiceUnavailable, _unavailable_page)
