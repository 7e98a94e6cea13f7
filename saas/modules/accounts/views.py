"""Log in and out, the tenant chooser, the language switch, member management and the error pages.

`bp` holds the pages outside tenants; `members_bp` (a tenant blueprint nested in it) holds
`/<tenant>/members...`, so its endpoints are `accounts.members.*`.
"""
from __future__ import annotations

from flask import Blueprint, abort, current_app, flash, g, redirect, render_template, request, session, url_for
from flask_babel import get_locale
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user, login_required, login_user, logout_user
from werkzeug.exceptions import HTTPException, InternalServerError

from saas.core.web import endpoint_url, get_or_404, safe_redirect_target, tenant_blueprint
from saas.modules import access
from saas.extensions import db, limiter, login_manager
from saas.modules.accounts import operations, queries
from saas.modules.accounts.forms import ROLE_LABELS, EmptyForm, LocaleForm, LoginForm, MemberCreateForm, RoleForm
from saas.modules.accounts.models import Membership
from saas.modules.audit import operations as audit

bp = Blueprint("accounts", __name__, template_folder="templates")
members_bp = tenant_blueprint("members", __name__)

DEFAULT_LOGIN_RATE_LIMIT = "10 per minute"

login_manager.login_view = "accounts.login"
login_manager.login_message = _l("Please log in to see this page.")
login_manager.login_message_category = "info"
# The session is bound to the browser it was made in; a copied cookie from elsewhere is dropped.
login_manager.session_protection = "strong"


@login_manager.user_loader
def _load_user(user_id: str):
    return queries.load_user(user_id)


def login_rate_limit() -> str:
    return current_app.config.get("SAAS_LOGIN_RATE_LIMIT", DEFAULT_LOGIN_RATE_LIMIT)


# ---- header: navigation, language, user menu ----------------------------------------------------

# (endpoint, label, what the access policy must allow to see it); features not installed are left out.
NAVIGATION = (
    ("dashboard.index", _l("Dashboard"), ("view", "dashboard")),
    ("accounts.members.index", _l("Users"), ("manage", "member")),
    ("subjects.index", _l("Data subjects"), ("list", "person")),
    ("assignments.index", _l("Assignments"), ("list", "assignment")),
    ("companies.index", _l("Companies"), ("list", "company")),
    ("retention.index", _l("Retention"), ("view", "retention")),
    ("clients.index", _l("Client organisations"), ("list", "client_org")),
    ("agreements.index", _l("Agreements"), ("list", "agreement")),
    ("outbox.index", _l("Outbox"), ("manage", "outbox")),
    ("jobs_admin.index", _l("Jobs"), ("manage", "job")),
    ("audit.index", _l("Audit"), ("list", "audit")),
)


def navigation() -> list[dict]:
    membership = getattr(g, "membership", None)
    if getattr(g, "tenant", None) is None or membership is None:
        return []
    items = []
    for endpoint, label, (action, kind) in NAVIGATION:
        url = endpoint_url(endpoint)
        if url is None or not access.can(membership, action, kind):
            continue
        blueprint = endpoint.rpartition(".")[0]
        active = request.endpoint == endpoint or (request.blueprint == blueprint and endpoint != "dashboard.index")
        items.append({"url": url, "label": label, "active": active})
    return items


@bp.app_template_filter("role_label")
def role_label(role: str) -> str:
    return str(ROLE_LABELS.get(role, role))


@bp.app_context_processor
def _layout_context() -> dict:
    error_page = getattr(g, "error_page", False)
    return {
        "current_locale": str(get_locale() or "nl"),
        "current_tenant": getattr(g, "tenant", None),
        "current_membership": getattr(g, "membership", None),
        "navigation": navigation,
        # Error pages never echo the requested URL, not even in a hidden field.
        "here": "" if error_page else request.full_path.rstrip("?"),
    }


# ---- log in and out ----------------------------------------------------------------------------

def _landing_url(user) -> str:
    tenants = queries.tenants_of(user)
    if len(tenants) == 1:
        return url_for("dashboard.index", tenant=tenants[0].slug)
    return url_for("accounts.home")


def _start_session(user) -> None:
    """A fresh session on login (nothing carried over from before but the chosen language)."""
    locale = session.get("locale") or user.locale
    session.clear()
    if locale:
        session["locale"] = locale
    login_user(user)


@bp.route("/login", methods=["GET", "POST"])
@limiter.limit(login_rate_limit, methods=["POST"])
def login():
    if request.method == "GET" and current_user.is_authenticated:
        return redirect(safe_redirect_target(request.args.get("next")) or _landing_url(current_user))
    form = LoginForm(next=request.args.get("next", ""))
    failed = False
    if form.validate_on_submit():
        user, refused = operations.authenticate(form.email.data, form.password.data)
        if user is not None:
            _start_session(user)
            operations.audit_in_each_tenant(user, "auth.login", outcome="ok")
            db.session.commit()
            return redirect(safe_redirect_target(form.next.data) or _landing_url(user))
        if refused is not None:
            # The attempt is logged by user id only; the typed email is never stored.
            operations.audit_in_each_tenant(refused, "auth.login", outcome="failed", actor_kind="anonymous")
        db.session.commit()
        failed = True
    status = 401 if failed else (400 if form.errors else 200)
    return render_template("accounts/login.html", form=form, failed=failed), status


@bp.route("/logout", methods=["GET", "POST"])
def logout():
    """GET asks (a link cannot log anyone out); POST with the CSRF token logs out."""
    if request.method == "GET":
        if not current_user.is_authenticated:
            return redirect(url_for("accounts.login"))
        return render_template("accounts/logout.html")
    if current_user.is_authenticated:
        operations.audit_in_each_tenant(current_user._get_current_object(), "auth.logout", outcome="ok")
        db.session.commit()
    locale = session.get("locale")
    logout_user()
    session.clear()
    if locale:
        session["locale"] = locale
    flash(_("You have been logged out."), "info")
    return redirect(url_for("accounts.login"))


@bp.get("/")
@login_required
def home():
    """The tenant chooser: only the tenants this user belongs to."""
    tenants = queries.tenants_of(current_user)
    if len(tenants) == 1:
        return redirect(url_for("dashboard.index", tenant=tenants[0].slug))
    return render_template("accounts/home.html", tenants=tenants)


@bp.post("/locale")
def set_locale():
    form = LocaleForm()
    if not form.validate():
        abort(400)
    session["locale"] = form.locale.data
    if current_user.is_authenticated:
        current_user.locale = form.locale.data
        db.session.commit()
    return redirect(safe_redirect_target(form.next.data) or url_for("accounts.home"))


# ---- members of a tenant (admins only) -------------------------------------------------------------

ERROR_MESSAGES = {
    "already_member": _l("This person is already a member of this organisation."),
    "client_org_required": _l("A client user needs one of this organisation's client organisations."),
    "last_admin": _l("An organisation needs at least one administrator."),
    "unknown_role": _l("Choose one of the roles."),
}


def _role_form(form_class=RoleForm, **kwargs):
    form = form_class(**kwargs)
    form.set_client_orgs(queries.client_organisations())
    return form


def _render_members(create_form, status=200):
    rows = queries.members()
    audit.record("membership.list", "tenant", g.tenant.id, detail={"count": len(rows)})
    db.session.commit()
    return render_template("accounts/members.html", rows=rows, form=create_form), status


@members_bp.get("/members")
@access.requires("manage", "member")
def index():
    return _render_members(_role_form(MemberCreateForm))


@members_bp.post("/members")
@access.requires("manage", "member")
def create():
    form = _role_form(MemberCreateForm)
    if not form.validate():
        return _render_members(form, 400)
    user = queries.find_user_by_email(form.email.data)
    initial_password = None
    try:
        if user is None:
            initial_password = operations.generate_password()
            user = operations.create_user(form.email.data, form.display_name.data, initial_password)
        membership = operations.add_membership(g.tenant, user, form.role.data, form.client_org.data or None)
    except operations.MembershipError as exc:
        db.session.rollback()
        form.form_errors.append(ERROR_MESSAGES.get(exc.code, exc.code))
        return _render_members(form, 400)
    db.session.commit()
    # Rendered, not redirected: the initial password is shown once and never stored in the session.
    return render_template("accounts/member_created.html", membership=membership, user=user,
                           initial_password=initial_password)


def _render_member(membership, form=None, status=200):
    audit.record("membership.view", "membership", membership.id)
    db.session.commit()
    form = form or _role_form(role=membership.role, client_org=str(membership.client_org_id or ""))
    return render_template(
        "accounts/member.html", membership=membership, form=form, remove_form=EmptyForm(),
        client_org_name=queries.client_organisation_name(membership.client_org_id),
    ), status


@members_bp.get("/members/<membership_id>")
@access.requires("manage", "member")
def show(membership_id):
    return _render_member(get_or_404(Membership, membership_id))


@members_bp.post("/members/<membership_id>/role")
@access.requires("manage", "member")
def change_role(membership_id):
    membership = get_or_404(Membership, membership_id)
    form = _role_form()
    if not form.validate():
        return _render_member(membership, form, 400)
    try:
        operations.change_role(membership, form.role.data, form.client_org.data or None)
    except operations.MembershipError as exc:
        db.session.rollback()
        form.form_errors.append(ERROR_MESSAGES.get(exc.code, exc.code))
        return _render_member(get_or_404(Membership, membership_id), form, 400)
    db.session.commit()
    flash(_("The role was changed."), "success")
    return redirect(url_for(".index"))


@members_bp.post("/members/<membership_id>/remove")
@access.requires("manage", "member")
def remove(membership_id):
    membership = get_or_404(Membership, membership_id)
    removed_self = membership.user_id == current_user.id
    try:
        operations.remove_membership(membership)
    except operations.MembershipError as exc:
        db.session.rollback()
        flash(ERROR_MESSAGES.get(exc.code, exc.code), "error")
        return redirect(url_for(".show", membership_id=membership_id))
    db.session.commit()
    flash(_("The member was removed."), "success")
    return redirect(url_for("accounts.home") if removed_self else url_for(".index"))


bp.register_blueprint(members_bp)


# ---- error pages: a fixed text per status, never the request's input -------------------------------

ERROR_TEXTS = {
    400: (_l("Bad request"), _l("The form could not be processed. Reload the page and try again.")),
    403: (_l("Not allowed"), _l("You do not have access to this page.")),
    404: (_l("Page not found"), _l("This page does not exist or you do not have access to it.")),
    405: (_l("Not allowed"), _l("This page cannot be used this way.")),
    429: (_l("Too many attempts"), _l("Too many attempts. Wait a minute and try again.")),
}


def _wants_json() -> bool:
    return request.path.startswith("/api/")


def _error_page(error: HTTPException):
    if _wants_json():
        from saas.extensions import api

        return api.handle_http_exception(error)
    g.error_page = True
    title, message = ERROR_TEXTS[error.code]
    response = current_app.make_response(
        (render_template("errors/error.html", code=error.code, title=title, message=message), error.code)
    )
    if error.code == 405 and getattr(error, "valid_methods", None):
        response.headers["Allow"] = ", ".join(error.valid_methods)
    return response


for _code in ERROR_TEXTS:
    bp.app_errorhandler(_code)(_error_page)


@bp.app_errorhandler(InternalServerError)
def _server_error(error):
    db.session.rollback()
    if _wants_json():
        from saas.extensions import api

        return api.handle_http_exception(error)
    # A page without database access: whatever failed must not fail again while showing this.
    return render_template("errors/500.html"), 500
