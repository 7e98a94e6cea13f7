"""RQ jobs of the key store (queue "keys"). Arguments are ids and counts only."""
from __future__ import annotations

from dataclasses import asdict

from saas.core.tenancy import tenant_context
from saas.extensions import db
from saas.modules.keys import operations


def rotate_tenant_key(tenant_id: int, version: int, batch_size: int = 500, max_batches: int | None = None) -> dict:
    """Re-encrypt a tenant under its data key `version` (see `operations.reencrypt_tenant`).
    Killed and run again, it resumes; the result (counts) is kept with the job."""
    db.session.commit()
    with tenant_context(tenant_id):
        report = operations.reencrypt_tenant(tenant_id, version, batch_size, max_batches)
    return asdict(report)
