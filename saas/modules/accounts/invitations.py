"""Members by invitation. An admin invites an address; the person becomes a member only by accepting
through the mailed link. The admin's answer is the same whether or not the address has an account
anywhere, and nothing of another tenant is read for it. Callers commit.

The token is random (only its SHA-256 is stored), expires after INVITATION_TTL and works once.
"""
from __future__ import annotations

import secrets
from datetime import timedelta

import sqlalchemy as sa
from flask import current_app
from flask_babel import force_locale
from flask_babel import gettext as _

from saas.core import clock
from saas.core.crypto.fields import normalise_email
from saas.core.tenancy import require_tenant_id
from saas.core.web import external_url
from saas.extensions import db
from saas.modules.accounts import operations, queries
from saas.modules.accounts.models import Invitation, Membership, User
from saas.modules.audit import operations as audit
from saas.modules.outbox import operations as outbox

INVITATION_TTL = timedelta(days=7)
TEMPLATE = "accounts.invitation"


class InvitationError(operations.AccountError):
    """An invitation that cannot be used or accepted: the code says why ('invalid', 'expired', 'used',
    'revoked', a membership rule...); the views have the texts and the status (404/410) per code."""


def _already_member(email: str) -> bool:
    """Only this tenant's memberships are looked at (the admin sees those in the member list anyway)."""
    user = queries.find_user_by_email(email)
    return user is not None and queries.membership_of(user) is not None


def invite(tenant, email: str, role: str, client_org_id, invited_by) -> Invitation:
    """Store an invitation and mail its link. A pending invitation to the same address is replaced."""
    if tenant.id != require_tenant_id():
        raise operations.MembershipError("wrong_tenant")
    org_id = operations._check_role(role, client_org_id)
    email = normalise_email(email)
    if _already_member(email):
        raise operations.MembershipError("already_member")
    now = clock.now()
    for old in queries.pending_invitations_for(email):
        old.revoked_at = now
        audit.record("invitation.revoke", "invitation", old.id, detail={"reason": "replaced"})
    raw = secrets.token_urlsafe(32)
    invitation = Invitation(role=role, client_org_id=org_id, token_hash=operations.token_hash(raw),
                            expires_at=now + INVITATION_TTL, invited_by=invited_by)
    invitation.email = email
    db.session.add(invitation)
    db.session.flush()
    _send(tenant, invitation, raw)
    audit.record("invitation.send", "invitation", invitation.id, detail={"role": role})
    return invitation


def _send(tenant, invitation: Invitation, raw: str) -> None:
    from saas.modules.accounts.forms import ROLE_LABELS

    with force_locale(tenant.locale or "nl"):
        subject_line = _("Invitation to %(tenant)s", tenant=tenant.name)
        body = current_app.jinja_env.get_template("accounts/mail/invitation.txt").render(
            tenant=tenant, role_label=str(ROLE_LABELS[invitation.role]), expires_at=invitation.expires_at,
            link=external_url("accounts.invite.open", tenant=tenant.slug, token=raw))
    outbox.queue_mail(invitation.email, subject_line, body, template=TEMPLATE)


def find_open(raw: str) -> Invitation:
    """The current tenant's invitation of this token if it can still be accepted, else InvitationError
    ('invalid' | 'expired' | 'used' | 'revoked')."""
    invitation = queries.invitation_by_hash(operations.token_hash(raw or ""))
    if invitation is None:
        raise InvitationError("invalid")
    if invitation.revoked_at is not None:
        raise InvitationError("revoked")
    if invitation.accepted_at is not None:
        raise InvitationError("used")
    if operations.aware(invitation.expires_at) <= clock.now():
        raise InvitationError("expired")
    return invitation


def is_for(invitation: Invitation, user: User) -> bool:
    return normalise_email(user.email) == invitation.email


def accept(tenant, invitation: Invitation, user: User) -> Membership:
    """Make the user a member with the invited role; the invitation is used up (once, also when two
    requests race: the conditional update lets one of them through)."""
    if not is_for(invitation, user):
        raise InvitationError("other_account")
    taken = db.session.execute(
        sa.update(Invitation)
        .where(Invitation.id == invitation.id, Invitation.accepted_at.is_(None), Invitation.revoked_at.is_(None))
        .values(accepted_at=clock.now(), accepted_by=user.id)
        .execution_options(synchronize_session=False))
    if taken.rowcount != 1:
        raise InvitationError("used")
    try:
        membership = operations.add_membership(tenant, user, invitation.role, invitation.client_org_id)
    except operations.MembershipError as exc:
        raise InvitationError(exc.code) from None
    audit.record("invitation.accept", "invitation", invitation.id,
                 detail={"user_id": str(user.id), "membership_id": str(membership.id)})
    return membership


def register_and_accept(tenant, invitation: Invitation, display_name: str, password: str) -> User:
    """The invited address has no account yet: create it with the password the person chose."""
    if queries.find_user_by_email(invitation.email) is not None:
        raise InvitationError("has_account")
    try:
        user = operations.create_user(invitation.email, display_name, password, locale=tenant.locale)
    except operations.MembershipError:
        raise InvitationError("has_account") from None
    except ValueError:
        raise InvitationError("too_short") from None
    accept(tenant, invitation, user)
    return user


def revoke(invitation: Invitation) -> None:
    if not invitation.pending:
        raise InvitationError("not_pending")
    invitation.revoked_at = clock.now()
    audit.record("invitation.revoke", "invitation", invitation.id)
