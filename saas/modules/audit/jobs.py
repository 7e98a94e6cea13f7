"""Jobs of the audit trail, run from the schedule (`saas.jobs.schedule.SCHEDULE`)."""
from __future__ import annotations

from saas.core import transaction
from saas.core.tenancy import require_tenant_id
from saas.modules.audit import operations as audit
from saas.modules.audit.queries import verify


class AuditChainBroken(RuntimeError):
    """A tenant's audit chain failed verification; the job fails so the tenant's admins see it."""


def verify_audit_chain() -> dict:
    """Daily per tenant: verify the audit hash chain and record the outcome in that same log.

    A broken chain is recorded and committed first, then the job fails: it shows on the tenant's
    failed-jobs page and in the worker log (ids and counts only)."""
    tenant_id = require_tenant_id()
    result = verify(tenant_id)
    detail = {"count": result.count} if result.ok else {"count": result.count, "seq": result.seq, "kind": result.kind}
    audit.record("audit.verify", "tenant", tenant_id, outcome="ok" if result.ok else "failed",
                 detail=detail, actor_kind="system")
    if not result.ok:
        transaction.persist_now()   # the job fails below, which would roll the line back
        raise AuditChainBroken(f"tenant {tenant_id}: first problem at seq {result.seq} ({result.kind})")
    return detail
