"""Layers 1 and 2 of tenant isolation: the ORM adds the tenant and fails closed."""
import pytest
import sqlalchemy as sa

from saas.core.tenancy import CrossTenantWrite, NoTenantError
from saas.core.crypto.keyring import KeyMissing
from saas.extensions import db
from saas.modules.clients.models import ClientOrganisation
from saas.modules.subjects.models import DataSubject


def _subject(**fields):
    subject = DataSubject(category="candidate", **fields)
    db.session.add(subject)
    return subject


def test_query_without_tenant_fails_closed(ctx, make_tenant, as_tenant):
    with pytest.raises(NoTenantError):
        db.session.scalars(sa.select(DataSubject)).all()


def test_each_tenant_sees_only_its_rows(ctx, make_tenant, as_tenant):
    a, b = make_tenant(), make_tenant()
    as_tenant(a)
    mine = _subject(given_name="Anna")
    as_tenant(b)
    _subject(given_name="Bert")
    as_tenant(a)
    rows = db.session.scalars(sa.select(DataSubject)).all()
    assert [r.id for r in rows] == [mine.id]
    assert rows[0].given_name == "Anna"


def test_get_of_other_tenants_id_returns_none(ctx, make_tenant, as_tenant):
    a, b = make_tenant(), make_tenant()
    as_tenant(b)
    theirs_id = _subject(given_name="Bert").id
    as_tenant(a)
    db.session.expunge_all()
    assert db.session.get(DataSubject, theirs_id) is None


def test_bulk_update_and_delete_stay_in_tenant(ctx, make_tenant, as_tenant):
    a, b = make_tenant(), make_tenant()
    as_tenant(b)
    theirs = _subject(source="import")
    as_tenant(a)
    _subject(source="import")
    db.session.flush()
    assert db.session.execute(sa.update(DataSubject).values(source="x")).rowcount == 1
    assert db.session.execute(sa.delete(DataSubject)).rowcount == 1
    as_tenant(b)
    assert db.session.get(DataSubject, theirs.id).source == "import"


def test_new_rows_are_stamped_and_foreign_rows_refused(ctx, make_tenant, as_tenant):
    a, b = make_tenant(), make_tenant()
    as_tenant(a)
    subject = _subject()
    db.session.flush()
    assert subject.tenant_id == a.id
    db.session.add(ClientOrganisation(name="Stray", tenant_id=b.id))
    with pytest.raises(CrossTenantWrite):
        db.session.flush()


def test_subject_for_another_tenant_cannot_even_get_a_key(ctx, make_tenant, as_tenant):
    a, b = make_tenant(), make_tenant()
    as_tenant(a)
    with pytest.raises(KeyMissing):
        DataSubject(category="candidate", tenant_id=b.id)


def test_bulk_update_cannot_move_rows_to_another_tenant(ctx, make_tenant, as_tenant):
    a, b = make_tenant(), make_tenant()
    as_tenant(a)
    db.session.add(ClientOrganisation(name="Mine"))
    db.session.flush()
    with pytest.raises(CrossTenantWrite):
        db.session.execute(sa.update(ClientOrganisation).values(tenant_id=b.id))
    with pytest.raises(CrossTenantWrite):
        db.session.execute(sa.update(ClientOrganisation).values({ClientOrganisation.tenant_id: b.id}))


def test_count_over_select_from_is_filtered_or_refused(ctx, make_tenant, as_tenant):
    a, b = make_tenant(), make_tenant()
    as_tenant(b)
    db.session.add(ClientOrganisation(name="Theirs"))
    as_tenant(None)
    count = sa.select(sa.func.count()).select_from(ClientOrganisation)
    with pytest.raises(NoTenantError):
        db.session.scalar(count)
    as_tenant(a)
    assert db.session.scalar(count) == 0
