"""A web that shrugs off a lost connection (issue 16 item 3): PostgreSQL backends of the app terminated between
requests and during one. Never a 500: a read succeeds (pre-ping, or one retry), a write gets 503 with
Retry-After and nothing of it is written."""
from __future__ import annotations

import pytest
import sqlalchemy as sa

from saas.extensions import db
from saas.modules.subjects import operations as subject_operations
from saas.modules.subjects import queries as subject_queries
from saas.modules.subjects.models import DataSubject
from saas.testing.core import database_only
from saas.testing.fixtures_api import bearer

pytestmark = database_only("postgresql", "terminates the app's PostgreSQL backends (pg_terminate_backend)")
PERSON = {"category": "client_contact", "given_name": "Femke", "family_name": "de Vries",
          "email": "femke.devries@example.nl"}


@pytest.fixture()
def terminate(pg_server, settings):
    """terminate() ends every backend of the app's role in the data and key databases, as a restart does."""
    engine = sa.create_engine(pg_server.admin_url, isolation_level="AUTOCOMMIT")
    names = [url.rsplit("/", 1)[1].split("?")[0] for url in (settings.database_url, settings.keys_database_url)]

    def _terminate() -> int:
        with engine.connect() as connection:
            return connection.execute(sa.text(
                "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
                "WHERE datname = ANY(:names) AND usename = 'saas_app' AND pid <> pg_backend_pid()"),
                {"names": names}).scalar_one()

    yield _terminate
    engine.dispose()


@pytest.fixture(autouse=True)
def _forget_dead_connections(ctx):
    """The test's own session shares the requests' app context: drop what the termination killed."""
    yield
    db.session().invalidate()


@pytest.fixture()
def tenant(make_tenant):
    return make_tenant(plugins=["fiscal"])


def _count(tenant, settings) -> int:
    """Counted on a connection of its own (the owner's): what the database holds, whatever the session."""
    engine = sa.create_engine(settings.database_owner_url)
    with engine.connect() as connection:
        connection.execute(sa.text("SELECT set_config('app.tenant_id', :tid, false)"), {"tid": str(tenant.id)})
        count = connection.execute(sa.select(sa.func.count()).select_from(DataSubject.__table__)
                                   .where(DataSubject.__table__.c.tenant_id == tenant.id)).scalar_one()
    engine.dispose()
    return count


def test_connections_terminated_between_requests_are_not_noticed(tenant, api_user, client, terminate, settings):
    _user, token = api_user(tenant=tenant)
    url = f"/api/v1/{tenant.slug}/subjects"
    assert client.post(url, headers=bearer(token), json=PERSON).status_code == 201
    assert client.get(url, headers=bearer(token)).status_code == 200
    db.session.rollback()
    assert terminate() >= 1
    assert client.get(url, headers=bearer(token)).status_code == 200     # pre-ping: a fresh connection
    assert terminate() >= 1
    assert client.post(url, headers=bearer(token), json=PERSON).status_code == 201
    assert _count(tenant, settings) == 2


def test_a_read_that_loses_its_connection_is_tried_once_more(tenant, api_user, client, terminate, monkeypatch):
    _user, token = api_user(tenant=tenant)
    url = f"/api/v1/{tenant.slug}/subjects"
    assert client.post(url, headers=bearer(token), json=PERSON).status_code == 201
    calls = []
    original = subject_queries.list_subjects

    def cut_once(*args, **kwargs):
        calls.append(1)
        if len(calls) == 1:
            terminate()   # mid-request: the connection that authenticated the request is gone
        return original(*args, **kwargs)

    monkeypatch.setattr(subject_queries, "list_subjects", cut_once)
    answer = client.get(url, headers=bearer(token))
    assert answer.status_code == 200 and len(answer.json) == 1 and len(calls) == 2


def test_a_write_that_loses_its_connection_gets_503_and_writes_nothing(tenant, api_user, client, terminate,
                                                                       monkeypatch, settings):
    _user, token = api_user(tenant=tenant)
    url = f"/api/v1/{tenant.slug}/subjects"
    original = subject_operations.create_subject

    def cut_after_writing(data):
        subject = original(data)
        db.session.flush()
        terminate()   # written, not committed: the commit point meets a dead connection
        return subject

    monkeypatch.setattr(subject_operations, "create_subject", cut_after_writing)
    answer = client.post(url, headers=bearer(token), json=PERSON)
    assert answer.status_code == 503 and answer.is_json
    assert answer.json["code"] == 503 and answer.json["message"]
    assert int(answer.headers["Retry-After"]) > 0
    assert _count(tenant, settings) == 0
    monkeypatch.undo()
    assert client.post(url, headers=bearer(token), json=PERSON).status_code == 201   # sent again: it works


@pytest.mark.parametrize(("locale", "title"), [("nl", "Even niet beschikbaar"), ("en", "Briefly unavailable")])
def test_the_portal_says_so_in_its_language_when_a_read_fails_twice(tenant, make_user, browser_as, terminate,
                                                                    monkeypatch, locale, title):
    user, password = make_user(role="admin", tenant=tenant)
    user.locale = locale   # the language the login puts in the session
    db.session.commit()
    browser = browser_as(user, password)
    original = subject_queries.list_subjects

    def cut_always(*args, **kwargs):
        terminate()
        return original(*args, **kwargs)

    monkeypatch.setattr(subject_queries, "list_subjects", cut_always)
    answer = browser.get(f"/{tenant.slug}/subjects")
    assert answer.status_code == 503 and int(answer.headers["Retry-After"]) > 0
    assert title in answer.get_data(as_text=True)


def test_a_long_transaction_that_audits_does_not_hold_the_tenants_reads(app, tenant, api_user, client):
    """A sweep batch audits early and writes for seconds before it commits; every audited read of the tenant
    appends a line too. The chain head is locked only at commit, so the reads do not wait for the batch."""
    import threading
    import time

    from saas.core.tenancy import tenant_context
    from saas.modules.audit import operations as audit

    _user, token = api_user(tenant=tenant)
    url = f"/api/v1/{tenant.slug}/subjects"
    assert client.post(url, headers=bearer(token), json=PERSON).status_code == 201
    audited, release = threading.Event(), threading.Event()

    def long_batch():
        with app.app_context(), tenant_context(tenant.id):
            audit.record("retention.sweep.batch", "tenant", tenant.id)   # as a batch's first audit line
            db.session.execute(sa.select(DataSubject.id)).all()          # the batch's transaction is open
            audited.set()
            release.wait(10)
            db.session.commit()
            db.session.remove()

    batch = threading.Thread(target=long_batch)
    batch.start()
    try:
        assert audited.wait(10)
        start = time.perf_counter()
        answer = client.get(url, headers=bearer(token))
        waited = time.perf_counter() - start
    finally:
        release.set()
        batch.join()
    assert answer.status_code == 200 and waited < 1.0, waited
