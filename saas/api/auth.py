"""Bearer-token authentication for everything under /api/v1/<tenant>/.

The API never looks at the session cookie: a request is the token's user in the token's tenant, or
it is refused. That is why CSRF does not apply here (a foreign page cannot set the Authorization header).
Refusals answer JSON: 401 for a missing, unknown, expired or revoked token; 404 when the URL names
another tenant than the token's (never revealing whether that tenant exists).
"""
from __future__ import annotations

import sqlalchemy as sa
from flask import g, request
from flask_smorest import abort

from saas.api import tokens
from saas.core import clock
from saas.core.web import switch_tenant
from saas.extensions import db
from saas.modules.accounts.models import ApiToken, Membership, User
from saas.modules.audit import operations as audit
from saas.modules.tenants.models import Tenant

SCHEME_NAME = "bearerAuth"
SECURITY_SCHEME = {"type": "http", "scheme": "bearer", "description": "A personal API token: `saas tokens create`."}


def _unauthorised(message: str):
    abort(401, message=message, headers={"WWW-Authenticate": 'Bearer realm="api", error="invalid_token"'})


def _bearer_token() -> str:
    scheme, _, token = request.headers.get("Authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        _unauthorised("send a personal API token as 'Authorization: Bearer <token>'")
    return token.strip()


def _deny(row: ApiToken, action: str, reason: str, user_id=None) -> None:
    """Write the refusal in the token's tenant, on its own: nothing else of this request is kept."""
    audit.record_refusal(action, "api_token", row.id, detail={"reason": reason, "prefix": row.prefix},
                         actor_kind="api", actor_id=str(user_id) if user_id else None)


def _token_row(token: str) -> ApiToken:
    """Find the token in the tenant it names; a forged secret for a known prefix is audited there."""
    tenant_id = tokens.tenant_id_of(token)
    tenant = db.session.get(Tenant, tenant_id) if tenant_id is not None else None
    if tenant is None or not tenant.active:
        _unauthorised("unknown token")
    switch_tenant(tenant.id)
    g.api_tenant = tenant
    row = tokens.find_by_hash(token)
    if row is None:
        known = tokens.find_by_prefix(tokens.display_prefix(token))
        if known is not None:
            _deny(known, "api.authenticate", "wrong_secret")
        _unauthorised("unknown token")
    reason = tokens.unusable_reason(row)
    if reason is not None:
        _deny(row, "api.authenticate", reason, row.user_id)
        _unauthorised(f"this token was {reason}" if reason == "revoked" else "this token has expired")
    return row


def _member(row: ApiToken) -> Membership:
    user = db.session.get(User, row.user_id)
    membership = db.session.scalar(sa.select(Membership).where(Membership.user_id == row.user_id))
    if user is None or not user.active or membership is None:
        _deny(row, "api.authenticate", "not_a_member", row.user_id)
        _unauthorised("the token's user no longer has access to this tenant")
    return membership


def authenticate() -> None:
    """`before_request` of every API blueprint: sets g.tenant, g.membership, g.api_token."""
    token = _bearer_token()
    row = _token_row(token)
    membership = _member(row)
    tenant = g.pop("api_tenant")
    if g.tenant_slug != tenant.slug:
        _deny(row, "api.tenant_mismatch", "url_names_another_tenant", row.user_id)
        abort(404, message="not found")
    row.last_used_at = clock.now()
    g.tenant, g.membership, g.api_token = tenant, membership, row
    g.audit_actor = ("api", str(row.user_id))
