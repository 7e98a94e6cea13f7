"""What the key rotations read: the current tenant's keys and what still uses an old key."""
from __future__ import annotations

import sqlalchemy as sa

from saas.core.crypto import aead as box
from saas.core.crypto.fields import encrypted_models
from saas.core.crypto.keyring import DATA
from saas.core.crypto.models import SubjectKey, TenantKey
from saas.extensions import db
from saas.modules.files.models import StoredFile
from saas.modules.tenants.models import Tenant

_TENANT_PREFIX = box.header(box.KIND_TENANT, 0)[:2]  # format version and key kind


def tenant_ids() -> list[int]:
    return list(db.session.scalars(sa.select(Tenant.id).order_by(Tenant.id)))


def tenant_keys() -> list[TenantKey]:
    """Every key of the current tenant, data and blind-index, in every version."""
    query = sa.select(TenantKey).order_by(TenantKey.purpose, TenantKey.version)
    return list(db.session.scalars(query))


def data_keys() -> list[TenantKey]:
    query = sa.select(TenantKey).where(TenantKey.purpose == DATA).order_by(TenantKey.version)
    return list(db.session.scalars(query))


def subjects_behind(version: int, limit: int) -> list:
    """Subjects with a key wrapped by a tenant key older than `version`."""
    query = (sa.select(SubjectKey.subject_id).where(SubjectKey.tenant_key_version < version)
             .group_by(SubjectKey.subject_id).order_by(SubjectKey.subject_id).limit(limit))
    return list(db.session.scalars(query))


def count_subjects_behind(version: int) -> int:
    query = sa.select(sa.func.count(sa.distinct(SubjectKey.subject_id))).where(SubjectKey.tenant_key_version < version)
    return db.session.scalar(query)


def _old_tenant_value(column, version: int):
    """A value encrypted with a tenant key other than `version`, recognised by its header."""
    def head(length):
        return sa.func.substr(column, 1, length, type_=sa.LargeBinary)

    return sa.and_(head(2) == _TENANT_PREFIX, head(6) != box.header(box.KIND_TENANT, version))


def rows_with_old_tenant_values(model, version: int, after, limit: int) -> list:
    """Rows of `model` holding a value under an older tenant key, in id order after `after`."""
    query = sa.select(model).where(_old_tenant_value(model.ciphertext, version)).order_by(model.id).limit(limit)
    if after is not None:
        query = query.where(model.id > after)
    return list(db.session.scalars(query))


def count_old_tenant_values(version: int) -> int:
    return sum(
        db.session.scalar(sa.select(sa.func.count()).select_from(model).where(_old_tenant_value(model.ciphertext, version)))
        for model in encrypted_models()
    )


def _old_tenant_file():
    return StoredFile.key_kind == chr(box.KIND_TENANT)


def tenant_files_behind(version: int, after, limit: int) -> list[StoredFile]:
    query = (sa.select(StoredFile).where(_old_tenant_file(), StoredFile.key_generation != version)
             .order_by(StoredFile.id).limit(limit))
    if after is not None:
        query = query.where(StoredFile.id > after)
    return list(db.session.scalars(query))


def count_tenant_files_behind(version: int) -> int:
    query = sa.select(sa.func.count()).select_from(StoredFile).where(
        _old_tenant_file(), StoredFile.key_generation != version)
    return db.session.scalar(query)


def rotation_backlog(version: int) -> int:
    """Subjects, values and files of the current tenant that still use a data key older than `version`."""
    return count_subjects_behind(version) + count_old_tenant_values(version) + count_tenant_files_behind(version)
