"""`saas keys rotate-master` and `saas keys rotate --tenant`: everything still reads, the stored bytes
change, and both can be interrupted and run again."""
from pathlib import Path

import pytest
import sqlalchemy as sa
from rq.job import Job

from saas.core import tenancy
from saas.core.crypto import aead as box
from saas.core.crypto import masterkey
from saas.core.crypto.masterkey import MasterKeyRing
from saas.core.crypto.keyring import Keyring, keyring
from saas.core.crypto.models import SubjectKey
from saas.extensions import db
from saas.jobs.queues import redis
from saas.modules.files import operations as files
from saas.modules.files import queries as file_queries
from saas.modules.files import storage
from saas.modules.files.models import StoredFile
from saas.modules.keys import cli as keys_cli
from saas.modules.keys import jobs, operations, queries
from saas.modules.subjects.models import DataSubject
from saas.testing.fixtures_crypto import PERSONAL_FIELDS, forget_cached_keys


@pytest.fixture()
def populated(make_tenant, seed_people):
    """A tenant with subjects, a file per subject and a tenant-level file; returns what it holds."""
    tenant = make_tenant()
    people = seed_people(tenant, 5)
    expected_files = {}
    for subject, values in people:
        stored = files.save(f"NDA van {values['given_name']}".encode(), "text/plain", "nda",
                            subject_id=subject.id, filename=f"nda-{values['family_name']}.txt")
        expected_files[stored.id] = (stored.filename, storage.read(stored))
    export = files.save(b"kwartaaloverzicht", "text/csv", "export", filename="overzicht.csv")
    expected_files[export.id] = ("overzicht.csv", b"kwartaaloverzicht")
    db.session.commit()
    return {"tenant_id": tenant.id, "slug": tenant.slug,
            "subjects": {s.id: values for s, values in people}, "files": expected_files}


def _as(tenant_id):
    db.session.commit()
    tenancy.set_tenant(tenant_id)


def _raw_state(populated) -> dict:
    """Every ciphertext and stored file of the tenant, as bytes."""
    _as(populated["tenant_id"])
    state = {}
    for subject in db.session.scalars(sa.select(DataSubject)):
        state[(subject.id, "fields")] = subject.ciphertext
    for stored in db.session.scalars(sa.select(StoredFile)):
        state[(stored.id, "filename")] = stored.ciphertext
        state[(stored.id, "content")] = storage.path_of(stored).read_bytes()
    return state


def _assert_everything_reads(populated) -> None:
    forget_cached_keys()
    _as(populated["tenant_id"])
    subjects = db.session.scalars(sa.select(DataSubject)).all()
    assert {s.id: {n: getattr(s, n) for n in PERSONAL_FIELDS} for s in subjects} == populated["subjects"]
    for file_id, (filename, content) in populated["files"].items():
        stored = file_queries.get(file_id)
        assert (stored.filename, file_queries.read(stored)) == (filename, content)


def _assert_all_changed(before: dict, after: dict) -> None:
    assert before.keys() == after.keys()
    unchanged = [key for key in before if before[key] == after[key]]
    assert not unchanged


def _invoke(app, *args):
    result = app.test_cli_runner().invoke(keys_cli.keys, list(args))
    assert result.exit_code == 0, result.output
    return result.output


def _master_ids_in_use(tenant_id) -> set:
    _as(tenant_id)
    return {row.master_key_id for row in queries.tenant_keys() if row.wrapped is not None}


def _key_file(settings) -> masterkey.MasterKeyRing:
    return masterkey.parse(Path(settings.master_key_file).read_text())


# --- master key ------------------------------------------------------------------------------
def test_rotate_master_rewraps_every_tenant_key_and_drops_the_old_key(app, settings, populated, make_tenant):
    other = make_tenant().id
    old_id = _key_file(settings).active_id
    output = _invoke(app, "rotate-master")
    ring = _key_file(settings)
    assert len(ring.keys) == 1 and ring.active_id != old_id
    assert Path(settings.master_key_file).stat().st_mode & 0o777 == 0o600
    assert f"Dropped {old_id}" in output
    for tenant_id in (populated["tenant_id"], other):
        assert _master_ids_in_use(tenant_id) == {ring.active_id}
    _assert_everything_reads(populated)


def test_a_process_started_before_the_rotation_reloads_the_key_file(app, settings, populated):
    stale = Keyring(_key_file(settings))  # its ring holds only the old master key
    _invoke(app, "rotate-master")
    _as(populated["tenant_id"])
    version, _ = stale.tenant_key(populated["tenant_id"])
    assert version == 1 and stale.master == _key_file(settings)


def test_interrupted_master_rotation_is_completed_by_running_it_again(app, settings, populated, make_tenant):
    other = make_tenant().id
    ring = operations.master_ring_for_rotation(settings)  # the new key is in the file ...
    keyring().master = ring
    operations.rewrap_tenant(populated["tenant_id"])      # ... one tenant done, then the process died
    assert len(_key_file(settings).keys) == 2
    assert _master_ids_in_use(other) == {ring.keys[1][0]}

    _invoke(app, "rotate-master")
    assert _key_file(settings).keys == ring.keys[:1]      # the same new key, not a third one
    for tenant_id in (populated["tenant_id"], other):
        assert _master_ids_in_use(tenant_id) == {ring.active_id}
    _assert_everything_reads(populated)


@pytest.fixture()
def environment_master_key(settings):
    """Run as production does: the key ring comes from SAAS_MASTER_KEY. Afterwards the key file takes
    over whatever key the environment ended with, so later tests read every tenant key."""
    yield
    ring = keyring().master
    settings.master_key = ""
    masterkey.write_file(Path(settings.master_key_file), MasterKeyRing(ring.keys + _key_file(settings).keys))
    keyring().master = _key_file(settings)
    operations.rotate_master(settings)


def test_rotate_master_from_the_environment_needs_the_new_key_listed_first(
        app, settings, populated, environment_master_key):
    current = _key_file(settings)
    settings.master_key = current.serialise()
    result = app.test_cli_runner().invoke(keys_cli.keys, ["rotate-master"])
    assert result.exit_code != 0 and "SAAS_MASTER_KEY=<new>,<current>" in result.output

    new_entry = _invoke(app, "generate-master").strip()
    ring = masterkey.parse(f"{new_entry},{current.serialise()}")
    settings.master_key = ring.serialise()
    keyring().master = ring  # as after the restart with the new environment
    output = _invoke(app, "rotate-master")
    assert f"Nothing uses {current.active_id} any more: remove it from SAAS_MASTER_KEY" in output
    assert _key_file(settings) == current  # the environment is the operator's to change
    assert _master_ids_in_use(populated["tenant_id"]) == {ring.active_id}
    keyring().master = ring.only_active()  # the operator removed the old entry and restarted
    _assert_everything_reads(populated)


# --- tenant data key -------------------------------------------------------------------------
def _start(tenant_id) -> int:
    _as(tenant_id)
    version = operations.start_tenant_rotation(tenant_id)
    db.session.commit()
    return version


def _data_key_states(tenant_id) -> dict:
    _as(tenant_id)
    return {row.version: (row.state, row.wrapped is not None) for row in queries.data_keys()}


def _subject_key_versions(tenant_id) -> list:
    _as(tenant_id)
    return sorted(db.session.scalars(sa.select(SubjectKey.tenant_key_version)))


def test_tenant_rotation_reencrypts_subjects_values_and_files(populated):
    tenant_id = populated["tenant_id"]
    before = _raw_state(populated)
    version = _start(tenant_id)
    assert version == 2 and _data_key_states(tenant_id) == {1: ("retiring", True), 2: ("active", True)}

    result = jobs.rotate_tenant_key(tenant_id=tenant_id, version=version)
    assert result["finished"] and result["subjects"] == 5 and result["files"] == 6
    assert _data_key_states(tenant_id) == {1: ("retired", False), 2: ("active", True)}
    assert _subject_key_versions(tenant_id) == [2] * 5  # one generation per subject, the old one gone
    after = _raw_state(populated)
    _assert_all_changed(before, after)
    for (_, name), blob in after.items():
        kind, generation = box.header_of(blob)
        assert (kind, generation) in ((box.KIND_SUBJECT, 2), (box.KIND_TENANT, 2)), name
    _assert_everything_reads(populated)
    email = next(iter(populated["subjects"].values()))["email"]
    assert db.session.scalar(sa.select(DataSubject).where(  # the blind index is not rotated
        DataSubject.email_bidx == keyring().blind_index(tenant_id, "email", email))) is not None


def test_tenant_rotation_stopped_after_a_batch_resumes_to_the_same_end_state(populated):
    tenant_id = populated["tenant_id"]
    before = _raw_state(populated)
    version = _start(tenant_id)
    partial = jobs.rotate_tenant_key(tenant_id=tenant_id, version=version, batch_size=2, max_batches=1)
    assert not partial["finished"] and partial["subjects"] == 2
    assert _subject_key_versions(tenant_id) == [1, 1, 1, 2, 2]
    assert _data_key_states(tenant_id)[1] == ("retiring", True)
    _assert_everything_reads(populated)  # half-way, both keys are there

    assert _start(tenant_id) == version  # running the command again resumes, no third version
    rest = jobs.rotate_tenant_key(tenant_id=tenant_id, version=version, batch_size=2)
    assert rest["finished"] and rest["subjects"] == 3
    assert _subject_key_versions(tenant_id) == [2] * 5
    _assert_all_changed(before, _raw_state(populated))
    _assert_everything_reads(populated)
    again = jobs.rotate_tenant_key(tenant_id=tenant_id, version=version)
    assert again == {**again, "subjects": 0, "rows": 0, "files": 0, "finished": True}


def test_killed_between_the_key_store_and_the_data_commit_loses_nothing(populated):
    """The key store and the data are two databases: a new key generation is committed before any
    value moves, so a job killed in between leaves two readable generations."""
    tenant_id = populated["tenant_id"]
    version = _start(tenant_id)
    subject_ids = queries.subjects_behind(version, 500)
    keyring().rotate_subject_keys(tenant_id, subject_ids, version)
    db.session.commit()  # ... and here the worker died
    assert _subject_key_versions(tenant_id) == [1] * 5 + [2] * 5
    _assert_everything_reads(populated)

    assert jobs.rotate_tenant_key(tenant_id=tenant_id, version=version)["finished"]
    assert _subject_key_versions(tenant_id) == [2] * 5
    _as(tenant_id)
    generations = set(db.session.scalars(sa.select(SubjectKey.generation)))
    assert generations == {2}  # the generation made before the kill was reused
    _assert_everything_reads(populated)


def test_rotate_command_queues_one_job_with_a_deterministic_id_and_wait_runs_it(app, populated):
    tenant_id = populated["tenant_id"]
    job_id = _invoke(app, "rotate", "--tenant", populated["slug"]).strip()
    assert job_id == f"keyrot-{tenant_id}-v2"
    job = Job.fetch(job_id, connection=redis())
    assert job.origin == "keys" and job.kwargs == {"version": 2} and job.meta["tenant_id"] == tenant_id
    assert _invoke(app, "rotate", "--tenant", populated["slug"]).strip() == job_id  # not queued twice

    output = _invoke(app, "rotate", "--tenant", populated["slug"], "--wait")
    assert output.startswith(f"{job_id}: 5 subject(s)") and "finished: True" in output
    assert Job.fetch(job_id, connection=redis()).meta["progress"]["stage"] == "done"
    assert _data_key_states(tenant_id) == {1: ("retired", False), 2: ("active", True)}


def test_rotate_command_names_an_unknown_tenant(app):
    result = app.test_cli_runner().invoke(keys_cli.keys, ["rotate", "--tenant", "no-such-tenant"])
    assert result.exit_code != 0 and "no-such-tenant" in result.output


def test_after_master_and_tenant_rotation_everything_reads_and_every_byte_changed(app, populated):
    before = _raw_state(populated)
    _invoke(app, "rotate-master")
    _invoke(app, "rotate", "--tenant", populated["slug"], "--wait")
    _assert_all_changed(before, _raw_state(populated))
    _assert_everything_reads(populated)
    assert _data_key_states(populated["tenant_id"]) == {1: ("retired", False), 2: ("active", True)}
