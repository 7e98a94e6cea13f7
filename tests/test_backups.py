"""Backups that keep erasures (issue 16 item 5): `saas.modules.backups` in-process, on SQLite and PostgreSQL
(SAAS_TEST_DB). Create/verify/list, a tampered byte, pruning at the edge days, and the restore drill: backup,
erase (through the erasure path), restore: the erased are neither readable nor present."""
from __future__ import annotations

import os
import stat
import uuid
from datetime import date, datetime, timedelta, timezone
from pathlib import Path

import pytest
import sqlalchemy as sa

from saas.core import clock
from saas.core.crypto.keyring import KeyMissing, keyring
from saas.core.crypto.models import ShreddedSubject, SubjectKey
from saas.extensions import db
from saas.jobs.schedule import entry
from saas.modules.backups import archive, jobs, operations, queries
from saas.modules.backups.queries import BackupFile, Plan
from saas.modules.erasure import operations as erasure
from saas.modules.retention import suppression
from saas.modules.retention.models import RetentionDecision, SuppressionEntry
from saas.modules.subjects.models import DataSubject
from saas.testing.fixtures_crypto import forget_cached_keys
from saas.testing.records import in_tenant
from tests.test_erasure import _person

NOW = datetime(2026, 2, 2, 9, tzinfo=timezone.utc)


@pytest.fixture(autouse=True)
def _now():
    clock.set_now(NOW)
    yield
    clock.set_now(None)


@pytest.fixture()
def fiscal(make_tenant):
    return make_tenant(plugins=["fiscal"])


def _backup(tenant) -> operations.Created:
    with in_tenant(tenant):
        return operations.create_backup(tenant)


def _people(tenant) -> set[uuid.UUID]:
    with in_tenant(tenant):
        return set(db.session.scalars(sa.select(DataSubject.id)))


def _readable(tenant, subject_id) -> str | None:
    """The person's e-mail address read through the key store, None when absent; KeyMissing propagates."""
    with in_tenant(tenant):
        person = db.session.get(DataSubject, subject_id)
        return None if person is None else person.email


# --- create, verify, list ------------------------------------------------------------------------------

def test_a_backup_is_an_encrypted_0600_file_with_a_manifest_and_verifies(fiscal, ctx):
    ids = [_person(fiscal) for _ in range(2)]
    created = _backup(fiscal)

    assert created.path.parent == queries.backups_root() / fiscal.slug
    assert stat.S_IMODE(os.stat(created.path).st_mode) == 0o600
    manifest = created.manifest
    assert manifest["tenant_slug"] == fiscal.slug and manifest["tenant_id"] == fiscal.id
    assert manifest["tables"]["data_subject"] == 2 and manifest["tables"]["call_note"] == 2
    assert manifest["schema_revision"] == queries.schema_revision()
    assert manifest["ledger"]["shredded"] == 0
    data = created.path.read_bytes()
    assert b"voorbeeld-mail" not in data and b"Quirijn" not in data and str(ids[0]).encode() not in data
    assert operations.verify(created.path)["backup_id"] == manifest["backup_id"]
    listed = queries.list_backups(fiscal.slug)
    assert [item.path for item in listed] == [created.path]
    # The rows inside are the database's rows, ciphertext as ciphertext.
    opened = archive.open_(keyring().master, data)
    subjects = opened.payload["tables"]["data_subject"]
    with in_tenant(fiscal):
        table = DataSubject.__table__   # a Core select: the tenant is named here, as the backup's query does
        stored = db.session.execute(sa.select(table.c.ciphertext).where(table.c.tenant_id == fiscal.id)
                                    .order_by(table.c.id)).scalars().all()
    position = subjects["columns"].index("ciphertext")
    assert [row[position] for row in subjects["rows"]] == stored


@pytest.mark.parametrize("where", ["header", "body", "mac"])
def test_one_changed_byte_anywhere_fails_verification(fiscal, ctx, where):
    _person(fiscal)
    path = _backup(fiscal).path
    data = bytearray(path.read_bytes())
    header, body_start = archive.read_header(bytes(data))
    offset = {"header": body_start - 5, "body": (body_start + len(data)) // 2, "mac": len(data) - 1}[where]
    data[offset] ^= 0x01
    path.write_bytes(bytes(data))
    with pytest.raises(archive.BackupError):
        operations.verify(path)
    if where == "body":
        with pytest.raises(archive.BackupError, match="MAC"):
            operations.verify(path)


def test_a_backup_made_with_another_master_key_does_not_open(fiscal, ctx):
    from saas.core.crypto.masterkey import generate

    _person(fiscal)
    path = _backup(fiscal).path
    with pytest.raises(archive.BackupError, match="master key"):
        archive.open_(generate(), path.read_bytes())


# --- prune ---------------------------------------------------------------------------------------------

def _fake(moments: list[datetime]) -> list[BackupFile]:
    return [BackupFile(Path(f"/b/{m:%Y%m%dT%H%M}.sbk"), {"created_at": m.isoformat()}, 1) for m in moments]


def _at(day: date, hour: int = 0) -> datetime:
    return datetime(day.year, day.month, day.day, hour, 45, tzinfo=timezone.utc)


def test_a_daily_backup_is_kept_14_days_and_gone_on_the_15th():
    made = date(2026, 3, 10)   # not the first of its month: no monthly keeps it
    backups = _fake([_at(made), _at(date(2026, 3, 1)), _at(date(2026, 3, 30))])
    plan = Plan(daily=14, monthly=0)
    kept_on = lambda today: backups[0].path in operations.to_keep(backups, today, plan)   # noqa: E731
    assert kept_on(made + timedelta(days=12))
    assert kept_on(made + timedelta(days=13))          # the 14th day, today included
    assert not kept_on(made + timedelta(days=14))


def test_days_are_amsterdams_like_the_clocks_today():
    late = datetime(2026, 3, 9, 23, 30, tzinfo=timezone.utc)     # 00:30 on 10 March in Amsterdam
    backups = _fake([late, _at(date(2026, 3, 1))])
    plan = Plan(daily=1, monthly=0)
    assert backups[0].path in operations.to_keep(backups, date(2026, 3, 10), plan)
    assert backups[0].path not in operations.to_keep(backups + _fake([_at(date(2026, 3, 11))]), date(2026, 3, 11), plan)


def test_the_newest_of_a_day_and_the_first_of_a_month_are_kept():
    day = date(2026, 3, 10)
    backups = _fake([_at(date(2026, 1, 1)), _at(date(2026, 1, 2)), _at(date(2026, 2, 1)), _at(date(2026, 2, 1), 12),
                     _at(day), _at(day, 6)])
    keep = operations.to_keep(backups, day, Plan(daily=14, monthly=3))
    names = sorted(p.name for p in keep)
    # Jan 1 and Feb 1 (first of their month; not Jan 2, not Feb 1's second), Mar 10 00:45 (first of March),
    # Mar 10 06:45 (newest of today)
    assert names == ["20260101T0045.sbk", "20260201T0045.sbk", "20260310T0045.sbk", "20260310T0645.sbk"]


def test_a_monthly_backup_goes_when_its_month_leaves_the_plan():
    first = _at(date(2026, 1, 1))
    newest = _at(date(2026, 7, 1))
    backups = _fake([first, newest])
    plan = Plan(daily=14, monthly=6)
    assert backups[0].path in operations.to_keep(backups, date(2026, 6, 30), plan)   # Jan..Jun: six months
    assert backups[0].path not in operations.to_keep(backups, date(2026, 7, 1), plan)  # Feb..Jul


def test_nothing_outlives_the_maximum_age_not_even_the_newest():
    made = date(2026, 1, 5)
    backups = _fake([_at(made)])
    plan = Plan(daily=14, monthly=6, max_age_days=190)
    assert backups[0].path in operations.to_keep(backups, made + timedelta(days=190), plan)   # newest kept
    assert backups[0].path not in operations.to_keep(backups, made + timedelta(days=191), plan)


def test_prune_deletes_the_files_the_plan_no_longer_keeps(fiscal, ctx):
    _person(fiscal)
    made = []
    for day in (date(2026, 1, 20), date(2026, 1, 21), date(2026, 2, 1)):
        clock.set_now(_at(day))
        made.append(_backup(fiscal).path)
    removed = operations.prune(fiscal.slug, Plan(daily=3, monthly=1), today=date(2026, 2, 2))
    assert removed == made[:2]                          # January left the plan: one month, this one
    assert [b.path for b in queries.list_backups(fiscal.slug)] == [made[2]]
    assert operations.prune(fiscal.slug, Plan(daily=3, monthly=1), today=date(2026, 2, 3)) == []


def test_the_nightly_job_backs_up_and_prunes_by_the_tenants_plan(make_tenant, ctx):
    tenant = make_tenant(plugins=["fiscal"], settings={"backups": {"daily": 1, "monthly": 0}})
    assert queries.plan_of(tenant) == Plan(daily=1, monthly=0)
    assert entry("backup").per_tenant and entry("backup").func == "saas.modules.backups.jobs.nightly_backup"
    for day in (date(2026, 3, 1), date(2026, 3, 2)):
        clock.set_now(_at(day))
        with in_tenant(tenant):
            detail = jobs.nightly_backup()
    assert detail["pruned"] == 1
    assert [b.manifest["created_at"][:10] for b in queries.list_backups(tenant.slug)] == ["2026-03-02"]


# --- restore ---------------------------------------------------------------------------------------------

def _erase(tenant, subject_id, suppress=False):
    with in_tenant(tenant):
        outcome = erasure.erase_subject(db.session.get(DataSubject, subject_id), reason="rights_request",
                                        suppress=suppress)
    return outcome


def _killed_purge(tenant, subject_id):
    """A sweep killed between its two steps: rows gone, decision open, key still there."""
    with in_tenant(tenant):
        erasure.purge_ids([subject_id])
        db.session.add(RetentionDecision(record_kind="subject", record_id=subject_id, category="client_contact",
                                         policy="fiscal.test", policy_version=1, action="purge",
                                         due_on=clock.today(), completed=False))


def test_the_restore_drill_brings_back_no_one_erased(fiscal, ctx):
    old = date(2010, 1, 1)   # fiscal years over: an erasure purges
    erased_after, killed, keyless, kept = (_person(fiscal, ended=old) for _ in range(4))
    with in_tenant(fiscal):
        before_suppression = db.session.scalar(sa.select(sa.func.count()).select_from(SuppressionEntry))
    backup = _backup(fiscal)

    clock.set_now(NOW + timedelta(days=1))
    assert _erase(fiscal, erased_after, suppress=True).status == "purged"
    _killed_purge(fiscal, killed)
    with in_tenant(fiscal):   # a key lost without a ledger line (the old order, a damaged key store)
        db.session.execute(sa.delete(SubjectKey).where(SubjectKey.subject_id == keyless))
        later = DataSubject(category="client_contact")
        later.email = "later@voorbeeld-mail.nl"
        db.session.add(later)
        db.session.flush()
        later_id = later.id
    with in_tenant(fiscal):
        suppressed_now = db.session.scalar(sa.select(sa.func.count()).select_from(SuppressionEntry))
        assert suppressed_now == before_suppression + 1

    # The dry run tells, and writes nothing.
    with in_tenant(fiscal):
        plan = operations.plan_restore(fiscal, backup.path)
    assert (plan.erased_after, plan.erased_before, plan.unfinished, plan.keyless) == ([erased_after], [], [killed], [keyless]), (erased_after, killed, keyless)
    assert plan.counts()["data_subject"] == 1
    assert plan.left_out["data_subject"] == 3 and plan.left_out["call_note"] == 3
    assert _people(fiscal) == {kept, keyless, later_id}
    with in_tenant(fiscal):
        assert db.session.get(SubjectKey, (killed, 1)) is not None   # the dry run finished nothing

    with in_tenant(fiscal):
        done = operations.restore(fiscal, backup.path)
    assert done.dropped_subjects == sorted([erased_after, killed, keyless])
    assert _people(fiscal) == {kept}                          # the person made after the backup is gone too
    assert _readable(fiscal, kept).endswith("@voorbeeld-mail.nl")
    for gone in (erased_after, killed, keyless):
        assert _readable(fiscal, gone) is None                # not present
        forget_cached_keys()                                  # as a new process: through the key store
        with in_tenant(fiscal), pytest.raises(KeyMissing):    # and not readable anywhere
            keyring().subject_key(fiscal.id, gone)
    with in_tenant(fiscal):
        assert db.session.get(ShreddedSubject, killed) is not None        # the killed purge was finished first
        assert db.session.scalar(sa.select(sa.func.count()).select_from(SuppressionEntry)) == suppressed_now
        for model in erasure.subject_dependents():
            cls, column, _ = model
            assert db.session.scalar(sa.select(sa.func.count()).select_from(cls).where(
                column.in_([erased_after, killed, keyless]))) == 0
        assert db.session.scalar(sa.select(sa.func.count()).select_from(RetentionDecision).where(
            RetentionDecision.record_id == erased_after)) == 1                     # later decisions stay
        assert suppression.is_suppressed(email=None) is False


def test_a_restriction_made_after_the_backup_is_applied_again(fiscal, ctx):
    held = _person(fiscal)                     # ended 2024: the fiscal fields are held
    backup = _backup(fiscal)
    assert _erase(fiscal, held).status == "restricted"
    with in_tenant(fiscal):
        plan = operations.restore(fiscal, backup.path)
    assert [subject_id for subject_id, _, _ in plan.restrict_again] == [held]
    with in_tenant(fiscal):
        person = db.session.get(DataSubject, held)
        assert person.email is None and person.iban == "NL91ABNA0417164300" and person.restricted_at is not None


def test_a_restore_is_refused_for_another_tenant_or_schema_and_writes_nothing(fiscal, make_tenant, ctx, monkeypatch):
    person = _person(fiscal)
    other = make_tenant(plugins=["fiscal"])
    backup = _backup(fiscal)
    with in_tenant(other), pytest.raises(operations.RestoreRefused, match="not of"):
        operations.restore(other, backup.path)
    monkeypatch.setattr(queries, "schema_revision", lambda: ["0000other"])
    with in_tenant(fiscal), pytest.raises(operations.RestoreRefused, match="schema revision"):
        operations.restore(fiscal, backup.path)
    monkeypatch.undo()
    data = bytearray(backup.path.read_bytes())
    data[len(data) // 2] ^= 0xFF
    backup.path.write_bytes(bytes(data))
    with in_tenant(fiscal), pytest.raises(operations.RestoreRefused, match="MAC"):
        operations.restore(fiscal, backup.path)
    assert _people(fiscal) == {person}


def test_a_failing_restore_leaves_the_tenant_as_it_was(fiscal, ctx, monkeypatch):
    person = _person(fiscal)
    backup = _backup(fiscal)
    assert _erase(fiscal, person).status == "restricted"
    survivor = _person(fiscal)

    def broken(*_args, **_kwargs):
        raise RuntimeError("disk full")

    monkeypatch.setattr(operations.audit, "record", broken)   # fails after the rows were written
    with in_tenant(fiscal), pytest.raises(RuntimeError):
        operations.restore(fiscal, backup.path)
    assert _people(fiscal) == {person, survivor}
    assert _readable(fiscal, survivor).endswith("@voorbeeld-mail.nl") and _readable(fiscal, person) is None


# --- the plan in the tenant file -------------------------------------------------------------------------

def _tenant_file(tmp_path, extra: str) -> Path:
    path = tmp_path / "plan.toml"
    path.write_text('slug = "plan"\nname = "P"\nlocale = "en"\nplugins = ["fiscal"]\nrights_request_days = 30\n'
                    f'[contact]\nrole = "contact"\n{extra}', encoding="utf-8")
    return path


def test_the_tenant_file_sets_the_plan_within_the_erasure_window(tmp_path):
    from saas.modules.tenants.models import Tenant
    from saas.modules.tenants.schemas import TenantConfigError, read_tenant_file
    from saas.plugins import manager

    config = read_tenant_file(_tenant_file(tmp_path, "[backups]\ndaily = 7\nmonthly = 2\n"), manager.load())
    assert config.fields["settings"]["backups"] == {"daily": 7, "monthly": 2}
    assert queries.plan_of(Tenant(settings=config.fields["settings"])) == Plan(daily=7, monthly=2)
    default = read_tenant_file(_tenant_file(tmp_path, ""), manager.load())
    assert "backups" not in default.fields["settings"]
    assert queries.plan_of(Tenant(settings=default.fields["settings"])) == Plan(daily=14, monthly=6)
    with pytest.raises(TenantConfigError) as raised:
        read_tenant_file(_tenant_file(tmp_path, "[backups]\nmonthly = 7\n"), manager.load())
    assert [p.key for p in raised.value.problems] == ["backups.monthly"]


def test_a_person_whose_key_went_before_the_backup_but_whose_row_it_holds_stays_out(fiscal, ctx):
    """The old order (key first, then a crash): the backup holds the row, the ledger already named it."""
    half, whole = _person(fiscal, ended=date(2010, 1, 1)), _person(fiscal, ended=date(2010, 1, 1))
    with in_tenant(fiscal):
        keyring().destroy_subject_keys(fiscal.id, [half], "erasure")
    backup = _backup(fiscal)
    with in_tenant(fiscal):
        plan = operations.restore(fiscal, backup.path)
    assert plan.erased_before == [half] and plan.erased_after == [] and plan.keyless == []
    assert _people(fiscal) == {whole}


def test_stored_files_follow_their_rows(fiscal, ctx):
    """Files are not in the backup: a row comes back only with its file, a file only with its row."""
    from saas.modules.files import operations as files
    from saas.modules.files import storage

    person = _person(fiscal, ended=date(2010, 1, 1))
    with in_tenant(fiscal):
        before = files.save(b"NDA van voor de back-up", "text/plain", "nda", subject_id=person)
        lost = files.save(b"bestand dat kwijt raakt", "text/plain", "nda", subject_id=person)
        db.session.flush()
        before_path, lost_path, before_id = storage.path_of(before), storage.path_of(lost), before.id
    backup = _backup(fiscal)
    with in_tenant(fiscal):
        after = files.save(b"NDA van na de back-up", "text/plain", "nda", subject_id=person)
        db.session.flush()
        after_path = storage.path_of(after)
    lost_path.unlink()                                  # the storage folder's copy of it is gone
    with in_tenant(fiscal):
        plan = operations.restore(fiscal, backup.path)
    assert plan.left_out == {"stored_file": 1}
    assert before_path.exists() and not after_path.exists()
    with in_tenant(fiscal):
        from saas.modules.files.models import StoredFile

        assert set(db.session.scalars(sa.select(StoredFile.id))) == {before_id}
        assert storage.read(db.session.get(StoredFile, before_id)) == b"NDA van voor de back-up"
