"""Who may do what to which record: the one access policy (`policy`) and need-to-know (`scopes`).

    from saas import access

    @bp.get("/subjects")
    @access.requires("list", "person")
    def index(): ...

    access.can(g.membership, "edit", subject)      # a finer check, or a template flag
"""
from saas.access.policy import (
    ACTIONS, KINDS, MATRIX, PUBLIC_ENDPOINTS, allowed, can, refuse, require, requirement_of, requires, roles_for,
)
from saas.access.roles import HR_CATEGORIES, ROLES

__all__ = ["ACTIONS", "HR_CATEGORIES", "KINDS", "MATRIX", "PUBLIC_ENDPOINTS", "ROLES", "allowed", "can", "refuse",
           "require", "requirement_of", "requires", "roles_for"]
