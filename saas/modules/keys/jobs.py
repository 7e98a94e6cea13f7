"""RQ jobs of the key store (queue "keys"). Arguments are ids and counts only."""
from __future__ import annotations

from dataclasses import asdict

from saas.core.tenancy import tenant_context
from saas.extensions import db
from saas.jobs import tenant_of_current_job
from saas.modules.keys import operations


def rotate_tenant_key(version: int, batch_size: int = 500, max_batches: int | None = None, *,
                      tenant_id: int | None = None) -> dict:
    """Re-encrypt a tenant under its data key `version` (see `operations.reencrypt_tenant`).
    Killed and run again, it resumes; the result (counts) is kept with the job. The tenant is the job's
    (also under a plain RQ worker, as `saas keys rotate --wait` runs it); a direct caller names it."""
    tenant_id = tenant_id if tenant_id is not None else tenant_of_current_job()
    if tenant_id is None:
        raise ValueError("a key rotation runs for one tenant")
    db.session.commit()
    with tenant_context(tenant_id):
        report = operations.reencrypt_tenant(tenant_id, version, batch_size, max_batches)
    return asdict(report)
