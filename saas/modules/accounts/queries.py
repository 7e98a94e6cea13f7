"""Reads for accounts: users (platform-wide) and memberships (per tenant)."""
from __future__ import annotations

import uuid
from dataclasses import dataclass

import sqlalchemy as sa

from saas.core.crypto.fields import normalise_email
from saas.core.tenancy import tenant_context
from saas.extensions import db
from saas.modules.accounts.models import Invitation, Membership, PasswordReset, RecoveryCode, User
from saas.modules.clients.models import ClientOrganisation
from saas.modules.tenants.models import Tenant


def find_user_by_email(email: str) -> User | None:
    return db.session.scalar(sa.select(User).where(User.email == normalise_email(email)))


def load_user(user_id: str) -> User | None:
    """For the login manager: only active users keep a session."""
    try:
        key = uuid.UUID(user_id)
    except (ValueError, TypeError):
        return None
    user = db.session.get(User, key)
    return user if user is not None and user.active else None


def membership_of(user: User) -> Membership | None:
    """The user's membership in the current tenant (the ORM adds the tenant)."""
    return db.session.scalar(sa.select(Membership).where(Membership.user_id == user.id))


def tenant_ids_of(user: User) -> list[int]:
    """The tenants a user belongs to. Row-level security hides memberships of other tenants, so each
    active tenant is asked in its own context: one small indexed query per tenant."""
    tenant_ids = db.session.scalars(sa.select(Tenant.id).where(Tenant.active.is_(True)).order_by(Tenant.id)).all()
    found = []
    for tenant_id in tenant_ids:
        with tenant_context(tenant_id):
            if db.session.scalar(sa.select(Membership.id).where(Membership.user_id == user.id)) is not None:
                found.append(tenant_id)
    return found


def roles_by_tenant(user: User) -> list[tuple[Tenant, str]]:
    """(tenant, role) of each active tenant the user belongs to, one small query per tenant (as above)."""
    tenants = db.session.scalars(sa.select(Tenant).where(Tenant.active.is_(True)).order_by(Tenant.id)).all()
    found = []
    for tenant in tenants:
        with tenant_context(tenant.id):
            role = db.session.scalar(sa.select(Membership.role).where(Membership.user_id == user.id))
        if role is not None:
            found.append((tenant, role))
    return found


def two_factor_required(user: User) -> bool:
    """Does any tenant of this user require a second factor for the user's role there?"""
    return any(role in (tenant.two_factor_roles or []) for tenant, role in roles_by_tenant(user))


def tenants_of(user: User) -> list[Tenant]:
    ids = tenant_ids_of(user)
    if not ids:
        return []
    return list(db.session.scalars(sa.select(Tenant).where(Tenant.id.in_(ids)).order_by(Tenant.name)))


@dataclass(frozen=True)
class MemberRow:
    membership: Membership
    user: User
    client_org_name: str | None


def members() -> list[MemberRow]:
    """Members of the current tenant with their client organisation's name, sorted by name."""
    rows = db.session.execute(
        sa.select(Membership, ClientOrganisation.name)
        .outerjoin(ClientOrganisation, ClientOrganisation.id == Membership.client_org_id)
    ).all()
    found = [MemberRow(m, m.user, org_name) for m, org_name in rows]
    return sorted(found, key=lambda row: (row.user.display_name.casefold(), row.user.email))


def member_counts_by_role() -> dict[str, int]:
    rows = db.session.execute(sa.select(Membership.role, sa.func.count()).group_by(Membership.role))
    return {role: count for role, count in rows}


def client_organisations() -> list[ClientOrganisation]:
    return list(db.session.scalars(
        sa.select(ClientOrganisation).where(ClientOrganisation.active.is_(True)).order_by(ClientOrganisation.name)
    ))


def client_organisation_name(org_id) -> str | None:
    if org_id is None:
        return None
    org = db.session.get(ClientOrganisation, org_id)
    return org.name if org is not None else None


# ---- second factor, resets and invitations -------------------------------------------------------------

def unused_recovery_codes(user: User) -> int:
    return db.session.scalar(sa.select(sa.func.count()).select_from(RecoveryCode)
                             .where(RecoveryCode.user_id == user.id, RecoveryCode.used_at.is_(None)))


def password_reset_by_hash(token_hash: str) -> PasswordReset | None:
    return db.session.scalar(sa.select(PasswordReset).where(PasswordReset.token_hash == token_hash))


def invitation_by_hash(token_hash: str) -> Invitation | None:
    """An invitation of the current tenant (the ORM adds the tenant) by its token's hash."""
    return db.session.scalar(sa.select(Invitation).where(Invitation.token_hash == token_hash))


def pending_invitations() -> list[Invitation]:
    rows = db.session.scalars(sa.select(Invitation).where(
        Invitation.accepted_at.is_(None), Invitation.revoked_at.is_(None)).order_by(Invitation.created_at))
    return list(rows)


def pending_invitations_for(email: str) -> list[Invitation]:
    """Pending invitations of the current tenant to this address (found through its blind index)."""
    from saas.core.crypto.keyring import keyring
    from saas.core.tenancy import require_tenant_id

    bidx = keyring().blind_index(require_tenant_id(), "email", normalise_email(email))
    return [inv for inv in db.session.scalars(sa.select(Invitation).where(
        Invitation.email_bidx == bidx,
        Invitation.accepted_at.is_(None), Invitation.revoked_at.is_(None)))]
