"""Log in and out, the tenant chooser, the language switch, member management and the error pages.

`bp` holds the pages outside tenants; `members_bp` (a tenant blueprint nested in it) holds
`/<tenant>/members...`, so its endpoints are `accounts.members.*`.
"""
from __future__ import annotations

from flask import Blueprint, abort, current_app, flash, g, redirect, render_template, request, session, url_for
from flask_babel import get_locale
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user, login_required, logout_user
from werkzeug.exceptions import HTTPException, InternalServerError

from saas.core import clock, transaction
from saas.core.web import endpoint_url, get_or_404, safe_redirect_target, tenant_blueprint
from saas import access
from saas.extensions import db, limiter, login_manager
from saas.modules.accounts import account_views, invitations, operations, queries, sessions
from saas.modules.accounts.limits import attempt_failed, login_rate_limit
from saas.core.forms import EmptyForm
from saas.modules.accounts.forms import ROLE_LABELS, InviteForm, LocaleForm, LoginForm, RoleForm
from saas.modules.accounts.models import Invitation, Membership
from saas.modules.audit import operations as audit

bp = Blueprint("accounts", __name__, template_folder="templates")
members_bp = tenant_blueprint("members", __name__)


login_manager.login_view = "accounts.login"
login_manager.login_message = _l("Please log in to see this page.")
login_manager.login_message_category = "info"
# The session is bound to the browser it was made in; a copied cookie from elsewhere is dropped.
login_manager.session_protection = "strong"


@login_manager.user_loader
def _load_user(session_user_id: str):
    """The cookie names the user and the session epoch it was issued in; an older epoch (after a log out
    or a password change) is refused, so a copied cookie replayed later does not work."""
    user_id, _, epoch = (session_user_id or "").partition(".")
    user = queries.load_user(user_id)
    if user is None or not epoch.isdigit() or int(epoch) != (user.session_epoch or 0):
        return None
    return user


@bp.before_app_request
def _required_account_step():
    """A first password to change or two-factor login to set up comes before any other page."""
    step = session.get(sessions.PENDING)
    if not step or request.endpoint in STEP_ENDPOINTS or request.path.startswith("/api/"):
        return None
    if not current_user.is_authenticated:
        return None
    return redirect(url_for(sessions.PENDING_ENDPOINTS[step]))


STEP_ENDPOINTS = {
    "static", "accounts.logout", "accounts.set_locale", "accounts.account.password",
    "accounts.account.two_factor", "accounts.account.two_factor_confirm",
    "accounts.invite.open",   # keeps the invitation in the session for after the step
}


# ---- header: navigation, language, user menu ----------------------------------------------------

# (endpoint, label, what the access policy must allow to see it); features not installed are left out.
NAVIGATION = (
    ("dashboard.index", _l("Dashboard"), ("view", "dashboard")),
    ("accounts.members.index", _l("Users"), ("manage", "member")),
    ("subjects.index", _l("Data subjects"), ("list", "person")),
    ("assignments.index", _l("Assignments"), ("list", "assignment")),
    ("databases.index", _l("Database"), ("view", "client_database")),
    ("companies.index", _l("Companies"), ("list", "company")),
    ("imports.index", _l("Imports"), ("import", "person")),
    ("retention.index", _l("Retention"), ("view", "retention")),
    ("registers.index", _l("Registers"), ("view", "register")),
    ("clients.index", _l("Client organisations"), ("list", "client_org")),
    ("agreements.index", _l("Agreements"), ("list", "agreement")),
    ("rights.index", _l("Rights requests"), ("list", "rights_request")),
    ("outbox.index", _l("Outbox"), ("manage", "outbox")),
    ("jobs_admin.index", _l("Jobs"), ("manage", "job")),
    ("audit.index", _l("Audit"), ("list", "audit")),
    ("tokens.index", _l("API tokens"), ("view", "account")),
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

@bp.route("/login", methods=["GET", "POST"])
@limiter.limit(login_rate_limit, methods=["POST"], deduct_when=attempt_failed)
def login():
    if request.method == "GET" and current_user.is_authenticated:
        return redirect(sessions.next_url(current_user, request.args.get("next")))
    form = LoginForm(next=request.args.get("next", ""))
    failed = False
    if form.validate_on_submit():
        user, refused = operations.authenticate(form.email.data, form.password.data)
        if user is not None and user.has_totp:
            # The password is right; the session starts only after the second factor.
            session[sessions.SECOND_FACTOR] = {"user": str(user.id), "epoch": user.session_epoch or 0,
                                              "at": int(clock.now().timestamp()), "next": form.next.data or ""}
            return redirect(url_for("accounts.account.second_factor"))
        if user is not None:
            sessions.finish_login(user)
            return redirect(sessions.next_url(user, form.next.data))
        if refused is not None:
            # The attempt is logged by user id only; the typed email is never stored.
            detail = {"locked": True} if operations.is_locked(refused) else None
            operations.audit_in_each_tenant(refused, "auth.login", outcome="failed", actor_kind="anonymous",
                                            detail=detail)
        # The answer is 401, so the commit point would roll back: the counted failure (the lockout)
        # and its audit line must land anyway.
        transaction.persist_now()
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
        user = current_user._get_current_object()
        operations.end_sessions(user)   # this cookie, and any copy of it, is refused from now on
        operations.audit_in_each_tenant(user, "auth.logout", outcome="ok")
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
    return redirect(safe_redirect_target(form.next.data) or url_for("accounts.home"))


# ---- members of a tenant (admins only) -------------------------------------------------------------

def _role_form(form_class=RoleForm, **kwargs):
    form = form_class(**kwargs)
    form.set_client_orgs(queries.client_organisations())
    return form


def _render_members(invite_form, status=200):
    rows = queries.members()
    pending = queries.pending_invitations()
    audit.record("membership.list", "tenant", g.tenant.id, detail={"count": len(rows), "invitations": len(pending)})
    if status >= 400:
        transaction.persist_now()   # the page lists people: its audit line lands even with a refused form
    return render_template("accounts/members.html", rows=rows, form=invite_form, invitations=pending,
                           revoke_form=EmptyForm()), status


@members_bp.get("/members")
@access.requires("manage", "member")
def index():
    return _render_members(_role_form(InviteForm))


@members_bp.post("/members")
@access.requires("manage", "member")
def create():
    """Invite an address. The answer is the same whether or not it has an account (here or elsewhere):
    no membership exists until the person accepts by mail."""
    form = _role_form(InviteForm)
    if not form.validate():
        return _render_members(form, 400)
    try:
        invitations.invite(g.tenant, form.email.data, form.role.data, form.client_org.data or None,
                           invited_by=current_user.id)
    except operations.MembershipError as exc:
        db.session.rollback()
        form.form_errors.append(str(exc))
        return _render_members(form, 400)
    flash(_("The invitation was sent. The person becomes a member after accepting it."), "success")
    return redirect(url_for(".index"))


@members_bp.post("/members/invitations/<invitation_id>/revoke")
@access.requires("manage", "member")
def revoke_invitation(invitation_id):
    invitation = get_or_404(Invitation, invitation_id)
    try:
        invitations.revoke(invitation)
    except invitations.InvitationError:
        db.session.rollback()
        flash(_("This invitation is no longer open."), "error")
        return redirect(url_for(".index"))
    flash(_("The invitation was withdrawn."), "success")
    return redirect(url_for(".index"))


def _render_member(membership, form=None, status=200):
    audit.record("membership.view", "membership", membership.id)
    if status >= 400:
        transaction.persist_now()   # the page shows a person: its audit line lands even with a refused form
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
        form.form_errors.append(str(exc))
        return _render_member(get_or_404(Membership, membership_id), form, 400)
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
        flash(str(exc), "error")
        return redirect(url_for(".show", membership_id=membership_id))
    flash(_("The member was removed."), "success")
    return redirect(url_for("accounts.home") if removed_self else url_for(".index"))


bp.register_blueprint(members_bp)
bp.register_blueprint(account_views.account_bp)   # endpoints accounts.account.*
bp.register_blueprint(account_views.invite_bp)    # endpoints accounts.invite.*



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
