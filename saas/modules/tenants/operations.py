"""Creating and updating tenants; their configuration lives in tenants/<slug>.toml."""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from flask import current_app

from saas.core.crypto.keyring import keyring
from saas.core.tenancy import tenant_context
from saas.extensions import db
from saas.modules.audit import operations as audit
from saas.modules.tenants import queries
from saas.modules.tenants.models import Tenant
from saas.modules.tenants.queries import find_by_slug, get_by_slug  # noqa: F401  (kept for existing callers)
from saas.modules.tenants.schemas import TenantConfig, read_tenant_dir
from saas.plugins.manager import Registry, current_registry


def upsert(slug: str, **fields) -> tuple[Tenant, bool]:
    """Create or update a tenant and make sure it has its keys. Returns (tenant, created)."""
    tenant = queries.find_by_slug(slug)
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


@dataclass
class SyncResult:
    """What `sync` did (or, in a dry run, would do), by slug."""

    created: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    dry_run: bool = False

    @property
    def changed(self) -> bool:
        return bool(self.created or self.updated)


def sync(directory: Path | str, registry: Registry | None = None, *, dry_run: bool = False) -> SyncResult:
    """Bring the tenants in line with the files of `directory`.

    All files are validated first (a TenantConfigError lists every problem and nothing is written); then
    every changed tenant is written in one transaction. A tenant whose stored config hash equals its file's
    is left alone, so a second run changes nothing. Tenants without a file are never touched.
    """
    configs = read_tenant_dir(Path(directory), registry or current_registry(), portal_paths())
    result = _plan(configs, dry_run)
    if dry_run or not result.changed:
        return result
    pending = set(result.created) | set(result.updated)
    try:
        for config in configs:
            if config.slug in pending:
                _apply(config)
        db.session.commit()
    except Exception:
        db.session.rollback()
        raise
    return result


def portal_paths() -> frozenset[str]:
    """First segments of the app's own URLs (`login`, `api`, ...): no tenant may take one as its slug."""
    segments = {rule.rule.split("/")[1] for rule in current_app.url_map.iter_rules()}
    return frozenset(s for s in segments if s and not s.startswith("<"))


def _plan(configs: list[TenantConfig], dry_run: bool) -> SyncResult:
    stored = queries.config_hashes(c.slug for c in configs)
    result = SyncResult(dry_run=dry_run)
    for config in configs:
        if config.slug not in stored:
            result.created.append(config.slug)
        elif stored[config.slug] != config.config_hash:
            result.updated.append(config.slug)
        else:
            result.unchanged.append(config.slug)
    return result


def _apply(config: TenantConfig) -> Tenant:
    tenant, created = upsert(config.slug, **config.fields, config_hash=config.config_hash)
    with tenant_context(tenant.id):
        audit.record("tenant.configure", "tenant", tenant.id,
                     detail={"created": created, "config_hash": config.config_hash})
        db.session.flush()  # as this tenant: row-level security checks the insert now, not at commit
    return tenant
