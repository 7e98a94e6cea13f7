"""The JSON API under /api/v1/<tenant>/: flask-smorest blueprints that authenticate by Bearer token.

    from saas.api import api_blueprint
    blp = api_blueprint("subjects_api", __name__, "/subjects", description="Data subjects")

Each feature's `api.py` makes its `blp` this way and the app registers it. A request either is the
token's user in the token's tenant or gets a JSON error; a successful request commits, anything else
rolls back, so bad input leaves nothing half-written.
"""
from __future__ import annotations

from flask import g
from flask_smorest import Blueprint
from werkzeug.exceptions import HTTPException, default_exceptions

from saas.api import auth
from saas.extensions import api, csrf, db

URL_PREFIX = "/api/v1/<tenant>"


def api_blueprint(name: str, import_name: str, path: str = "", **kwargs) -> Blueprint:
    blp = Blueprint(name, import_name, url_prefix=URL_PREFIX + path, **kwargs)
    csrf.exempt(blp)  # token-only authentication: see saas.api.auth
    blp.url_value_preprocessor(_pull_tenant)
    blp.before_request(auth.authenticate)
    blp.after_request(_finish_transaction)
    # Per status code too: Flask prefers an app handler for the exact code over a blueprint's
    # handler for the HTTPException class, and the portal has its own pages for some codes.
    for code in default_exceptions:
        blp.register_error_handler(code, json_error)
    blp.register_error_handler(HTTPException, json_error)
    blp.record_once(lambda _state: declare_security())
    return blp


def _pull_tenant(_endpoint, values) -> None:
    g.tenant_slug = values.pop("tenant")


def _finish_transaction(response):
    if response.status_code < 400:
        db.session.commit()
    else:
        db.session.rollback()
    return response


def json_error(error: HTTPException):
    """Errors of the API are JSON with a message, whatever the portal does with its own errors."""
    payload, status, headers = api.handle_http_exception(error)
    payload.setdefault("message", _default_message(error))
    return payload, status, headers


def _default_message(error: HTTPException) -> str:
    if error.code == 422:
        return "the request has invalid fields; see 'errors'"
    return error.description or error.name


def declare_security() -> None:
    """The bearer scheme in the OpenAPI document, required by every operation."""
    spec = api.spec
    if auth.SCHEME_NAME not in spec.components.security_schemes:
        spec.components.security_scheme(auth.SCHEME_NAME, auth.SECURITY_SCHEME)
        spec.options["security"] = [{auth.SCHEME_NAME: []}]
