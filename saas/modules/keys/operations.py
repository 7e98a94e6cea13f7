"""Key rotation.

Master key: a new master key becomes active and every tenant key is re-wrapped with it (keys only,
no data moves). Tenant data key: a new version becomes active and a job re-encrypts the tenant's
subject keys, encrypted values and files with it, then retires the old version. Both are safe to
interrupt: what still uses an old key is found again by the key id stored with it.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import sqlalchemy as sa
from rq.exceptions import NoSuchJobError
from rq.job import Job, JobStatus

from saas import jobs
from saas.core.crypto import masterkey
from saas.core.crypto import fields
from saas.core.crypto.fields import encrypted_models, subject_link
from saas.core.crypto.keyring import DATA, keyring
from saas.core.crypto.masterkey import MasterKeyRing
from saas.core.tenancy import tenant_context
from saas.extensions import db
from saas.jobs import progress
from saas.jobs.queues import redis
from saas.modules.audit import operations as audit
from saas.modules.files import storage
from saas.modules.files.models import StoredFile
from saas.modules.keys import queries
from saas.modules.seals import pki as seals_pki

ROTATION_JOB = "saas.modules.keys.jobs.rotate_tenant_key"
_JOB_TIMEOUT = 6 * 3600  # a large tenant; a job stopped by the timeout resumes when run again
_UNDER_WAY = (JobStatus.QUEUED, JobStatus.STARTED, JobStatus.DEFERRED, JobStatus.SCHEDULED)


class KeyRotationError(RuntimeError):
    """The rotation cannot start as asked; the message says what to do."""


# --- master key ------------------------------------------------------------------------------
@dataclass
class MasterRotation:
    active: str
    rewrapped: int
    old_ids: list[str]


def master_ring_for_rotation(settings) -> MasterKeyRing:
    """The ring to rotate to, active key first. A key file gets a new key added (both stay in the file
    until every tenant key is re-wrapped); a file that still holds two keys is an unfinished rotation,
    resumed as it is. SAAS_MASTER_KEY must already list the new key first and the old one after."""
    if settings.master_key:
        ring = masterkey.parse(settings.master_key)
        if len(ring.keys) < 2:
            raise KeyRotationError(
                "SAAS_MASTER_KEY holds one key: put a new key first and the current one after it "
                "(SAAS_MASTER_KEY=<new>,<current>; `saas keys generate-master` makes one), restart, then run this again"
            )
        return ring
    path = Path(settings.master_key_file)
    ring = masterkey.parse(path.read_text())
    if len(ring.keys) == 1:
        ring = ring.with_new_active()
        masterkey.write_file(path, ring)  # on disk before any tenant key depends on it
    return ring


def rewrap_tenant(tenant_id: int) -> int:
    """Re-wrap one tenant's keys with the active master key, in one transaction as that tenant.
    Keys only: no personal data is read, and the tenant's audit log is left alone (a platform task)."""
    db.session.commit()
    with tenant_context(tenant_id):
        changed = sum(keyring().rewrap_tenant_key(row) for row in queries.tenant_keys())
        db.session.commit()
    return changed


def rotate_master(settings) -> MasterRotation:
    ring = master_ring_for_rotation(settings)
    keyring().master = ring
    rewrapped = sum(rewrap_tenant(tenant_id) for tenant_id in queries.tenant_ids())
    seals_pki.rewrap_platform_keys()  # the platform root CA key is wrapped by the master key too
    from saas.modules.accounts import twofactor

    twofactor.rewrap_secrets()        # and so are the users' TOTP secrets
    old_ids = [key_id for key_id, _ in ring.keys[1:]]
    if not settings.master_key:
        masterkey.write_file(Path(settings.master_key_file), ring.only_active())
        keyring().master = ring.only_active()
    return MasterRotation(ring.active_id, rewrapped, old_ids)


# --- tenant data key -------------------------------------------------------------------------
def rotation_job_id(tenant_id: int, version: int) -> str:
    return f"keyrot-{tenant_id}-v{version}"


def start_tenant_rotation(tenant_id: int) -> int:
    """Make a new data key version active (the old one 'retiring') and return it. While a rotation is
    unfinished, return its version instead, so running the command again resumes it."""
    rows = queries.data_keys()
    active = max((r for r in rows if r.state == "active"), key=lambda r: r.version)
    if any(r.state == "retiring" for r in rows):
        return active.version
    new = keyring().add_tenant_key(tenant_id, DATA, version=max(r.version for r in rows) + 1, state="active")
    active.state = "retiring"
    keyring().forget_active(tenant_id)
    audit.record("keys.rotate", "tenant", tenant_id, detail={"version": new.version})
    return new.version


def enqueue_rotation(tenant_id: int, version: int) -> Job:
    """Queue the re-encryption job (ids only; one job id per tenant and version). A job of that id
    still queued or running is returned instead of queueing a second one."""
    job_id = rotation_job_id(tenant_id, version)
    try:
        existing = Job.fetch(job_id, connection=redis())
    except NoSuchJobError:
        existing = None
    if existing is not None and existing.get_status() in _UNDER_WAY:
        return existing
    return jobs.enqueue("keys", ROTATION_JOB, tenant_id=tenant_id, version=version, job_id=job_id,
                        timeout=_JOB_TIMEOUT, description=f"rotate data key of tenant {tenant_id} to v{version}")


@dataclass
class TenantRotation:
    version: int
    subjects: int = 0
    rows: int = 0      # rows whose encrypted fields were written again under the new key
    files: int = 0
    done: int = 0  # subjects, tenant-level rows and tenant files moved (the unit of progress)
    batches: int = 0
    finished: bool = False


def reencrypt_tenant(tenant_id: int, version: int, batch_size: int = 500,
                     max_batches: int | None = None) -> TenantRotation:
    """Move the current tenant onto data key `version`, one committed batch at a time. Stopped after
    `max_batches` (or killed), a later run resumes: it selects only what still uses an older key."""
    report = TenantRotation(version)
    total = queries.rotation_backlog(version)
    for batches in (_subject_batches, _tenant_value_batches, _tenant_file_batches):
        for stage in batches(tenant_id, version, batch_size, report):
            report.batches += 1
            progress.report(report.done, total, stage)
            if max_batches is not None and report.batches >= max_batches:
                return report
    report.finished = _retire_old_versions(tenant_id, version)
    progress.report(total, total, "done" if report.finished else "old key still in use")
    return report


def _subject_batches(tenant_id, version, batch_size, report):
    while subject_ids := queries.subjects_behind(version, batch_size):
        _rotate_subjects(tenant_id, subject_ids, version, report)
        report.subjects += len(subject_ids)
        report.done += len(subject_ids)
        yield "subjects"


def _rotate_subjects(tenant_id: int, subject_ids: list, version: int, report: TenantRotation) -> None:
    """The key store and the data are two databases: three commits, each leaving everything readable."""
    keyring().rotate_subject_keys(tenant_id, subject_ids, version)
    db.session.commit()  # 1. old and new generation both stored
    for model in encrypted_models():
        for row in db.session.scalars(sa.select(model).where(subject_link(model).in_(subject_ids))):
            report.rows += fields.reencrypt(row)
            if isinstance(row, StoredFile):
                report.files += storage.reencrypt(row)
    db.session.commit()  # 2. every value and file of these subjects under the new generation
    keyring().drop_old_subject_keys(subject_ids, version)
    db.session.commit()  # 3. the old generation goes


def _tenant_value_batches(tenant_id, version, batch_size, report):
    """Tenant-level values (rows of no subject), found by the key named in their header."""
    for model in encrypted_models():
        after = None
        while rows := queries.rows_with_old_tenant_values(model, version, after, batch_size):
            report.rows += sum(fields.reencrypt(row) for row in rows)
            after = rows[-1].id
            report.done += len(rows)
            db.session.commit()
            yield "tenant data"


def _tenant_file_batches(tenant_id, version, batch_size, report):
    after = None
    while files := queries.tenant_files_behind(version, after, batch_size):
        report.files += sum(storage.reencrypt(stored) for stored in files)
        after = files[-1].id
        report.done += len(files)
        db.session.commit()
        yield "files"


def _retire_old_versions(tenant_id: int, version: int) -> bool:
    """Retire the older data keys and delete their wrapped key, but only once nothing uses them
    (a writer that still had the old key active may have added something: run again later)."""
    if queries.rotation_backlog(version):
        return False
    retired = [row for row in queries.data_keys() if row.version < version and row.state != "retired"]
    for row in retired:
        row.state, row.wrapped = "retired", None
    if retired:
        audit.record("keys.retire", "tenant", tenant_id, detail={"versions": [r.version for r in retired]})
    db.session.commit()
    return True
