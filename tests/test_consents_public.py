"""The public re-consent page: opening the link changes nothing (mail scanners), "yes" records the consent
with the text shown and restarts the retention clock, "no" erases, and a used, expired or unknown link gets a
clear message with nothing written."""
from __future__ import annotations

import hashlib
import secrets
from datetime import date, datetime, timedelta, timezone

import sqlalchemy as sa

from saas.core import clock
from saas.core.crypto.models import ShreddedSubject
from saas.extensions import db
from saas.modules.consents import operations
from saas.modules.consents.models import ConsentRecord, ConsentRequest
from saas.modules.subjects.models import DataSubject
from saas.testing.fixtures_web import find_csrf_token
from saas.testing.records import count, in_tenant

NOW = datetime(2026, 2, 2, 9, tzinfo=timezone.utc)


def _request(tenant, *, valid_days: int = 14) -> tuple:
    """A candidate with a re-consent request; returns (subject id, request id, the link's path)."""
    clock.set_now(NOW)
    with in_tenant(tenant):
        subject = DataSubject(category="candidate", family_name="Kok", email="j.kok@example.nl",
                              last_contact_on=date(2025, 1, 20))
        db.session.add(subject)
        db.session.flush()
        request, token = operations.create_request(subject, "candidate_pool", date(2026, 1, 20),
                                                   NOW + timedelta(days=valid_days))
        ids = subject.id, request.id
    return (*ids, f"/consent/{token}")


def _state(tenant, subject_id, request_id):
    with in_tenant(tenant):
        request = db.session.get(ConsentRequest, request_id)
        subject = db.session.get(DataSubject, subject_id)
        return (request.answer if request else "gone", subject.last_contact_on if subject else "gone",
                db.session.scalar(sa.select(sa.func.count(ConsentRecord.id))))


def test_opening_the_link_consumes_nothing(make_tenant, client):
    tenant = make_tenant(name="Cliënt Interim Professionals", plugins=["recruitment"])
    subject_id, request_id, path = _request(tenant)
    for _ in range(3):
        page = client.get(path)
        assert page.status_code == 200
        assert "Cliënt Interim Professionals" in page.get_data(as_text=True)
        assert "j.kok@example.nl" not in page.get_data(as_text=True)  # the page shows no personal data
        assert page.headers["Cache-Control"] == "no-store"
    assert _state(tenant, subject_id, request_id) == (None, date(2025, 1, 20), 0)


def test_yes_records_the_consent_with_the_text_shown_and_restarts_the_clock(make_tenant, client, audit_lines):
    tenant = make_tenant(name="Cliënt Interim Professionals", plugins=["recruitment"])
    subject_id, request_id, path = _request(tenant)
    page = client.get(path).get_data(as_text=True)
    response = client.post(path, data={"csrf_token": find_csrf_token(page), "yes": "1"})
    assert response.status_code == 200

    assert _state(tenant, subject_id, request_id) == ("yes", date(2026, 2, 2), 1)
    with in_tenant(tenant):
        record = db.session.scalar(sa.select(ConsentRecord))
        assert (record.purpose, record.legal_basis, record.channel, record.request_id) == (
            "candidate_pool", "consent", "email", request_id)
        assert record.evidence_text.startswith("Cliënt Interim Professionals")
        assert record.evidence_text.split(" — ")[0] in page  # exactly the question that was shown
    [(outcome, object_id, actor, detail)] = audit_lines(tenant.id, "consent.answer")
    assert (outcome, object_id, actor, detail) == ("ok", str(request_id), str(subject_id), {"answer": "yes"})


def test_a_used_link_answers_once(make_tenant, client, new_client):
    tenant = make_tenant()
    subject_id, request_id, path = _request(tenant)
    token = find_csrf_token(client.get(path).get_data(as_text=True))
    second_tab = new_client()
    other_token = find_csrf_token(second_tab.get(path).get_data(as_text=True))
    assert client.post(path, data={"csrf_token": token, "yes": "1"}).status_code == 200

    assert second_tab.post(path, data={"csrf_token": other_token, "no": "1"}).status_code == 410
    assert client.get(path).status_code == 410
    assert _state(tenant, subject_id, request_id) == ("yes", date(2026, 2, 2), 1)


def test_an_expired_link_writes_nothing(make_tenant, client):
    tenant = make_tenant()
    subject_id, request_id, path = _request(tenant, valid_days=14)
    token = find_csrf_token(client.get(path).get_data(as_text=True))
    clock.set_now(NOW + timedelta(days=14, seconds=-1))
    assert client.get(path).status_code == 200
    clock.set_now(NOW + timedelta(days=14))
    assert client.get(path).status_code == 410
    assert client.post(path, data={"csrf_token": token, "yes": "1"}).status_code == 410
    assert _state(tenant, subject_id, request_id) == (None, date(2025, 1, 20), 0)


def test_unknown_forged_and_foreign_links_are_404(make_tenant, client):
    tenant, other = make_tenant(), make_tenant()
    subject_id, request_id, path = _request(tenant)
    token = path.rsplit("/", 1)[1]
    forged = operations.TOKEN_PREFIX + token[2:-1] + ("A" if token[-1] != "A" else "B")
    foreign = operations.new_request_token(other.id)
    csrf = find_csrf_token(client.get(path).get_data(as_text=True))
    for bad in (forged, foreign, "c_" + "x" * 40, "nonsense", "x" * 500):
        assert client.get(f"/consent/{bad}").status_code == 404, bad
        assert client.post(f"/consent/{bad}", data={"csrf_token": csrf, "yes": "1"}).status_code == 404, bad
    assert _state(tenant, subject_id, request_id) == (None, date(2025, 1, 20), 0)


def test_without_the_forms_token_nothing_is_recorded(make_tenant, client):
    tenant = make_tenant()
    subject_id, request_id, path = _request(tenant)
    client.get(path)
    assert client.post(path, data={"yes": "1"}).status_code == 400
    token = find_csrf_token(client.get(path).get_data(as_text=True))
    assert client.post(path, data={"csrf_token": token}).status_code == 400  # neither yes nor no
    assert _state(tenant, subject_id, request_id) == (None, date(2025, 1, 20), 0)


def test_no_removes_the_person(make_tenant, client):
    tenant = make_tenant(plugins=["recruitment"])
    subject_id, request_id, path = _request(tenant)
    token = find_csrf_token(client.get(path).get_data(as_text=True))
    assert client.post(path, data={"csrf_token": token, "no": "1"}).status_code == 200
    with in_tenant(tenant):
        assert db.session.get(DataSubject, subject_id) is None
        assert db.session.get(ShreddedSubject, subject_id) is not None
    assert count(tenant, ConsentRequest) == 0  # gone with the person: the link is unknown now
    assert client.get(path).status_code == 404


def test_a_link_from_elsewhere_is_found_by_its_hash(make_tenant, client):
    """A request made without `create_request` (any random token whose SHA-256 is stored) still works."""
    tenant = make_tenant()
    clock.set_now(NOW)
    token = secrets.token_urlsafe(32)
    with in_tenant(tenant):
        subject = DataSubject(category="candidate", family_name="Bos")
        db.session.add(subject)
        db.session.flush()
        db.session.add(ConsentRequest(subject_id=subject.id, purpose="candidate_pool", due_on=date(2026, 1, 1),
                                      token_hash=hashlib.sha256(token.encode()).digest(),
                                      expires_at=NOW + timedelta(days=1)))
    page = client.get(f"/consent/{token}")
    assert page.status_code == 200
    assert client.post(f"/consent/{token}", data={"csrf_token": find_csrf_token(page.get_data(as_text=True)),
                                                  "yes": "1"}).status_code == 200
    assert count(tenant, ConsentRecord) == 1


def test_no_under_a_fiscal_hold_restricts_instead(make_tenant, client):
    tenant = make_tenant(plugins=["fiscal"])
    clock.set_now(NOW)
    with in_tenant(tenant):
        subject = DataSubject(category="client_contact", family_name="Dekker", email="dekker@example.nl",
                              iban="NL91ABNA0417164300")
        db.session.add(subject)
        db.session.flush()
        _row, token = operations.create_request(subject, "newsletter", date(2026, 1, 1), NOW + timedelta(days=3))
        subject_id = subject.id
    path = f"/consent/{token}"
    page = client.get(path)
    done = client.post(path, data={"csrf_token": find_csrf_token(page.get_data(as_text=True)), "no": "1"})
    assert done.status_code == 200
    with in_tenant(tenant):
        kept = db.session.get(DataSubject, subject_id)
        assert kept.restricted_at is not None
        assert (kept.iban, kept.email) == ("NL91ABNA0417164300", None)  # the fiscal fields stay, the rest goes
