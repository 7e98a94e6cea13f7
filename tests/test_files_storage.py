"""Encrypted file storage: bound to tenant, file and purpose; checked on read; nothing half-written."""
import shutil
import stat
from pathlib import Path

import pytest
import sqlalchemy as sa

from saas.core.crypto import aead as box
from saas.core.crypto.keyring import KeyMissing, keyring
from saas.extensions import db
from saas.modules.audit.models import AuditEntry
from saas.modules.files import operations as files
from saas.modules.files import queries, storage
from saas.modules.files.models import StoredFile

CONTENT = b"Geheimhoudingsverklaring: partijen houden geheim wat zij van elkaar vernemen."


@pytest.fixture()
def tenant(make_tenant, as_tenant):
    tenant = make_tenant()
    as_tenant(tenant)
    return tenant


def test_saved_file_reads_back_and_is_encrypted_at_rest(tenant):
    stored = files.save(CONTENT, "text/plain", "nda", filename="nda-de-vries.txt")
    db.session.commit()
    path = storage.path_of(stored)
    assert path.parent.name == str(tenant.id) and path.name == str(stored.id)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert CONTENT not in path.read_bytes() and b"partijen" not in path.read_bytes()
    assert (stored.key_kind, stored.size) == ("t", len(CONTENT))
    db.session.expunge_all()
    again = queries.get(stored.id)
    assert queries.read(again) == CONTENT
    assert again.filename == "nda-de-vries.txt"
    assert db.session.scalar(sa.select(AuditEntry).where(
        AuditEntry.action == "file.store", AuditEntry.object_id == str(stored.id))) is not None


def test_subject_file_uses_the_subject_key_and_is_shredded_with_it(tenant, seed_people):
    (subject, _), = seed_people(tenant, 1)
    stored = files.save(CONTENT, "application/pdf", "nda", subject_id=subject.id, filename="nda.pdf")
    db.session.commit()
    assert stored.key_kind == "s" and queries.of_subject(subject.id) == [stored]
    keyring().destroy_subject_key(tenant.id, subject.id, reason="erasure")
    db.session.commit()
    db.session.info.clear()
    with pytest.raises(KeyMissing):
        queries.read(stored)


def test_file_copied_over_another_file_or_tenant_does_not_open(tenant, make_tenant, as_tenant):
    first = files.save(CONTENT, "text/plain", "nda")
    second = files.save(b"tweede", "text/plain", "nda")
    db.session.commit()
    shutil.copyfile(storage.path_of(first), storage.path_of(second))
    with pytest.raises(box.DecryptionError):
        queries.read(second)

    first_path, first_id = storage.path_of(first), first.id
    other = make_tenant()
    as_tenant(other)
    db.session.expunge_all()
    theirs = files.save(CONTENT, "text/plain", "nda")
    db.session.commit()
    shutil.copyfile(first_path, storage.path_of(theirs))
    with pytest.raises(box.DecryptionError):
        queries.read(theirs)
    assert queries.get(first_id) is None  # and the other tenant's row is not even visible


def test_altered_file_or_checksum_fails(tenant):
    stored = files.save(CONTENT, "text/plain", "nda")
    db.session.commit()
    path = storage.path_of(stored)
    blob = bytearray(path.read_bytes())
    blob[-1] ^= 1
    path.write_bytes(bytes(blob))
    with pytest.raises(box.DecryptionError):
        queries.read(stored)

    intact = files.save(CONTENT, "text/plain", "nda")
    intact.sha256 = "0" * 64
    with pytest.raises(box.DecryptionError, match="checksum"):
        queries.read(intact)


def test_file_moved_to_another_purpose_does_not_open(tenant):
    stored = files.save(CONTENT, "text/plain", "nda")
    db.session.commit()
    stored.purpose = "export"
    with pytest.raises(box.DecryptionError):
        queries.read(stored)


def test_too_large_file_is_refused_before_anything_is_written(tenant, app, settings):
    def stored_names():
        return sorted(p.name for p in Path(settings.storage_path).rglob("*"))

    before = stored_names()
    with pytest.raises(files.FileTooLarge):
        files.save(b"x" * (app.config["MAX_CONTENT_LENGTH"] + 1), "text/plain", "export")
    assert not db.session.new
    assert stored_names() == before


def test_rolled_back_save_leaves_no_file_behind(tenant):
    stored = files.save(CONTENT, "text/plain", "nda")
    path = storage.path_of(stored)
    assert path.exists()
    db.session.rollback()
    assert not path.exists()


def test_deleted_file_goes_from_disk_only_when_the_deletion_commits(tenant):
    stored = files.save(CONTENT, "text/plain", "nda")
    db.session.commit()
    path, file_id = storage.path_of(stored), stored.id
    files.delete(stored)
    db.session.flush()
    db.session.rollback()
    assert path.exists() and queries.get(file_id) is not None

    files.delete(queries.get(file_id))
    assert path.exists()
    db.session.commit()
    assert not path.exists() and queries.get(file_id) is None
    assert db.session.scalar(sa.select(StoredFile).where(StoredFile.id == file_id)) is None
