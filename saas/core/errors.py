"""One error for a write the domain refuses: invalid input, a step not allowed in this state.

    raise DomainError(_("Only a draft can be sent."))
    raise DomainError(_("Please correct the marked fields."), errors={"email": "..."})
    raise DomainError("closed", reason="closed", state=agreement.status)   # a fixed code a page translates

Operations raise it before or instead of writing; the request's commit point rolls back whatever a
refused request wrote (`saas.core.transaction`). A view that wants to show the form again catches it;
one that does not gets the handler below: the message as a page (portal) or as JSON (API), with `status`.
"""
from __future__ import annotations

import logging

from flask import Flask, current_app, render_template, request
from werkzeug.exceptions import NotFound

from saas.core.crypto.keyring import KeyMissing

log = logging.getLogger(__name__)


class DomainError(ValueError):
    """A refused write. `message` is for people (translated where it is made); `reason` a fixed code for
    code that branches on it; `errors` maps form fields to messages; `facts` are extra values (ids, counts,
    never personal data) a page may show; `status` the HTTP answer when nobody catches it."""

    status = 400

    def __init__(self, message: str, *, status: int | None = None, reason: str | None = None,
                 errors: dict | None = None, **facts):
        super().__init__(message)
        if status is not None:
            self.status = status
        self.reason = reason or str(message)
        self.errors = errors or {}
        self.facts = facts


def _wants_json() -> bool:
    return request.path.startswith("/api/") or (
        request.accept_mimetypes.best == "application/json" and not request.accept_mimetypes.accept_html)


def handle_domain_error(error: DomainError):
    """The answer to a refusal nobody caught; the commit point rolls back (status >= 400)."""
    status = error.status if 400 <= error.status < 500 else 400
    if _wants_json():
        payload = {"code": status, "status": "refused", "message": str(error)}
        if error.errors:
            payload["errors"] = {name: value if isinstance(value, list) else [str(value)]
                                 for name, value in error.errors.items()}
        return payload, status
    return render_template("errors/error.html", code=status, title=str(error), message=""), status


def handle_key_missing(_error: KeyMissing):
    """A person whose key is gone is erased: whatever page or endpoint met their data answers 404, never
    500. (Lists leave such people out before they decrypt: `erasure.queries.gone_ids`, which also notes
    them once for the admin.) The request rolls back (status >= 400)."""
    log.info("a destroyed subject key was met on %s: answered 404", request.endpoint)
    return current_app.handle_user_exception(NotFound())


def init_app(app: Flask) -> None:
    app.register_error_handler(DomainError, handle_domain_error)
    app.register_error_handler(KeyMissing, handle_key_missing)
