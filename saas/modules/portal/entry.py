"""Entering a tenant from the portal: the tenant of the URL must be active and the user a member of it.

Registered with `saas.core.web.set_tenant_entry` by the app factory, so core need not know the tenant
and membership tables (and neither feature needs to know the other: this folder joins them). Anything else answers 404 (never 403, never data); a signed-in user who is not a
member leaves a refused line in that tenant's audit trail, committed although the answer is 404.
"""
from __future__ import annotations

import sqlalchemy as sa
from flask import Flask, abort, g

from saas.core.web import set_tenant_entry, switch_tenant
from saas.extensions import db
from saas.modules.accounts.models import Membership
from saas.modules.audit import operations as audit
from saas.modules.tenants import queries as tenants_queries
from saas.modules.tenants.models import Tenant


def enter_tenant_for_user(slug: str, user) -> None:
    tenant = db.session.scalar(sa.select(Tenant).where(Tenant.slug == slug, Tenant.active.is_(True)))
    if tenant is None:
        abort(404)
    switch_tenant(tenant.id)
    membership = db.session.scalar(sa.select(Membership).where(Membership.user_id == user.id))
    if membership is None:
        audit.record_refusal("tenant.enter", "tenant", str(tenant.id), actor_id=str(user.id))
        abort(404)
    g.tenant, g.membership = tenant, membership


def init_app(app: Flask) -> None:
    set_tenant_entry(app, enter_tenant_for_user)
    app.extensions["saas.active_tenant_ids"] = tenants_queries.active_tenant_ids
