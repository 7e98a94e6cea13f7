"""Writes for accounts: users, passwords (argon2id) and memberships. Callers commit."""
from __future__ import annotations

import hashlib

import secrets
import uuid
from datetime import datetime, timedelta, timezone

import sqlalchemy as sa
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from flask import current_app
from flask_babel import lazy_gettext as _l

from saas.api import tokens
from saas.core import clock
from saas.core.crypto.fields import normalise_email
from saas.core.errors import DomainError
from saas.core.tenancy import require_tenant_id, tenant_context
from saas.extensions import db
from saas.modules.accounts import queries
from saas.modules.accounts.models import ROLES, Membership, User
from saas.modules.audit import operations as audit
from saas.modules.clients.models import ClientOrganisation

MIN_PASSWORD_LENGTH = 12
# Lockout per account: after LOCK_AFTER failures in a row the account waits LOCK_BASE, doubling with every
# further failure up to LOCK_MAX. A right password during the wait is refused like a wrong one.
LOCK_AFTER = 5
LOCK_BASE = timedelta(minutes=1)
LOCK_MAX = timedelta(hours=1)


class AccountError(DomainError):
    """A refused account step named by a code: `reason` (also `code`). `MESSAGES` says it to people where a
    subclass has texts; otherwise the views hold the texts (and statuses) per code."""

    MESSAGES: dict = {}

    def __init__(self, code: str):
        super().__init__(self.MESSAGES.get(code, code), reason=code)

    @property
    def code(self) -> str:
        return self.reason


def token_hash(raw: str) -> str:
    """How a mailed link's token is stored (invitations, password resets): its SHA-256, never the token."""
    return hashlib.sha256(raw.encode()).hexdigest()


class MembershipError(AccountError):
    """A membership change that would break a rule (the code itself where no person meets it in a form)."""

    MESSAGES = {
        "already_member": _l("This person is already a member of this organisation."),
        "client_org_required": _l("A client user needs one of this organisation's client organisations."),
        "last_admin": _l("An organisation needs at least one administrator."),
        "unknown_role": _l("Choose one of the roles."),
    }


# ---- passwords -------------------------------------------------------------------------------

def hasher() -> PasswordHasher:
    """argon2id with the cost from the settings (tests use a cheap one, production the default)."""
    settings = current_app.extensions["saas.settings"]
    key = ("saas.argon2", settings.argon2_time_cost, settings.argon2_memory_cost)
    cached = current_app.extensions.get("saas.argon2")
    if cached is None or cached[0] != key:
        ph = PasswordHasher(time_cost=settings.argon2_time_cost, memory_cost=settings.argon2_memory_cost)
        # A hash of nothing in particular: unknown emails are verified against it so they take as long.
        cached = (key, ph, ph.hash(secrets.token_urlsafe(16)))
        current_app.extensions["saas.argon2"] = cached
    return cached[1]


def _decoy_hash() -> str:
    hasher()
    return current_app.extensions["saas.argon2"][2]


def set_password(user: User, password: str) -> None:
    if len(password) < MIN_PASSWORD_LENGTH:
        raise ValueError(f"a password needs at least {MIN_PASSWORD_LENGTH} characters")
    user.password_hash = hasher().hash(password)


def generate_password() -> str:
    """A one-time initial password, shown once to the admin who creates the account."""
    return secrets.token_urlsafe(12)


def check_password(user: User, password: str) -> bool:
    """Verify, and upgrade the stored hash when the cost settings changed since it was made."""
    ph = hasher()
    try:
        ph.verify(user.password_hash, password)
    except (VerificationError, InvalidHashError):
        return False
    if ph.check_needs_rehash(user.password_hash):
        user.password_hash = ph.hash(password)
    return True


class PasswordError(AccountError):
    """A password change that is refused; the code names why (the view has the texts)."""


def _decoy_verify(password: str) -> None:
    try:
        hasher().verify(_decoy_hash(), password + "\0")
    except VerificationError:
        pass


def aware(moment: datetime | None) -> datetime | None:
    """SQLite hands stored times back without a zone; they are UTC."""
    if moment is None or moment.tzinfo is not None:
        return moment
    return moment.replace(tzinfo=timezone.utc)


def is_locked(user: User) -> bool:
    return user.locked_until is not None and aware(user.locked_until) > clock.now()


def note_failure(user: User) -> None:
    """One more failed attempt (password or second factor) for this account; locks it with back-off."""
    user.failed_logins = (user.failed_logins or 0) + 1
    beyond = user.failed_logins - LOCK_AFTER
    if beyond >= 0:
        wait = min(LOCK_BASE * (2 ** min(beyond, 16)), LOCK_MAX)
        user.locked_until = clock.now() + wait


def note_success(user: User) -> None:
    user.failed_logins, user.locked_until = 0, None
    user.last_login_at = clock.now()


def authenticate(email: str, password: str) -> tuple[User | None, User | None]:
    """Returns (user whose password is right, existing user whose attempt failed). An unknown email and
    a locked account cost the same time as a wrong password, so response times reveal neither.
    The caller records success with `note_success` once every factor is checked."""
    user = queries.find_user_by_email(email)
    if user is None:
        _decoy_verify(password)
        return None, None
    if is_locked(user):
        _decoy_verify(password)
        return None, user
    if not check_password(user, password) or not user.active:
        note_failure(user)
        return None, user
    return user, None


def end_sessions(user: User) -> None:
    """Every session cookie issued to this user so far stops working (the epoch is in the cookie)."""
    user.session_epoch = (user.session_epoch or 0) + 1


def change_password(user: User, current: str, new: str) -> None:
    """The user's own change: the current password is required; other sessions end."""
    if not check_password(user, current):
        raise PasswordError("wrong_current")
    if new == current:
        raise PasswordError("same_password")
    try:
        set_password(user, new)
    except ValueError:
        raise PasswordError("too_short") from None
    user.must_change_password = False
    end_sessions(user)
    audit_in_each_tenant(user, "auth.password_change", outcome="ok")


# ---- users -------------------------------------------------------------------------------------

def create_user(email: str, display_name: str, password: str, *, locale: str | None = None,
                is_operator: bool = False, must_change_password: bool = False) -> User:
    email = normalise_email(email)
    if queries.find_user_by_email(email) is not None:
        raise MembershipError("email_taken")
    user = User(email=email, display_name=display_name.strip(), locale=locale, is_operator=is_operator,
                active=True, must_change_password=must_change_password, session_epoch=0, failed_logins=0)
    set_password(user, password)
    db.session.add(user)
    db.session.flush()
    return user


def deactivate(user: User) -> None:
    """Block the login everywhere; memberships stay so the audit trail keeps its meaning."""
    user.active = False
    audit_in_each_tenant(user, "user.deactivate", outcome="ok")


def audit_in_each_tenant(user: User, action: str, *, outcome: str, actor_kind: str | None = None,
                         detail: dict | None = None) -> None:
    """Users are platform-wide but audit logs are per tenant: write one line in each of the user's tenants.
    `detail` holds ids and codes only, never personal data."""
    for tenant_id in queries.tenant_ids_of(user):
        with tenant_context(tenant_id):
            audit.record(action, "user", user.id, outcome=outcome, actor_kind=actor_kind, detail=detail)
            # Flush inside the tenant: the rows are stamped and checked against the current tenant.
            db.session.flush()


# ---- memberships ---------------------------------------------------------------------------------

def _check_role(role: str, client_org_id) -> uuid.UUID | None:
    if role not in ROLES:
        raise MembershipError("unknown_role")
    if role != "client":
        return None
    if not client_org_id:
        raise MembershipError("client_org_required")
    try:
        org_id = uuid.UUID(str(client_org_id))
    except ValueError:
        raise MembershipError("client_org_required") from None
    # The ORM limits the lookup to the current tenant: another tenant's organisation is not found.
    if db.session.get(ClientOrganisation, org_id) is None:
        raise MembershipError("client_org_required")
    return org_id


def add_membership(tenant, user: User, role: str, client_org_id=None) -> Membership:
    if tenant.id != require_tenant_id():
        raise MembershipError("wrong_tenant")
    org_id = _check_role(role, client_org_id)
    if queries.membership_of(user) is not None:
        raise MembershipError("already_member")
    membership = Membership(user_id=user.id, role=role, client_org_id=org_id)
    db.session.add(membership)
    db.session.flush()
    audit.record("membership.create", "membership", membership.id,
                 detail={"user_id": str(user.id), "role": role})
    return membership


def _is_last_admin(membership: Membership) -> bool:
    if membership.role != "admin":
        return False
    admins = db.session.scalar(sa.select(sa.func.count()).select_from(Membership).where(Membership.role == "admin"))
    return admins <= 1


def change_role(membership: Membership, role: str, client_org_id=None) -> None:
    org_id = _check_role(role, client_org_id)
    if role != "admin" and _is_last_admin(membership):
        raise MembershipError("last_admin")
    old_role = membership.role
    membership.role, membership.client_org_id = role, org_id
    db.session.flush()
    audit.record("membership.change_role", "membership", membership.id,
                 detail={"user_id": str(membership.user_id), "from": old_role, "to": role})


def remove_membership(membership: Membership) -> None:
    if _is_last_admin(membership):
        raise MembershipError("last_admin")
    audit.record("membership.remove", "membership", membership.id,
                 detail={"user_id": str(membership.user_id), "role": membership.role})
    tokens.revoke_all_of(membership.user_id)
    db.session.delete(membership)
    db.session.flush()
