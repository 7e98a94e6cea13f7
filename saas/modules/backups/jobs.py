"""The nightly backup of one tenant (schedule entry "backup", per tenant): create, then prune by its plan."""
from __future__ import annotations

from saas.core.tenancy import require_tenant_id
from saas.extensions import db
from saas.modules.audit import operations as audit
from saas.modules.backups import operations, queries
from saas.modules.tenants.models import Tenant


def nightly_backup() -> dict:
    """Run as the job's tenant (ids only: the tenant is the job's context, no arguments). Returns counts."""
    tenant = db.session.get(Tenant, require_tenant_id())
    created = operations.create_backup(tenant)
    removed = operations.prune(tenant.slug, queries.plan_of(tenant))
    detail = {"backup_id": created.manifest["backup_id"], "rows": sum(created.manifest["tables"].values()),
              "pruned": len(removed)}
    audit.record("backup.create", "tenant", tenant.id, detail=detail, actor_kind="system")
    return detail
