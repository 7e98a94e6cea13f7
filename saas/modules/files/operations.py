"""Storing and deleting encrypted files (NDAs, signed PDFs, exports). The caller commits."""
from __future__ import annotations

import hashlib
import uuid

from flask import current_app

from saas.extensions import db
from saas.modules.audit import operations as audit
from saas.modules.files import storage
from saas.modules.files.models import StoredFile


class FileTooLarge(ValueError):
    """Larger than the upload limit (MAX_CONTENT_LENGTH): refused before anything is written."""


def save(content: bytes, content_type: str, purpose: str, subject_id: uuid.UUID | None = None,
         filename: str | None = None) -> StoredFile:
    """Encrypt and store `content`: with the subject's key when it belongs to a data subject (erasing
    the subject then shreds the file too), otherwise with the tenant key."""
    limit = current_app.config["MAX_CONTENT_LENGTH"]
    if len(content) > limit:
        raise FileTooLarge(f"files are limited to {limit} bytes")
    stored = StoredFile(subject_id=subject_id, purpose=purpose, content_type=content_type,
                        size=len(content), sha256=hashlib.sha256(content).hexdigest())
    storage.write(stored, content)
    storage.remove_after_rollback(stored)
    stored.filename = filename
    db.session.add(stored)
    # Written now: rows that name the file (a document, a download) may be added in the same flush, and the
    # unit of work orders inserts by relationship(), not by foreign keys alone (none links these models).
    db.session.flush()
    audit.record("file.store", "stored_file", stored.id, detail={"size": len(content)})
    return stored


def delete(stored: StoredFile) -> None:
    """Delete the row now and the file on disk once the deletion is committed."""
    db.session.delete(stored)
    storage.remove_after_commit(stored)
    audit.record("file.delete", "stored_file", stored.id)
