"""Web plumbing shared by every feature: tenant from the URL, locale, security headers. Who may do what is
the access policy's (`saas.access`)."""
from __future__ import annotations

import uuid
from urllib.parse import urlsplit, urlunsplit

from flask import Blueprint, Flask, abort, current_app, g, has_request_context, request, session, url_for
from flask_login import current_user

from saas.core import tenancy, transaction
from saas.extensions import db, login_manager

LOCALES = ("nl", "en")
CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "font-src 'self'; connect-src 'self'; frame-ancestors 'none'; form-action 'self'; "
    "base-uri 'none'; object-src 'none'"
)


def external_url(endpoint: str, **values) -> str:
    """An absolute URL for a mail: from the request when there is one, else from SAAS_BASE_URL (jobs)."""
    if has_request_context():
        return url_for(endpoint, _external=True, **values)
    base_url = current_app.extensions["saas.settings"].base_url
    tenant_id = tenancy.current_tenant_id()
    with current_app.test_request_context("/", base_url=base_url):
        url = url_for(endpoint, _external=True, **values)
    tenancy.set_tenant(tenant_id)  # leaving that request context ran teardown_request, which resets the tenant
    return url


def select_locale() -> str:
    if not has_request_context():
        return "nl"  # a job or command: it chooses its language with flask_babel.force_locale
    chosen = session.get("locale")
    if chosen in LOCALES:
        return chosen
    tenant = getattr(g, "tenant", None)
    if tenant is not None and tenant.locale in LOCALES:
        return tenant.locale
    return request.accept_languages.best_match(LOCALES) or "nl"


def switch_tenant(tenant_id: int | None) -> None:
    """Start a new transaction as this tenant: PostgreSQL learns the tenant at transaction start."""
    transaction.fresh_transaction()
    tenancy.set_tenant(tenant_id)


def tenant_blueprint(name: str, import_name: str, **kwargs) -> Blueprint:
    """A blueprint under `/<tenant>/...`: the tenant must exist and the user must belong to it,
    otherwise the answer is 404 (never 403, never data)."""
    bp = Blueprint(name, import_name, url_prefix="/<tenant>", **kwargs)

    @bp.url_value_preprocessor
    def _pull_tenant(endpoint, values):
        g.tenant_slug = values.pop("tenant")

    @bp.url_defaults
    def _add_tenant(endpoint, values):
        if "tenant" not in values and getattr(g, "tenant_slug", None):
            values["tenant"] = g.tenant_slug

    @bp.before_request
    def _enter_tenant():
        if not current_user.is_authenticated:
            return login_manager.unauthorized()
        enter_tenant_for_user(g.tenant_slug, current_user)
        return None

    return bp


def set_tenant_entry(app: Flask, enter) -> None:
    """Core knows no tenant or membership table: the feature that owns them registers `enter(slug, user)`,
    which sets `g.tenant` and `g.membership` and the tenant of the session, or aborts with 404."""
    app.extensions["saas.enter_tenant"] = enter


def enter_tenant_for_user(slug: str, user) -> None:
    enter = current_app.extensions.get("saas.enter_tenant")
    if enter is None:
        raise RuntimeError("no feature registered how to enter a tenant (saas.core.web.set_tenant_entry)")
    enter(slug, user)


def get_or_404(model, object_id):
    """Fetch a row of the current tenant by id; anything else (bad id, other tenant) is 404."""
    try:
        key = uuid.UUID(str(object_id))
    except ValueError:
        abort(404)
    obj = db.session.get(model, key)
    if obj is None:
        abort(404)
    return obj


def safe_redirect_target(target: str | None) -> str | None:
    """A path on this site to redirect to, or None: never another host (no open redirect)."""
    if not target or len(target) > 2000 or "\\" in target or any(ord(c) < 32 for c in target):
        return None
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not parts.path.startswith("/") or parts.path.startswith("//"):
        return None
    return urlunsplit(("", "", parts.path, parts.query, ""))


def endpoint_url(endpoint: str, **values) -> str | None:
    """url_for, or None when no feature registered that endpoint (templates link only to what exists)."""
    if endpoint not in current_app.view_functions:
        return None
    return url_for(endpoint, **values)


def _security_headers(response):
    headers = response.headers
    headers.setdefault("Content-Security-Policy", CSP)
    headers.setdefault("X-Content-Type-Options", "nosniff")
    headers.setdefault("X-Frame-Options", "DENY")
    headers.setdefault("Referrer-Policy", "no-referrer")
    headers.setdefault("Permissions-Policy", "camera=(), microphone=(), geolocation=()")
    headers.setdefault("Cross-Origin-Opener-Policy", "same-origin")
    if request.is_secure:
        headers.setdefault("Strict-Transport-Security", "max-age=63072000; includeSubDomains")
    if not _is_static_file():
        # Personal data and PDFs are everywhere (portal, API, signing pages, downloads, /verify answers):
        # nothing but the static assets may be kept by a browser or proxy, whatever a view or send_file set.
        headers["Cache-Control"] = "no-store"
        headers.pop("Expires", None)
    return response


def _allow_on_405(response):
    """A 405 names the methods the URL takes (RFC 9110), for the portal and the API alike."""
    if response.status_code == 405 and "Allow" not in response.headers:
        try:
            methods = current_app.url_map.bind_to_environ(request.environ).allowed_methods()
        except Exception:  # noqa: BLE001 - without the list the answer is still a 405
            methods = []
        if methods:
            response.headers["Allow"] = ", ".join(sorted(methods))
    return response


def _is_static_file() -> bool:
    endpoint = request.endpoint or ""
    return endpoint == "static" or endpoint.endswith(".static")


def _reset_tenant(_exc=None):
    tenancy.set_tenant(None)


def init_app(app: Flask) -> None:
    from flask_babel import format_datetime

    from saas.core import clock

    from saas.core import input_guard, paging

    app.after_request(_security_headers)
    app.after_request(_allow_on_405)
    app.before_request(_reset_tenant)
    app.before_request(input_guard.refuse_unstorable_text)
    app.before_request(paging.check_page_argument)
    app.teardown_request(_reset_tenant)
    app.jinja_env.globals["LOCALES"] = LOCALES
    app.jinja_env.globals["endpoint_url"] = endpoint_url
    app.jinja_env.filters["local_time"] = lambda dt: format_datetime(clock.local(dt), "yyyy-MM-dd HH:mm zzz") if dt else ""
