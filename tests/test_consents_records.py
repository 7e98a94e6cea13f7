"""Consent records: a history that is never rewritten, the purposes that hold on a date (the retention engine's
batched read, edges by the day), and the portal and API that record and withdraw them."""
from __future__ import annotations

from datetime import date, datetime, timedelta, timezone

import pytest
import sqlalchemy as sa

from saas.core import clock
from saas.extensions import db
from saas.modules.consents import operations, queries
from saas.modules.consents.models import ConsentRecord
from saas.modules.subjects.models import DataSubject
from saas.testing.fixtures_api import bearer
from saas.testing.fixtures_crypto import counting_statements
from saas.testing.records import count, in_tenant

GIVEN = datetime(2025, 3, 10, 14, tzinfo=timezone.utc)   # 15:00 in Amsterdam, 10 March


def _subject(tenant, **fields) -> DataSubject:
    fields.setdefault("category", "applicant")
    with in_tenant(tenant):
        subject = DataSubject(family_name="Visser", **fields)
        db.session.add(subject)
        subject_id = subject.id
    return subject_id


def _give(tenant, subject_id, purpose="applicant_pool", **kwargs) -> ConsentRecord:
    kwargs.setdefault("given_at", GIVEN)
    with in_tenant(tenant):
        record = operations.give_consent(db.session.get(DataSubject, subject_id), purpose, "consent",
                                         "Mogen wij uw sollicitatie een jaar bewaren? Ja.", "web", **kwargs)
        record_id = record.id
    return record_id


def _purposes(tenant, ids, on_date):
    with in_tenant(tenant):
        return queries.active_purposes(ids, on_date)


def test_a_grant_holds_from_the_day_it_was_given_until_the_day_it_expires(make_tenant):
    tenant = make_tenant()
    subject = _subject(tenant)
    _give(tenant, subject, expires_on=date(2026, 3, 10))
    assert _purposes(tenant, [subject], date(2025, 3, 9)) == {}
    assert _purposes(tenant, [subject], date(2025, 3, 10)) == {subject: frozenset({"applicant_pool"})}
    assert _purposes(tenant, [subject], date(2026, 3, 9)) == {subject: frozenset({"applicant_pool"})}
    assert _purposes(tenant, [subject], date(2026, 3, 10)) == {}


def test_a_withdrawal_ends_the_grant_on_its_day_and_stays_in_the_history(make_tenant, audit_lines):
    tenant = make_tenant()
    subject = _subject(tenant)
    record_id = _give(tenant, subject)
    clock.set_now(datetime(2025, 6, 1, 22, 30, tzinfo=timezone.utc))  # 00:30 on 2 June in Amsterdam
    with in_tenant(tenant):
        operations.withdraw(db.session.get(ConsentRecord, record_id))
    with in_tenant(tenant), pytest.raises(operations.AlreadyWithdrawn):
        operations.withdraw(db.session.get(ConsentRecord, record_id))
    assert _purposes(tenant, [subject], date(2025, 6, 1)) == {subject: frozenset({"applicant_pool"})}
    assert _purposes(tenant, [subject], date(2025, 6, 2)) == {}
    with in_tenant(tenant):
        [record] = queries.history(db.session.get(DataSubject, subject))
        assert queries.status_of(record) == queries.WITHDRAWN and record.evidence_text.startswith("Mogen wij")
    assert [line[3]["purpose"] for line in audit_lines(tenant.id, "consent.withdraw")] == ["applicant_pool"]


def test_active_purposes_reads_a_batch_in_one_query(make_tenant, app):
    tenant = make_tenant()
    ids = [_subject(tenant) for _ in range(6)]
    _give(tenant, ids[0])
    _give(tenant, ids[0], purpose="newsletter")
    _give(tenant, ids[1], expires_on=date(2025, 4, 1))
    withdrawn = _give(tenant, ids[2])
    with in_tenant(tenant):
        db.session.get(ConsentRecord, withdrawn).withdrawn_at = GIVEN + timedelta(days=1)
    other = make_tenant()
    stranger = _subject(other)
    _give(other, stranger)

    with in_tenant(tenant), counting_statements(db.engine, "consent_record") as seen:
        found = queries.active_purposes([*ids, stranger], date(2025, 5, 1))
    assert found == {ids[0]: frozenset({"applicant_pool", "newsletter"})}
    assert len(seen) == 1
    assert _purposes(tenant, [], date(2025, 5, 1)) == {}


@pytest.mark.parametrize("kwargs, field", [
    ({"legal_basis": "because"}, "legal_basis"),
    ({"channel": "pigeon"}, "channel"),
    ({"evidence_text": "   "}, "evidence_text"),
    ({"purpose": ""}, "purpose"),
    ({"expires_on": date(2025, 3, 10)}, "expires_on"),
    ({"given_at": datetime(2030, 1, 1, tzinfo=timezone.utc)}, "given_on"),
])
def test_bad_grants_are_refused_and_write_nothing(make_tenant, kwargs, field):
    tenant = make_tenant()
    subject = _subject(tenant)
    values = {"purpose": "applicant_pool", "legal_basis": "consent", "evidence_text": "Ja", "channel": "web",
              "given_at": GIVEN, **kwargs}
    with in_tenant(tenant), pytest.raises(operations.ConsentRejected) as refused:
        operations.give_consent(db.session.get(DataSubject, subject), **values)
    assert field in refused.value.errors
    assert count(tenant, ConsentRecord) == 0


def test_api_history_give_and_withdraw(web_tenant, api_user, client, audit_rows):
    subject = _subject(web_tenant)
    _user, token = api_user(role="supervisor")
    url = f"/api/v1/{web_tenant.slug}/subjects/{subject}/consents"
    given = client.post(url, headers=bearer(token), json={
        "purpose": "newsletter", "legal_basis": "consent", "channel": "phone",
        "evidence_text": "Telefonisch: mag u onze nieuwsbrief ontvangen? Ja.", "expires_on": "2030-01-01"})
    assert given.status_code == 201, given.json
    assert (given.json["status"], given.json["channel"]) == ("active", "phone")
    withdrawn = client.post(f"{url}/{given.json['id']}/withdraw", headers=bearer(token))
    assert withdrawn.status_code == 200 and withdrawn.json["status"] == "withdrawn"
    assert client.post(f"{url}/{given.json['id']}/withdraw", headers=bearer(token)).status_code == 409
    history = client.get(url, headers=bearer(token)).json
    assert [(r["purpose"], r["status"]) for r in history] == [("newsletter", "withdrawn")]
    text = str(audit_rows(web_tenant))
    assert "Telefonisch" not in text and "consent.give" in text

    bad = client.post(url, headers=bearer(token), json={"purpose": "x", "legal_basis": "whim", "channel": "web",
                                                        "evidence_text": "Ja"})
    assert bad.status_code == 422 and "legal_basis" in bad.json["errors"]["json"]
    late = client.post(url, headers=bearer(token), json={"purpose": "x", "legal_basis": "consent", "channel": "web",
                                                         "evidence_text": "Ja", "given_at": "2025-05-01T10:00:00Z",
                                                         "expires_on": "2025-04-01"})
    assert late.status_code == 422 and "expires_on" in late.json["errors"]["json"]
    assert count(web_tenant, ConsentRecord) == 1


def test_agents_and_clients_cannot_record_consents(web_tenant, api_user, client):
    subject = _subject(web_tenant)
    _user, token = api_user(role="agent")
    body = {"purpose": "newsletter", "legal_basis": "consent", "channel": "web", "evidence_text": "Ja"}
    # An agent without an assignment does not even see the subject.
    assert client.post(f"/api/v1/{web_tenant.slug}/subjects/{subject}/consents", headers=bearer(token),
                       json=body).status_code == 404
    assert count(web_tenant, ConsentRecord) == 0


def test_another_tenants_subject_or_grant_is_404(make_tenant, web_tenant, api_user, client, make_user, browser_as,
                                                 page_token):
    other = make_tenant()
    theirs = _subject(other)
    their_record = _give(other, theirs)
    mine = _subject(web_tenant)
    _user, token = api_user()
    api = f"/api/v1/{web_tenant.slug}/subjects"
    body = {"purpose": "newsletter", "legal_basis": "consent", "channel": "web", "evidence_text": "Ja"}
    assert client.get(f"{api}/{theirs}/consents", headers=bearer(token)).status_code == 404
    assert client.post(f"{api}/{theirs}/consents", headers=bearer(token), json=body).status_code == 404
    assert client.post(f"{api}/{theirs}/consents/{their_record}/withdraw", headers=bearer(token)).status_code == 404
    assert client.post(f"{api}/{mine}/consents/{their_record}/withdraw", headers=bearer(token)).status_code == 404
    assert client.post(f"{api}/{mine}/consents/not-an-id/withdraw", headers=bearer(token)).status_code == 404

    browser = browser_as(*make_user(role="admin"))
    portal = f"/{web_tenant.slug}/subjects"
    token = page_token(browser, f"{portal}/{mine}/consents/new")
    assert browser.get(f"{portal}/{theirs}/consents/new").status_code == 404
    assert browser.post(f"{portal}/{theirs}/consents/new", data={"csrf_token": token, **body,
                                                                 "given_on": "2025-01-01"}).status_code == 404
    assert browser.post(f"{portal}/{theirs}/consents/{their_record}/withdraw",
                        data={"csrf_token": token}).status_code == 404
    assert browser.post(f"{portal}/{mine}/consents/{their_record}/withdraw",
                        data={"csrf_token": token}).status_code == 404
    with in_tenant(other):
        assert db.session.get(ConsentRecord, their_record).withdrawn_at is None
        assert db.session.scalar(sa.select(sa.func.count(ConsentRecord.id))) == 1


def test_portal_records_and_withdraws(web_tenant, make_user, browser_as, page_token):
    subject = _subject(web_tenant)
    browser = browser_as(*make_user(role="supervisor"))
    path = f"/{web_tenant.slug}/subjects/{subject}/consents/new"
    token = page_token(browser, path)
    form = {"csrf_token": token, "purpose": "applicant_pool", "legal_basis": "consent", "channel": "paper",
            "evidence_text": "Formulier getekend op de open dag.", "given_on": "2025-09-12", "expires_on": ""}
    refused = browser.post(path, data={**form, "expires_on": "2025-09-01"})
    assert refused.status_code == 400 and 'id="expires_on-errors"' in refused.get_data(as_text=True)
    assert count(web_tenant, ConsentRecord) == 0

    assert browser.post(path, data=form).status_code == 302
    with in_tenant(web_tenant):
        record = db.session.scalar(sa.select(ConsentRecord))
        assert (record.channel, clock.local(record.given_at).date()) == ("paper", date(2025, 9, 12))
        record_id = record.id
    page = browser.get(f"/{web_tenant.slug}/subjects/{subject}").get_data(as_text=True)
    assert "Formulier getekend op de open dag." in page
    assert browser.post(f"/{web_tenant.slug}/subjects/{subject}/consents/{record_id}/withdraw",
                        data={"csrf_token": token}).status_code == 302
    with in_tenant(web_tenant):
        assert db.session.get(ConsentRecord, record_id).withdrawn_at is not None

    agent = browser_as(*make_user(role="agent"))
    assert agent.get(path).status_code == 404
