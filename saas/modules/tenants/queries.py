"""Reading tenants. The tenant table is platform data (not tenant-scoped): no tenant context is needed."""
from __future__ import annotations

import sqlalchemy as sa

from saas.extensions import db
from saas.modules.tenants.models import Tenant


def find_by_slug(slug: str) -> Tenant | None:
    return db.session.scalar(sa.select(Tenant).where(Tenant.slug == slug))


def get_by_slug(slug: str) -> Tenant:
    tenant = find_by_slug(slug)
    if tenant is None:
        raise LookupError(f"no tenant with slug {slug!r}")
    return tenant


def all_tenants() -> list[Tenant]:
    return list(db.session.scalars(sa.select(Tenant).order_by(Tenant.slug)))


def config_hashes(slugs) -> dict[str, str]:
    """slug -> stored config hash, for the given slugs that exist."""
    rows = db.session.execute(sa.select(Tenant.slug, Tenant.config_hash).where(Tenant.slug.in_(list(slugs))))
    return dict(rows.all())


def tenants_using(plugin: str) -> list[str]:
    """Slugs of the tenants whose `plugins` list names this plugin (JSON column: filtered in Python)."""
    rows = db.session.execute(sa.select(Tenant.slug, Tenant.plugins).order_by(Tenant.slug))
    return [slug for slug, plugins in rows if plugin in (plugins or [])]


def active_tenant_ids() -> list[int]:
    """Every active tenant, for the scheduler's per-tenant entries (registered by `saas.modules.portal`)."""
    return list(db.session.scalars(sa.select(Tenant.id).where(Tenant.active.is_(True)).order_by(Tenant.id)))
