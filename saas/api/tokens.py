"""Personal API tokens: made, found and revoked. Callers commit.

A token reads `saas_` + 40 URL-safe characters: 30 bytes, 26 random and then the tenant id (4 bytes).
The tenant id inside lets a request find the token within its tenant: the token table is tenant data,
hidden by row-level security until the tenant is known. Only the SHA-256 of a token is stored.
"""
from __future__ import annotations

import base64
import binascii
import hashlib
import re
import secrets
from datetime import datetime, timedelta, timezone

import sqlalchemy as sa

from saas.core import clock
from saas.core.tenancy import require_tenant_id
from saas.extensions import db
from saas.modules.accounts.models import ApiToken, Membership, User
from saas.modules.audit import operations as audit

SCHEME = "saas_"
PREFIX_LEN = 12
DEFAULT_DAYS = 90
MAX_DAYS = 366
_RANDOM_BYTES = 26
_SHAPE = re.compile(r"^saas_[A-Za-z0-9_-]{40}$")


class TokenError(ValueError):
    """A token request that breaks a rule (not a member, bad lifetime, unknown prefix)."""


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def display_prefix(token: str) -> str:
    return token[:PREFIX_LEN]


def _new_token(tenant_id: int) -> str:
    raw = secrets.token_bytes(_RANDOM_BYTES) + tenant_id.to_bytes(4, "big")
    return SCHEME + base64.urlsafe_b64encode(raw).decode()


def tenant_id_of(token: str) -> int | None:
    """The tenant a well-formed token names, or None for anything else."""
    if not _SHAPE.match(token):
        return None
    try:
        raw = base64.urlsafe_b64decode(token[len(SCHEME):])
    except (binascii.Error, ValueError):
        return None
    tenant_id = int.from_bytes(raw[-4:], "big")
    # A forged id beyond PostgreSQL's integer would make the tenant look-up fail with a 500, not a 401.
    return tenant_id if 0 < tenant_id < 2**31 else None


def create(user: User, name: str, days: int = DEFAULT_DAYS) -> tuple[ApiToken, str]:
    """A token for a member of the current tenant. Returns (row, token); the token is not kept."""
    tenant_id = require_tenant_id()
    if not 1 <= days <= MAX_DAYS:
        raise TokenError(f"a token lives between 1 and {MAX_DAYS} days")
    if db.session.scalar(sa.select(Membership.id).where(Membership.user_id == user.id)) is None:
        raise TokenError("the user is not a member of this tenant")
    token = _new_token(tenant_id)
    while find_by_prefix(display_prefix(token)) is not None:  # 42 random bits: a clash is rare, not impossible
        token = _new_token(tenant_id)
    row = ApiToken(user_id=user.id, name=name.strip()[:80] or "api", prefix=display_prefix(token),
                   token_hash=token_hash(token), expires_at=clock.now() + timedelta(days=days))
    db.session.add(row)
    db.session.flush()
    audit.record("api_token.create", "api_token", row.id, detail={"user_id": str(user.id), "days": days})
    return row, token


def revoke(prefix: str) -> ApiToken:
    row = find_by_prefix(prefix)
    if row is None:
        raise TokenError(f"no token with prefix {prefix!r} in this tenant")
    if row.revoked_at is None:
        row.revoked_at = clock.now()
        audit.record("api_token.revoke", "api_token", row.id, detail={"user_id": str(row.user_id)})
    return row


def revoke_all_of(user_id, why: str = "left") -> int:
    """Every live token of a user in this tenant (the user left it, or reset the password): a later
    return needs new tokens. `why` is a fixed code for the audit line."""
    rows = db.session.scalars(sa.select(ApiToken).where(
        ApiToken.user_id == user_id, ApiToken.revoked_at.is_(None))).all()
    for row in rows:
        row.revoked_at = clock.now()
        audit.record("api_token.revoke", "api_token", row.id, detail={"user_id": str(row.user_id), "why": why})
    return len(rows)


def find_by_hash(token: str) -> ApiToken | None:
    return db.session.scalar(sa.select(ApiToken).where(ApiToken.token_hash == token_hash(token)))


def find_by_prefix(prefix: str) -> ApiToken | None:
    return db.session.scalar(sa.select(ApiToken).where(ApiToken.prefix == prefix))


def list_tokens() -> list[ApiToken]:
    return list(db.session.scalars(sa.select(ApiToken).order_by(ApiToken.created_at)))


def unusable_reason(row: ApiToken) -> str | None:
    """Why a stored token may not be used now, or None when it may."""
    if row.revoked_at is not None:
        return "revoked"
    if row.expires_at is not None and _aware(row.expires_at) <= clock.now():
        return "expired"
    return None


def _aware(moment: datetime) -> datetime:
    """SQLite gives stored times back without a zone; they were stored as UTC."""
    return moment if moment.tzinfo else moment.replace(tzinfo=timezone.utc)
