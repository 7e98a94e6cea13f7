"""The portal session of a user: starting it after every factor is checked, the steps that must come
first (a password to change, two-factor login to set up), and where to go afterwards."""
from __future__ import annotations

from flask import session, url_for
from flask_login import login_user

from saas.core.web import safe_redirect_target
from saas.modules.accounts import operations, queries

PENDING = "account_pending"            # "password" or "two_factor": the one page the user may use now
SECOND_FACTOR = "second_factor"        # password checked, waiting for the TOTP or recovery code
INVITATION = "invitation"              # {"tenant": slug, "token": raw} of the invitation being accepted
NEXT = "after_account_steps"
_CARRIED = ("locale", INVITATION)
PENDING_ENDPOINTS = {"password": "accounts.account.password", "two_factor": "accounts.account.two_factor"}


def landing_url(user) -> str:
    tenants = queries.tenants_of(user)
    if len(tenants) == 1:
        return url_for("dashboard.index", tenant=tenants[0].slug)
    return url_for("accounts.home")


def start_session(user) -> None:
    """A fresh session (nothing carried over but the language and an invitation being accepted)."""
    carried = {key: session[key] for key in _CARRIED if key in session}
    session.clear()
    session.update(carried)
    if "locale" not in session and user.locale:
        session["locale"] = user.locale
    login_user(user)


def required_step(user) -> str | None:
    if user.must_change_password:
        return "password"
    if not user.has_totp and queries.two_factor_required(user):
        return "two_factor"
    return None


def finish_login(user, factor: str | None = None) -> None:
    """Every factor is checked: the account's failures are forgiven and the session starts."""
    operations.note_success(user)
    start_session(user)
    step = required_step(user)
    if step:
        session[PENDING] = step
    operations.audit_in_each_tenant(user, "auth.login", outcome="ok", detail={"factor": factor} if factor else None)


def next_url(user, target: str | None = None) -> str:
    """Where to go now: a required step first, then an invitation being accepted, then `target`."""
    step = session.get(PENDING)
    if step:
        if target and NEXT not in session:
            session[NEXT] = target
        return url_for(PENDING_ENDPOINTS[step])
    if INVITATION in session:
        return url_for("accounts.invite.accept")
    target = target or session.pop(NEXT, None)
    return safe_redirect_target(target) or landing_url(user)


def step_done(user) -> None:
    """The pending step is done: the next one (if any) becomes pending."""
    step = required_step(user)
    if step:
        session[PENDING] = step
    else:
        session.pop(PENDING, None)
