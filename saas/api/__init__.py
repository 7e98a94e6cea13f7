"""The JSON API under /api/v1/<tenant>/: flask-smorest blueprints that authenticate by Bearer token.

    from saas.api import api_blueprint
    blp = api_blueprint("subjects_api", __name__, "/subjects", description="Data subjects")

Each feature's `api.py` makes its `blp` this way and the app registers it. A request either is the
token's user in the token's tenant or gets a JSON error; a successful request commits, anything else
rolls back (the app's one commit point, `saas.core.transaction`), so bad input leaves nothing half-written.

The API keeps to its own document (checked by a schemathesis run in the tests):
- `X-Pagination` is documented as what it is, a JSON object in a header (`content: application/json`),
  with `total` and `total_pages` always present, and `page` is documented with its maximum;
- a PATCH must change something: an empty object is refused (422 with a message), and every PATCH
  body is documented with `minProperties: 1`;
- a 405 carries `Allow` (saas.core.web adds it for every 405, portal and API).
"""
from __future__ import annotations

from apispec import BasePlugin
from flask import current_app, g, request
from flask_smorest import Blueprint, abort
from marshmallow import fields, validate
from werkzeug.exceptions import HTTPException, default_exceptions

from saas import access
from saas.api import auth
from saas.core.paging import MAX_PAGE
from saas.extensions import api, csrf

URL_PREFIX = "/api/v1/<tenant>"
PAGINATION_HEADER_DOC = {
    "description": "Paging of the list: a JSON object.",
    "required": True,
    "content": {"application/json": {"schema": {
        "type": "object",
        "required": ["total", "total_pages"],
        "properties": {name: {"type": "integer", "minimum": 0, "description": text} for name, text in (
            ("total", "Total number of items."), ("total_pages", "Total number of pages."),
            ("first_page", "First page (absent when there are no items)."),
            ("last_page", "Last page (absent when there are no items)."),
            ("page", "This page (absent beyond the last page)."),
            ("previous_page", "The page before this one, if any."), ("next_page", "The page after this one, if any."),
        )},
    }}},
}
EMPTY_PATCH_MESSAGE = "send at least one field to change"


class ApiBlueprint(Blueprint):
    """flask-smorest's Blueprint with the paging contract stated as it is sent."""

    def _document_pagination_metadata(self, spec, resp_doc):
        resp_doc.setdefault("headers", {})[self.PAGINATION_HEADER_NAME] = PAGINATION_HEADER_DOC

    def paginate(self, pager=None, **kwargs):
        decorate = super().paginate(pager, **kwargs)

        def decorator(func):
            wrapper = decorate(func)
            # The same schema class parses the query and documents it: give `page` its upper bound.
            page_schema = wrapper._apidoc["pagination"]["parameters"]["schema"]
            default = page_schema._declared_fields["page"].load_default
            page_schema._declared_fields["page"] = fields.Integer(
                load_default=default, validate=validate.Range(min=1, max=MAX_PAGE))
            return wrapper

        return decorator


class PatchChangesSomething(BasePlugin):
    """Documents that a PATCH body needs at least one field (`_refuse_empty_patch` enforces it)."""

    def operation_helper(self, path=None, operations=None, **kwargs):
        body = ((operations or {}).get("patch") or {}).get("requestBody", {}).get("content", {})
        media = body.get("application/json")
        if media and "schema" in media and "allOf" not in media["schema"]:
            media["schema"] = {"allOf": [media["schema"]], "minProperties": 1}


def api_blueprint(name: str, import_name: str, path: str = "", **kwargs) -> Blueprint:
    blp = ApiBlueprint(name, import_name, url_prefix=URL_PREFIX + path, **kwargs)
    csrf.exempt(blp)  # token-only authentication: see saas.api.auth
    blp.url_value_preprocessor(_pull_tenant)
    blp.before_request(auth.authenticate)
    blp.before_request(_refuse_empty_patch)
    # Per status code too: Flask prefers an app handler for the exact code over a blueprint's
    # handler for the HTTPException class, and the portal has its own pages for some codes.
    for code in default_exceptions:
        blp.register_error_handler(code, json_error)
    blp.register_error_handler(HTTPException, json_error)
    blp.record_once(lambda _state: declare_security())
    return blp


def _pull_tenant(_endpoint, values) -> None:
    g.tenant_slug = values.pop("tenant")


def _refuse_empty_patch() -> None:
    if request.method != "PATCH" or not request.is_json or request.get_json(silent=True) != {}:
        return
    # The policy first: a role that may not change the record gets its 404, not a lesson in the body's shape.
    requirement = access.requirement_of(current_app.view_functions.get(request.endpoint), "PATCH")
    if requirement is not None:
        access.require(requirement.action, requirement.kind)
    abort(422, message=EMPTY_PATCH_MESSAGE, errors={"json": {"_schema": [EMPTY_PATCH_MESSAGE]}})


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
    if not any(isinstance(plugin, PatchChangesSomething) for plugin in spec.plugins):
        plugin = PatchChangesSomething()
        plugin.init_spec(spec)
        spec.plugins.append(plugin)   # after the marshmallow plugin: the body schema is a $ref by now
