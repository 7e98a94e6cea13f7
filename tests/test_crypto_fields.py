"""Encrypted fields are bound to their place and key; subject keys load in bulk."""
import pytest
import sqlalchemy as sa

from saas.core.crypto import aead as box
from saas.core.crypto.fields import normalise_email
from saas.core.crypto.keyring import KeyMissing, keyring
from saas.extensions import db
from saas.modules.files import operations as files
from saas.modules.outbox.models import OutboxMail
from saas.modules.outbox.operations import queue_mail
from saas.modules.subjects.models import DataSubject
from saas.testing.fixtures_crypto import counting_statements


def _reload(subject_id):
    db.session.commit()
    db.session.expunge_all()
    return db.session.get(DataSubject, subject_id)


def test_fields_read_back_and_are_stored_encrypted(seed_people, make_tenant, fresh_keys):
    (subject, values), = seed_people(make_tenant(), 1)
    fresh_keys()
    stored = _reload(subject.id)
    for name, value in values.items():
        assert getattr(stored, name) == value
        assert value.encode() not in stored.ciphertext
    assert box.header_of(stored.ciphertext) == (box.KIND_SUBJECT, 1)


def test_fields_are_sealed_once_per_flush_and_a_change_is_written(seed_people, make_tenant):
    (subject, values), = seed_people(make_tenant(), 1)
    stored = _reload(subject.id)
    before = stored.ciphertext
    stored.city = "Zwolle"
    stored.notes = None
    assert stored.ciphertext is before          # sealed at flush, not per assignment
    again = _reload(stored.id)
    assert again.ciphertext != before
    assert (again.city, again.notes, again.given_name) == ("Zwolle", None, values["given_name"])


def test_a_rolled_back_change_is_not_read_back(seed_people, make_tenant):
    (subject, values), = seed_people(make_tenant(), 1)
    stored = _reload(subject.id)
    stored.city = "Zwolle"
    db.session.rollback()
    assert stored.city == values["city"]


def test_ciphertext_copied_to_another_row_fails(seed_people, make_tenant):
    (first, _), (second, _) = seed_people(make_tenant(), 2)
    second.ciphertext = first.ciphertext
    with pytest.raises(box.DecryptionError):
        _ = _reload(second.id).email


def test_ciphertext_copied_to_another_table_with_the_same_key_fails(seed_people, make_tenant):
    """A mail about a subject uses the subject's key: only the table in the associated data differs."""
    (subject, _), = seed_people(make_tenant(), 1)
    mail = queue_mail("iemand@example.org", "Onderwerp", "Tekst", template="test", subject_id=subject.id)
    db.session.flush()
    mail.ciphertext = subject.ciphertext
    mail_id = mail.id
    db.session.commit()
    db.session.expunge_all()
    with pytest.raises(box.DecryptionError):
        _ = db.session.get(OutboxMail, mail_id).recipient


def test_ciphertext_copied_to_another_tenant_fails(seed_people, make_tenant, as_tenant):
    tenant_a, tenant_b = make_tenant(), make_tenant()
    (theirs, _), = seed_people(tenant_a, 1)
    blob = theirs.ciphertext
    (mine, _), = seed_people(tenant_b, 1)
    mine.ciphertext = blob
    with pytest.raises(box.DecryptionError):
        _ = _reload(mine.id).email


def test_tenant_level_value_copied_to_another_row_fails(ctx, make_tenant, as_tenant):
    as_tenant(make_tenant())
    first = files.save(b"a", "text/plain", "export", filename="overzicht-januari.csv")
    second = files.save(b"b", "text/plain", "export", filename="overzicht-februari.csv")
    db.session.flush()
    assert box.header_of(first.ciphertext)[0] == box.KIND_TENANT
    second.ciphertext = first.ciphertext
    model, first_id, second_id = type(first), first.id, second.id
    db.session.commit()
    db.session.expunge_all()
    assert db.session.get(model, first_id).filename == "overzicht-januari.csv"
    with pytest.raises(box.DecryptionError):
        _ = db.session.get(model, second_id).filename


def test_altered_ciphertext_fails(seed_people, make_tenant):
    (subject, _), = seed_people(make_tenant(), 1)
    blob = bytearray(subject.ciphertext)
    blob[-1] ^= 1
    subject.ciphertext = bytes(blob)
    with pytest.raises(box.DecryptionError):
        _ = _reload(subject.id).city


def test_blind_index_finds_equal_values_within_a_tenant_only(seed_people, make_tenant, as_tenant):
    tenant_a, tenant_b = make_tenant(), make_tenant()
    (subject, values), = seed_people(tenant_a, 1)
    found = db.session.scalar(sa.select(DataSubject).where(
        DataSubject.email_bidx == keyring().blind_index(tenant_a.id, "email", normalise_email(f" {values['email'].upper()} "))))
    assert found is not None and found.id == subject.id
    bidx_a = subject.email_bidx
    as_tenant(tenant_b)
    assert keyring().blind_index(tenant_b.id, "email", values["email"]) != bidx_a


def test_keys_are_not_handed_out_to_another_tenant(seed_people, make_tenant, as_tenant):
    """Even keys already cached in this session stay with their tenant."""
    tenant_a, tenant_b = make_tenant(), make_tenant()
    (subject, values), = seed_people(tenant_a, 1)
    subject_id = subject.id
    assert subject.given_name == values["given_name"]
    as_tenant(tenant_b)
    for use in (lambda: keyring().subject_key(tenant_a.id, subject_id),
                lambda: keyring().tenant_aead(tenant_a.id),
                lambda: keyring().blind_index(tenant_a.id, "email", values["email"])):
        with pytest.raises(KeyMissing):
            use()


def test_destroyed_subject_key_leaves_only_that_subject_unreadable(seed_people, make_tenant):
    tenant = make_tenant()
    (gone, _), (kept, kept_values) = seed_people(tenant, 2)
    gone_id, kept_id = gone.id, kept.id
    keyring().destroy_subject_key(tenant.id, gone_id, reason="erasure")
    db.session.commit()
    db.session.expunge_all()
    db.session.info.clear()
    with pytest.raises(KeyMissing):
        _ = db.session.get(DataSubject, gone_id).email
    assert db.session.get(DataSubject, kept_id).email == kept_values["email"]


def test_loading_many_subjects_fetches_their_keys_in_a_few_queries(seed_people, make_tenant, fresh_keys):
    tenant = make_tenant()
    seed_people(tenant, 1000)
    fresh_keys()
    with counting_statements(db.engines["keys"], "subject_key") as key_queries:
        subjects = db.session.scalars(sa.select(DataSubject)).all()
        names = [s.family_name for s in subjects]
    assert len(names) == 1000 and all(names)
    assert 1 <= len(key_queries) <= 3, key_queries
