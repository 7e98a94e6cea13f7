"""Password reset by mail: a random token (only its SHA-256 stored), valid for RESET_TTL, used once.
The request answers the same whether or not the address has an account. Callers commit."""
from __future__ import annotations

import secrets
from datetime import timedelta

import sqlalchemy as sa
from flask import current_app
from flask_babel import force_locale
from flask_babel import gettext as _

from saas.api import tokens
from saas.core import clock
from saas.core.tenancy import tenant_context
from saas.core.web import external_url
from saas.extensions import db
from saas.modules.accounts import operations, queries
from saas.modules.accounts.models import PasswordReset, User
from saas.modules.outbox import operations as outbox
from saas.modules.tenants.models import Tenant

RESET_TTL = timedelta(minutes=30)
# One mail per account per this interval at most: the public form cannot be used to flood a mailbox.
RESET_INTERVAL = timedelta(minutes=2)
TEMPLATE = "accounts.password_reset"


class ResetError(operations.AccountError):
    """A reset link that cannot be used, or a refused new password: the code says why."""


def request_reset(email: str) -> None:
    """Mail a reset link when the address belongs to an active account that is a member somewhere.

    Mail leaves through a tenant's outbox (outbox mails belong to a tenant): the first tenant of the user.
    A user without any tenant gets no mail (such accounts are made on the command line, which can set a
    password). Nothing about the outcome reaches the caller."""
    user = queries.find_user_by_email(email)
    if user is None or not user.active:
        return
    tenant_ids = queries.tenant_ids_of(user)
    if not tenant_ids or _recently_sent(user):
        return
    raw = secrets.token_urlsafe(32)
    db.session.add(PasswordReset(user_id=user.id, token_hash=operations.token_hash(raw), expires_at=clock.now() + RESET_TTL))
    db.session.flush()
    _send(user, raw, tenant_ids[0])
    operations.audit_in_each_tenant(user, "auth.reset_request", outcome="ok", actor_kind="anonymous")


def _recently_sent(user: User) -> bool:
    since = clock.now() - RESET_INTERVAL
    return db.session.scalar(sa.select(sa.func.count()).select_from(PasswordReset).where(
        PasswordReset.user_id == user.id, PasswordReset.created_at > since)) > 0


def _send(user: User, raw: str, tenant_id: int) -> None:
    tenant = db.session.get(Tenant, tenant_id)
    with tenant_context(tenant_id):
        with force_locale(user.locale or tenant.locale or "nl"):
            subject_line = _("Set a new password")
            body = current_app.jinja_env.get_template("accounts/mail/password_reset.txt").render(
                link=external_url("accounts.account.reset_password", token=raw),
                minutes=int(RESET_TTL.total_seconds() // 60))
        outbox.queue_mail(user.email, subject_line, body, template=TEMPLATE)
        db.session.flush()   # inside the tenant: the mail row is stamped and checked against it


def check(raw: str) -> PasswordReset:
    """The reset of this token if it can still be used; ResetError('invalid'|'expired'|'used') otherwise."""
    reset = queries.password_reset_by_hash(operations.token_hash(raw or ""))
    if reset is None:
        raise ResetError("invalid")
    if reset.used_at is not None:
        raise ResetError("used")
    if operations.aware(reset.expires_at) <= clock.now():
        raise ResetError("expired")
    return reset


def complete_reset(raw: str, new_password: str) -> User:
    """Set the new password and use the token up (once, also under concurrent requests). Every session of
    the user ends, every API token is revoked and the lockout is lifted: the mailbox proved who this is.
    Two-factor login stays."""
    reset = check(raw)
    user = db.session.get(User, reset.user_id)
    if user is None or not user.active:
        raise ResetError("invalid")
    try:
        operations.set_password(user, new_password)
    except ValueError:
        raise ResetError("too_short") from None
    spent = db.session.execute(
        sa.update(PasswordReset).where(PasswordReset.id == reset.id, PasswordReset.used_at.is_(None))
        .values(used_at=clock.now()).execution_options(synchronize_session=False))
    if spent.rowcount != 1:
        raise ResetError("used")
    # Other links of this user stop working too.
    db.session.execute(
        sa.update(PasswordReset).where(PasswordReset.user_id == user.id, PasswordReset.used_at.is_(None))
        .values(used_at=clock.now()).execution_options(synchronize_session=False))
    user.must_change_password = False
    user.failed_logins, user.locked_until = 0, None
    operations.end_sessions(user)
    _revoke_api_tokens(user)
    operations.audit_in_each_tenant(user, "auth.reset", outcome="ok", actor_kind="anonymous")
    return user


def _revoke_api_tokens(user: User) -> None:
    """A reset means the password may have been known to someone else, who may have made API tokens
    with it: every token of the user, in each of the user's tenants (tokens belong to a tenant), stops."""
    for tenant_id in queries.tenant_ids_of(user):
        with tenant_context(tenant_id):
            tokens.revoke_all_of(user.id, why="password_reset")
            db.session.flush()   # inside the tenant: the audit rows are stamped and checked against it
