"""Reads of the current member's own API tokens (the token itself is never stored, only its hash)."""
from __future__ import annotations

import uuid

import sqlalchemy as sa

from saas.extensions import db
from saas.modules.accounts.models import ApiToken


def own_tokens(user_id) -> list[ApiToken]:
    return list(db.session.scalars(sa.select(ApiToken).where(ApiToken.user_id == user_id)
                                   .order_by(ApiToken.created_at.desc(), ApiToken.id)))


def own_token(user_id, token_id) -> ApiToken | None:
    """One of the member's own tokens by id; None for anyone else's, or a malformed id."""
    try:
        key = uuid.UUID(str(token_id))
    except ValueError:
        return None
    return db.session.scalar(sa.select(ApiToken).where(ApiToken.id == key, ApiToken.user_id == user_id))
