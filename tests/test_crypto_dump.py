"""What leaves the building: a dump or an old copy of the database.

A dump holds no personal data in plain text, and a copy taken before an erasure cannot be read for
the erased subject, because that subject's key lives only in the separate key store.
"""
import shutil
import subprocess
import uuid
from pathlib import Path

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session

from saas.core.crypto.keyring import KeyMissing, keyring
from saas.extensions import db
from saas.modules.files import operations as files
from saas.modules.subjects.models import DataSubject
from saas.testing.core import DB_KIND
from saas.testing import services


def _dump_database(settings, pg_server) -> bytes:
    """SQLite: the raw database file. PostgreSQL: pg_dump of the main database (as the superuser:
    the owner itself sees no rows through FORCE ROW LEVEL SECURITY)."""
    if DB_KIND == "sqlite":
        return Path(make_url(settings.database_url).database).read_bytes()
    url = make_url(settings.database_url)
    result = subprocess.run(
        [services._pg_bin("pg_dump"), "-h", pg_server.host, "-p", str(pg_server.port), "-U", "postgres",
         "--data-only", url.database],
        capture_output=True, check=True,
    )
    return result.stdout


def _leaks(dump: bytes, value: str) -> bool:
    raw = value.encode()
    return raw in dump or raw.hex().encode() in dump


def test_dump_holds_no_personal_data_in_plain_text(settings, pg_server, seed_people, make_tenant):
    control = f"control-{uuid.uuid4().hex[:8]}"  # stored unencrypted on purpose
    people = seed_people(make_tenant(), 3, source=control)
    subject = people[0][0]
    files.save(b"Geheimhoudingsverklaring van Quirijn " + subject.given_name.encode(), "text/plain", "nda",
               subject_id=subject.id, filename=f"nda-{subject.family_name}.txt")
    db.session.commit()
    dump = _dump_database(settings, pg_server)
    assert _leaks(dump, control), "the dump does not show the seeded rows at all"
    for _, values in people:
        for name, value in values.items():
            assert not _leaks(dump, value), f"{name} is readable in the dump"
    stored_bytes = b"".join(p.read_bytes() for p in Path(settings.storage_path).rglob("*") if p.is_file())
    assert subject.given_name.encode() not in stored_bytes


@pytest.fixture()
def database_copy(settings, pg_server):
    """copy() -> a URL of a copy of the main database as it is now; dropped afterwards."""
    made = []

    def copy() -> str:
        db.session.commit()
        db.engines[None].dispose()
        if DB_KIND == "sqlite":
            source = Path(make_url(settings.database_url).database)
            target = source.with_name(f"copy-{uuid.uuid4().hex[:8]}.db")
            shutil.copyfile(source, target)
            made.append(target)
            return f"sqlite:///{target}"
        name = f"copy_{uuid.uuid4().hex[:8]}"
        admin = sa.create_engine(pg_server.admin_url, isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            conn.execute(sa.text(f'CREATE DATABASE "{name}" TEMPLATE "{make_url(settings.database_url).database}"'))
        admin.dispose()
        made.append(name)
        return make_url(settings.database_url).set(database=name).render_as_string(hide_password=False)

    yield copy
    for item in made:
        if isinstance(item, Path):
            item.unlink(missing_ok=True)
        else:
            admin = sa.create_engine(pg_server.admin_url, isolation_level="AUTOCOMMIT")
            with admin.connect() as conn:
                conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{item}" WITH (FORCE)'))
            admin.dispose()


def test_erased_subject_stays_unreadable_in_an_older_copy(seed_people, make_tenant, database_copy):
    tenant = make_tenant()
    (erased, _), (kept, kept_values) = seed_people(tenant, 2)
    erased_id, kept_id, tenant_id = erased.id, kept.id, tenant.id
    copy_url = database_copy()  # the backup, taken before the erasure

    keyring().destroy_subject_key(tenant_id, erased_id, reason="erasure")
    db.session.commit()
    db.session.info.clear()

    engine = sa.create_engine(copy_url)
    try:
        with Session(engine) as old_copy:
            assert old_copy.get(DataSubject, erased_id).ciphertext is not None  # the data is still there
            with pytest.raises(KeyMissing):
                _ = old_copy.get(DataSubject, erased_id).email
            restored = old_copy.get(DataSubject, kept_id)
            assert (restored.email, restored.phone) == (kept_values["email"], kept_values["phone"])
    finally:
        engine.dispose()
