"""The whole-database delete of a large client database, on the exports queue with progress."""
from __future__ import annotations

import uuid

from saas import jobs
from saas.core import tenancy
from saas.jobs import progress
from saas.modules.databases import operations

QUEUE = "exports"
FUNC = "saas.modules.databases.jobs.delete_database"


def start(client_org_id: uuid.UUID):
    """Enqueue the delete; one at a time per organisation (the job id says which)."""
    return jobs.enqueue(QUEUE, FUNC, tenant_id=tenancy.require_tenant_id(), job_id=f"database-delete-{client_org_id}",
                        timeout=6 * 3600, client_org_id=str(client_org_id))


def delete_database(client_org_id: str) -> int:
    return operations.delete_database(uuid.UUID(client_org_id), progress.report)
