"""GET /api/v1/<tenant>/me: the token's user, role and tenant."""
from __future__ import annotations

from flask import g

from saas.api import api_blueprint
from saas.api.schemas import MeOut
from saas.extensions import db
from saas import access
from saas.modules.accounts.models import User

blp = api_blueprint("me_api", __name__, "/me", description="The caller: user, role and tenant of the token")


@blp.route("")
@access.requires("view", "account")
@blp.response(200, MeOut)
def me():
    membership = g.membership
    return {
        "user": db.session.get(User, membership.user_id),
        "role": membership.role,
        "client_org_id": membership.client_org_id,
        "tenant": g.tenant,
        "token": g.api_token,
    }
