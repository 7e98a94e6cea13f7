"""No pages: templates ask the access policy through `can(action, kind_or_record)`."""
from __future__ import annotations

from flask import Blueprint, g

from saas.access import policy

bp = Blueprint("access", __name__)


@bp.app_context_processor
def _policy_in_templates() -> dict:
    def can(action: str, target) -> bool:
        membership = getattr(g, "membership", None)  # a page outside a tenant: nothing is allowed
        return membership is not None and policy.can(membership, action, target)

    return {"can": can}
