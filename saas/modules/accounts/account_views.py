"""The user's own account: password change and reset, two-factor login, and accepting an invitation.

`account_bp` (endpoints `accounts.account.*`) and `invite_bp` (`accounts.invite.*`) nest in the accounts
blueprint. Links with a token (reset, invitation) are opened once: the token moves into the session and
the browser is sent to a URL without it; request log lines show [token] instead.
"""
from __future__ import annotations

import logging
import re
import uuid
from datetime import timedelta

from flask import Blueprint, flash, g, redirect, render_template, request, session, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user, login_required, login_user

from saas.core import clock, tenancy, transaction
from saas.core.forms import EmptyForm
from saas.core.web import switch_tenant
from saas.extensions import db, limiter
from saas.modules.accounts import invitations, operations, queries, resets, sessions, twofactor
from saas.modules.accounts.limits import attempt_failed, login_rate_limit
from saas.modules.accounts.forms import (
    ROLE_LABELS, CodeForm, PasswordChangeForm, PasswordForgotForm, PasswordResetForm, RegisterForm,
)
from saas.modules.accounts.models import User
from saas.modules.tenants.models import Tenant

account_bp = Blueprint("account", __name__)
invite_bp = Blueprint("invite", __name__, url_prefix="/invite")

SECOND_FACTOR_TTL = timedelta(minutes=5)
RESET_TOKEN = "password_reset_token"

PASSWORD_ERRORS = {
    "wrong_current": _l("The current password is not correct."),
    "same_password": _l("Choose a password that differs from the current one."),
    "too_short": _l("A password needs at least %(min)d characters.", min=operations.MIN_PASSWORD_LENGTH),
}
LINK_PROBLEMS = {
    "invalid": (404, _l("This link is not valid"), _l("Check that you opened the complete link from the mail.")),
    "expired": (410, _l("This link has expired"), _l("Ask for a new one.")),
    "used": (410, _l("This link has been used"), _l("A link from this mail works once.")),
    "revoked": (410, _l("This invitation was withdrawn"), _l("A newer mail may hold another link.")),
}


# ---- tokens out of the logs ---------------------------------------------------------------------------

_TOKEN_IN_PATH = re.compile(r"/(password/reset|invite/[a-z0-9-]+)/[A-Za-z0-9_-]{20,}")


class RedactAccountTokens(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        if "/password/reset/" in message or "/invite/" in message:
            record.msg, record.args = _TOKEN_IN_PATH.sub(r"/\1/[token]", message), ()
        return True


@account_bp.record_once
def _redact_logs(state) -> None:
    for logger in (logging.getLogger("werkzeug"), state.app.logger):
        if not any(isinstance(f, RedactAccountTokens) for f in logger.filters):
            logger.addFilter(RedactAccountTokens())


def _link_problem(code: str):
    status, title, message = LINK_PROBLEMS.get(code, LINK_PROBLEMS["invalid"])
    return render_template("accounts/message.html", title=title, message=message), status


# ---- second factor at login ----------------------------------------------------------------------------

def _pending_second_factor() -> tuple[User | None, dict]:
    pending = session.get(sessions.SECOND_FACTOR) or {}
    try:
        user = db.session.get(User, uuid.UUID(pending.get("user", "")))
    except ValueError:
        return None, {}
    fresh = int(clock.now().timestamp()) - int(pending.get("at", 0)) <= SECOND_FACTOR_TTL.total_seconds()
    if user is None or not user.active or not fresh or pending.get("epoch") != (user.session_epoch or 0):
        return None, {}
    return user, pending


@account_bp.route("/login/two-factor", methods=["GET", "POST"])
@limiter.limit(login_rate_limit, methods=["POST"], deduct_when=attempt_failed)
def second_factor():
    user, pending = _pending_second_factor()
    if user is None:
        session.pop(sessions.SECOND_FACTOR, None)
        flash(_("Log in again."), "info")
        return redirect(url_for("accounts.login"))
    form = CodeForm()
    failed = False
    if form.validate_on_submit():
        factor = None if operations.is_locked(user) else twofactor.verify_second_factor(user, form.code.data)
        if factor is not None:
            session.pop(sessions.SECOND_FACTOR, None)
            if factor == "recovery":
                operations.audit_in_each_tenant(user, "auth.recovery_code_used", outcome="ok", actor_kind="anonymous",
                                                detail={"left": queries.unused_recovery_codes(user)})
            sessions.finish_login(user, factor)
            return redirect(sessions.next_url(user, pending.get("next")))
        if not operations.is_locked(user):
            operations.note_failure(user)
        operations.audit_in_each_tenant(user, "auth.login", outcome="failed", actor_kind="anonymous",
                                        detail={"step": "second_factor"})
        # The answer is 401 and the commit point would roll back: the counted failure (the lockout)
        # and its audit line must land anyway.
        transaction.persist_now()
        failed = True
    status = 401 if failed else (400 if form.errors else 200)
    return render_template("accounts/second_factor.html", form=form, failed=failed), status


# ---- the user's own account ------------------------------------------------------------------------------

@account_bp.get("/account")
@login_required
def overview():
    return render_template("accounts/account.html", codes_left=queries.unused_recovery_codes(current_user),
                           required=queries.two_factor_required(current_user), form=EmptyForm())


@account_bp.route("/account/password", methods=["GET", "POST"])
@login_required
@limiter.limit(login_rate_limit, methods=["POST"], deduct_when=attempt_failed)
def password():
    form = PasswordChangeForm()
    forced = session.get(sessions.PENDING) == "password"
    if form.validate_on_submit():
        user = current_user._get_current_object()
        try:
            operations.change_password(user, form.current_password.data, form.new_password.data)
        except operations.PasswordError as exc:
            db.session.rollback()
            form.form_errors.append(PASSWORD_ERRORS[exc.code])
            if exc.code == "wrong_current":
                operations.audit_in_each_tenant(user, "auth.password_change", outcome="failed")
                transaction.persist_now()   # a refused attempt stays in the audit trail although the answer is 400
            return render_template("accounts/password.html", form=form, forced=forced), 400
        # Every other session ended with the epoch; this browser goes on with a cookie of the new epoch.
        login_user(user)
        sessions.step_done(user)
        flash(_("Your password was changed. Other sessions were logged out."), "success")
        return redirect(sessions.next_url(user))
    return render_template("accounts/password.html", form=form, forced=forced), 400 if form.errors else 200


@account_bp.route("/account/two-factor", methods=["GET", "POST"])
@login_required
def two_factor():
    """GET shows the state (or a new secret to scan while not yet on); POST starts a new enrolment."""
    user = current_user._get_current_object()
    if user.has_totp:
        return redirect(url_for(".overview"))
    if user.totp_secret_wrapped is None or request.method == "POST":
        twofactor.start_enrolment(user)
    uri = twofactor.provisioning_uri(user)
    return render_template("accounts/two_factor.html", form=CodeForm(), qr_svg=twofactor.qr_svg(uri),
                           manual_key=twofactor.manual_key(user),
                           forced=session.get(sessions.PENDING) == "two_factor")


@account_bp.post("/account/two-factor/confirm")
@login_required
@limiter.limit(login_rate_limit, deduct_when=attempt_failed)
def two_factor_confirm():
    user = current_user._get_current_object()
    form = CodeForm()
    if user.has_totp:
        return redirect(url_for(".overview"))
    codes = twofactor.confirm_enrolment(user, form.code.data or "") if form.validate() else None
    if codes is None:
        db.session.rollback()
        flash(_("This code is not correct. Try the code your app shows now."), "error")
        return redirect(url_for(".two_factor")), 303
    operations.audit_in_each_tenant(user, "auth.two_factor_enable", outcome="ok")
    sessions.step_done(user)
    return render_template("accounts/recovery_codes.html", codes=codes, next_url=sessions.next_url(user))


@account_bp.post("/account/two-factor/recovery-codes")
@login_required
@limiter.limit(login_rate_limit, deduct_when=attempt_failed)
def recovery_codes():
    """New recovery codes (the old ones stop working); needs a current code from the app."""
    user = current_user._get_current_object()
    form = CodeForm()
    if not user.has_totp or not form.validate() or not twofactor.verify_totp(user, form.code.data):
        db.session.rollback()
        flash(_("This code is not correct. Try the code your app shows now."), "error")
        return redirect(url_for(".overview")), 303
    codes = twofactor.new_recovery_codes(user)
    operations.audit_in_each_tenant(user, "auth.recovery_codes_renew", outcome="ok")
    return render_template("accounts/recovery_codes.html", codes=codes, next_url=url_for(".overview"))


@account_bp.post("/account/two-factor/disable")
@login_required
@limiter.limit(login_rate_limit, deduct_when=attempt_failed)
def two_factor_disable():
    """Turn two-factor login off: only where no tenant requires it, and with a current code."""
    user = current_user._get_current_object()
    form = CodeForm()
    if queries.two_factor_required(user):
        flash(_("Your organisation requires two-factor login for your role."), "error")
        return redirect(url_for(".overview")), 303
    if not user.has_totp or not form.validate() or not twofactor.verify_totp(user, form.code.data):
        db.session.rollback()
        flash(_("This code is not correct. Try the code your app shows now."), "error")
        return redirect(url_for(".overview")), 303
    twofactor.disable(user)
    operations.audit_in_each_tenant(user, "auth.two_factor_disable", outcome="ok")
    flash(_("Two-factor login is off."), "success")
    return redirect(url_for(".overview"))


# ---- password reset by mail --------------------------------------------------------------------------------

@account_bp.route("/password/forgot", methods=["GET", "POST"])
@limiter.limit(login_rate_limit, methods=["POST"])
def forgot_password():
    """The answer is the same page whether or not the address has an account."""
    form = PasswordForgotForm()
    if form.validate_on_submit():
        resets.request_reset(form.email.data)
        return render_template("accounts/message.html", title=_("Check your mail"), message=_(
            "If an account exists for this address, we sent it a link to choose a new password. "
            "The link is valid for %(minutes)d minutes.", minutes=int(resets.RESET_TTL.total_seconds() // 60)))
    return render_template("accounts/password_forgot.html", form=form), 400 if form.errors else 200


@account_bp.get("/password/reset/<token>")
def reset_password(token):
    """Opening the link uses nothing up (mail scanners open links): it moves the token into the session."""
    session[RESET_TOKEN] = token[:100]
    return redirect(url_for(".reset_password_form"))


@account_bp.route("/password/reset", methods=["GET", "POST"])
@limiter.limit(login_rate_limit, methods=["POST"], deduct_when=attempt_failed)
def reset_password_form():
    raw = session.get(RESET_TOKEN, "")
    try:
        resets.check(raw)
    except resets.ResetError as exc:
        return _link_problem(exc.code)
    form = PasswordResetForm()
    if form.validate_on_submit():
        try:
            resets.complete_reset(raw, form.new_password.data)
        except resets.ResetError as exc:
            db.session.rollback()
            if exc.code == "too_short":
                form.form_errors.append(PASSWORD_ERRORS["too_short"])
                return render_template("accounts/password_reset.html", form=form), 400
            return _link_problem(exc.code)
        session.pop(RESET_TOKEN, None)
        flash(_("Your password was changed. Log in with it."), "success")
        return redirect(url_for("accounts.login"))
    return render_template("accounts/password_reset.html", form=form), 400 if form.errors else 200


# ---- accepting an invitation ---------------------------------------------------------------------------------

def _open_invitation():
    """(tenant, invitation) of the invitation in this session, or an error response."""
    held = session.get(sessions.INVITATION) or {}
    tenant = db.session.scalar(
        db.select(Tenant).where(Tenant.slug == held.get("tenant", ""), Tenant.active.is_(True))) if held else None
    if tenant is None:
        return None, None, _link_problem("invalid")
    switch_tenant(tenant.id)
    g.tenant = None   # not inside the tenant's pages: no navigation, no tenant headers
    g.audit_actor = ("anonymous", None) if not current_user.is_authenticated else None
    try:
        invitation = invitations.find_open(held.get("token", ""))
    except invitations.InvitationError as exc:
        session.pop(sessions.INVITATION, None)
        return None, None, _link_problem(exc.code)
    return tenant, invitation, None


@invite_bp.get("/<tenant>/<token>", endpoint="open")
def open_link(tenant, token):
    session[sessions.INVITATION] = {"tenant": tenant[:40], "token": token[:100]}
    return redirect(url_for(".accept"))


def _invitation_context(tenant, invitation) -> dict:
    return {"tenant": tenant, "role_label": ROLE_LABELS[invitation.role]}


@invite_bp.route("/accept", methods=["GET", "POST"])
@limiter.limit(login_rate_limit, methods=["POST"], deduct_when=attempt_failed)
def accept():
    tenant, invitation, problem = _open_invitation()
    if problem:
        return problem
    context = _invitation_context(tenant, invitation)
    if current_user.is_authenticated:
        user = current_user._get_current_object()
        if not invitations.is_for(invitation, user):
            return render_template("accounts/message.html", title=_("This invitation is for someone else"),
                                   message=_("Log out and open the link from the mail again.")), 403
        form = EmptyForm()
        if request.method == "POST" and form.validate():
            try:
                invitations.accept(tenant, invitation, user)
            except invitations.InvitationError:
                db.session.rollback()
                session.pop(sessions.INVITATION, None)
                return _link_problem("used")
            session.pop(sessions.INVITATION, None)
            sessions.step_done(user)
            flash(_("Welcome to %(tenant)s.", tenant=tenant.name), "success")
            return redirect(sessions.next_url(user, url_for("dashboard.index", tenant=tenant.slug)))
        return render_template("accounts/invitation_accept.html", form=form, **context)
    if queries.find_user_by_email(invitation.email) is not None:
        # The person has an account: they sign in (with every factor) and come back here.
        return render_template("accounts/invitation_signin.html", **context)
    return _register(tenant, invitation, context)


def _register(tenant, invitation, context):
    form = RegisterForm()
    if request.method == "POST" and form.validate():
        try:
            user = invitations.register_and_accept(tenant, invitation, form.display_name.data,
                                                   form.new_password.data)
        except invitations.InvitationError as exc:
            db.session.rollback()
            if exc.code == "too_short":
                form.form_errors.append(PASSWORD_ERRORS["too_short"])
                return render_template("accounts/invitation_register.html", form=form, **context), 400
            return redirect(url_for(".accept"))
        session.pop(sessions.INVITATION, None)
        # Out of the invitation's tenant within this transaction (the login writes in each of the user's
        # tenants); the commit point commits the new account and the login together. The rows written in
        # the invitation's tenant are flushed while it is still the tenant (RLS checks them against it).
        db.session.flush()
        tenancy.set_tenant(None)
        g.audit_actor = None   # from here on the new user acts
        sessions.finish_login(user)
        flash(_("Welcome to %(tenant)s.", tenant=tenant.name), "success")
        return redirect(sessions.next_url(user, url_for("dashboard.index", tenant=tenant.slug)))
    status = 400 if request.method == "POST" else 200
    return render_template("accounts/invitation_register.html", form=form, **context), status

