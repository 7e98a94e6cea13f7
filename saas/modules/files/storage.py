"""Encrypted file contents in the storage folder: `<storage_path>/<tenant id>/<file id>`.

Each file is one AES-256-GCM value (the same header as encrypted fields: key kind and generation)
under the subject key, or the tenant key for a file of no one subject. The associated data binds
tenant, file id and purpose, so a file copied to another name or tenant does not open. Writes are
atomic (temporary file, fsync, rename): a reader sees the old file or the new one, never half.
"""
from __future__ import annotations

import hashlib
import os
import tempfile
from pathlib import Path

from flask import current_app

from saas.core import transaction
from saas.core.crypto import aead as box
from saas.modules.files.models import StoredFile


def file_aad(stored: StoredFile) -> bytes:
    return f"file|{stored.tenant_id}|{stored.id}|{stored.purpose}".encode()


def path_of(stored: StoredFile) -> Path:
    root = Path(current_app.extensions["saas.settings"].storage_path)
    return root / str(int(stored.tenant_id)) / str(stored.id)


def write(stored: StoredFile, content: bytes) -> None:
    """Encrypt `content` under the row's newest key and replace the file on disk."""
    kind, generation, cipher = stored.encryption_key()
    _write_atomic(path_of(stored), box.seal(cipher, kind, generation, content, file_aad(stored)))
    stored.key_kind, stored.key_generation = chr(kind), generation


def read(stored: StoredFile) -> bytes:
    """Decrypt the file; a file that was moved, altered or whose key is gone raises DecryptionError."""
    try:
        blob = path_of(stored).read_bytes()
    except FileNotFoundError as exc:
        raise box.DecryptionError("the stored file is missing") from exc
    content = box.open_(stored.decryption_key(*box.header_of(blob)), blob, file_aad(stored))
    if hashlib.sha256(content).hexdigest() != stored.sha256:
        raise box.DecryptionError("the stored file does not match its checksum")
    return content


def is_current(stored: StoredFile) -> bool:
    kind, generation, _ = stored.encryption_key()
    return (stored.key_kind, stored.key_generation) == (chr(kind), generation)


def reencrypt(stored: StoredFile) -> bool:
    """Write the file again under the row's newest key (key rotation). True if it changed."""
    if is_current(stored):
        return False
    write(stored, read(stored))
    return True


def remove_after_commit(stored: StoredFile) -> None:
    """The row is deleted in this transaction: the file goes once that is committed."""
    transaction.after_commit(_unlink, path_of(stored))


def remove_after_rollback(stored: StoredFile) -> None:
    """A file written for a row that is never committed must not stay behind."""
    transaction.after_rollback(_unlink, path_of(stored))


def _write_atomic(path: Path, data: bytes) -> None:
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".tmp-")  # created 0600
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _unlink(path: Path) -> None:
    path.unlink(missing_ok=True)
