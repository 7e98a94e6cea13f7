"""Creating and updating tenants (their configuration lives in tenants/<slug>.toml)."""
from __future__ import annotations

import sqlalchemy as sa

from saas.core.crypto.keyring import keyring
from saas.core.tenancy import tenant_context
from saas.extensions import db
from saas.modules.tenants.models import Tenant


def find_by_slug(slug: str) -> Tenant | None:
    return db.session.scalar(sa.select(Tenant).where(Tenant.slug == slug))


def get_by_slug(slug: str) -> Tenant:
    tenant = find_by_slug(slug)
    if tenant is None:
        raise LookupError(f"no tenant with slug {slug!r}")
    return tenant


def upsert(slug: str, **fields) -> tuple[Tenant, bool]:
    """Create or update a tenant and make sure it has its keys. Returns (tenant, created)."""
    tenant = find_by_slug(slug)
    created = tenant is None
    if created:
        tenant = Tenant(slug=slug)
        db.session.add(tenant)
    for key, value in fields.items():
        setattr(tenant, key, value)
    db.session.flush()
    with tenant_context(tenant.id):
        keyring().create_tenant_keys(tenant.id)
        db.session.flush()
    return tenant, created
