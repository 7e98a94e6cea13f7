"""Reading stored files."""
from __future__ import annotations

import uuid

import sqlalchemy as sa

from saas.extensions import db
from saas.modules.files import storage
from saas.modules.files.models import StoredFile


def get(file_id: uuid.UUID) -> StoredFile | None:
    return db.session.get(StoredFile, file_id)


def of_subject(subject_id: uuid.UUID) -> list[StoredFile]:
    query = sa.select(StoredFile).where(StoredFile.subject_id == subject_id).order_by(StoredFile.created_at)
    return list(db.session.scalars(query))


def read(stored: StoredFile) -> bytes:
    """The decrypted content, checked against its SHA-256."""
    return storage.read(stored)
