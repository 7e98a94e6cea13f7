"""Rights requests end to end through the API (issue 12): each right, one complete answer for a person in two
clients' databases and the tenant's own records, the fiscal exception, refusals, the extension, reminders,
and another tenant's requests answering 404."""
from __future__ import annotations

import csv
import io
import json
import re
import uuid
from datetime import date, datetime, timezone

import pytest
import sqlalchemy as sa

from saas.core import clock
from saas.extensions import db
from saas.modules.assignments.models import Assignment, AssignmentSubject, CallNote
from saas.modules.audit.models import AuditEntry
from saas.modules.clients.models import ClientOrganisation
from saas.modules.consents import operations as consents
from saas.modules.consents.models import ConsentRecord
from saas.modules.outbox.models import OutboxMail
from saas.modules.retention import suppression
from saas.modules.rights.models import RightsLetter, RightsRequest
from saas.modules.subjects.models import DataSubject
from saas.testing.fixtures_api import bearer
from saas.testing.fixtures_web import find_csrf_token
from saas.testing.records import in_tenant, leadgen_tenant

NOW = datetime(2026, 3, 2, 9, tzinfo=timezone.utc)     # a Monday
EMAIL = "m.jansen@voorbeeld-mail.nl"
PHONE = "06 11 22 33 44"


@pytest.fixture(autouse=True)
def _now():
    clock.set_now(NOW)
    yield
    clock.set_now(None)


@pytest.fixture()
def web_tenant(make_tenant):
    return make_tenant(plugins=["recruitment", "fiscal"], rights_request_days=14)


def _url(tenant, suffix=""):
    return f"/api/v1/{tenant.slug}/rights{suffix}"


def _people(tenant) -> dict:
    """The same person in client A's database, client B's database and the tenant's own records."""
    with in_tenant(tenant):
        a, b = ClientOrganisation(name="Acme Werving"), ClientOrganisation(name="Bolder Bouw")
        db.session.add_all([a, b])
        db.session.flush()
        people = {}
        for key, org in (("a", a), ("b", b), ("own", None)):
            subject = DataSubject(category="candidate", client_org_id=org.id if org else None, source="import",
                                  last_contact_on=date(2026, 1, 10))
            subject.given_name, subject.family_name, subject.email = "Marieke", "Jansen", EMAIL
            subject.city = {"a": "Utrecht", "b": "Zwolle", "own": "Goes"}[key]
            if key == "own":
                subject.phone = PHONE
            db.session.add(subject)
            db.session.flush()
            people[key] = subject.id
        stranger = DataSubject(category="candidate")
        stranger.email, stranger.family_name = "iemand.anders@voorbeeld-mail.nl", "Anders"
        db.session.add(stranger)
        assignment = Assignment(client_org_id=a.id, title="Werving Q1")
        db.session.add(assignment)
        db.session.flush()
        db.session.add(AssignmentSubject(assignment_id=assignment.id, subject_id=people["a"]))
        note = CallNote(assignment_id=assignment.id, subject_id=people["a"])
        note.body = "Teruggebeld, wil liever mailen"
        db.session.add(note)
        consents.give_consent(db.session.get(DataSubject, people["own"]), "candidate_pool", "consent",
                              "Mogen wij uw gegevens bewaren?", "web", None)
        people["stranger"] = stranger.id
    return people


def _mails(tenant, template: str) -> list[OutboxMail]:
    with in_tenant(tenant):
        mails = list(db.session.scalars(sa.select(OutboxMail).where(OutboxMail.template == template)
                                        .order_by(OutboxMail.created_at)))
        for mail in mails:
            mail.__dict__["_body"], mail.__dict__["_to"] = mail.body, mail.recipient
        return mails


def _body(tenant, template: str) -> str:
    mails = _mails(tenant, template)
    assert mails, f"no {template} mail"
    return mails[-1].__dict__["_body"]


def _create(client, token, tenant, **fields):
    response = client.post(_url(tenant), headers=bearer(token), json={"email": EMAIL, **fields})
    assert response.status_code == 201, response.json
    return response.json


def _verified(client, token, tenant, kind: str, **fields) -> dict:
    created = _create(client, token, tenant, kind=kind, **fields)
    verified = client.post(_url(tenant, f"/{created['id']}/verify"), headers=bearer(token),
                           json={"note": "Teruggebeld op het nummer in ons bestand"})
    assert verified.status_code == 200, verified.json
    return verified.json


def _answer(client, token, tenant, request_id, **body):
    response = client.post(_url(tenant, f"/{request_id}/answer"), headers=bearer(token), json=body)
    assert response.status_code == 200, response.json
    return response.json


def _download(client, tenant, letter_template: str, index: int) -> bytes:
    link = re.search(r"https?://[^/\s]+(/rights/\S+/download/\S+)", _body(tenant, letter_template)).group(1)
    code = re.search(r"\b(\d{8})\b", _body(tenant, "rights.download_code")).group(1)
    page = client.get(link)
    assert page.status_code == 200
    wrong = client.post(link, data={"csrf_token": find_csrf_token(page.get_data(as_text=True)), "code": "00000000",
                                    "file": str(index)})
    assert wrong.status_code == 400
    response = client.post(link, data={"csrf_token": find_csrf_token(page.get_data(as_text=True)), "code": code,
                                       "file": str(index)})
    assert response.status_code == 200
    assert response.headers["Cache-Control"] == "no-store"
    return response.data


def test_both_deadlines_are_set_on_receipt(web_tenant, api_user, client):
    _user, token = api_user()
    created = _create(client, token, web_tenant, kind="access", received_on="2026-01-31")
    assert (created["legal_due_on"], created["target_due_on"], created["status"]) == (
        "2026-02-28", "2026-02-13", "received")
    # A code went to the address given; nothing else yet.
    assert len(_mails(web_tenant, "rights.code")) == 1


def test_access_gives_one_complete_answer_for_all_records(web_tenant, api_user, client):
    people = _people(web_tenant)
    _user, token = api_user()
    verified = _verified(client, token, web_tenant, "access", phone=PHONE)
    assert sorted(verified["person_ids"]) == sorted(str(people[k]) for k in ("a", "b", "own"))
    answered = _answer(client, token, web_tenant, verified["id"])
    assert (answered["status"], answered["outcome"]) == ("answered", {"records": 3})

    letter = _body(web_tenant, "rights.access")
    assert "download" in letter and "Marieke" not in letter.split("\n", 1)[1]   # a link, not the data
    with in_tenant(web_tenant):
        assert all(not mail.attachments for mail in db.session.scalars(sa.select(OutboxMail)))

    report = json.loads(_download(client, web_tenant, "rights.access", 1))
    assert len(report["records"]) == 3
    assert {r["database"] for r in report["records"]} == {"Acme Werving", "Bolder Bouw", web_tenant.name}
    assert report["recipients"] == ["Acme Werving", "Bolder Bouw"]
    assert report["automated_decision_making"] is False
    assert report["purposes"] == ["candidate_pool"]
    by_city = {r["fields"]["city"]: r for r in report["records"]}
    assert by_city["Utrecht"]["call_notes"][0]["note"] == "Teruggebeld, wil liever mailen"
    assert by_city["Utrecht"]["assignments"] == [{"assignment": "Werving Q1", "client": "Acme Werving", "active": True}]
    assert by_city["Goes"]["consents"][0]["purpose"] == "candidate_pool"
    assert by_city["Utrecht"]["source"].startswith("client organisation Acme Werving")
    assert all(r["retention"] for r in report["records"])     # the live rules give each record its date
    purge = [rule for rule in by_city["Zwolle"]["retention"] if rule["action"] == "purge"]
    assert [(rule["due_on"], rule["period"]) for rule in purge] == [("2028-01-10", {"months": 24})]
    assert "Anders" not in json.dumps(report)

    pdf = _download(client, web_tenant, "rights.access", 0)
    assert pdf.startswith(b"%PDF")


def test_rectification_is_applied_to_every_record_and_audited(web_tenant, api_user, client):
    people = _people(web_tenant)
    _user, token = api_user()
    verified = _verified(client, token, web_tenant, "rectification")
    answered = _answer(client, token, web_tenant, verified["id"], changes={"family_name": "Jansen-de Boer"})
    assert answered["outcome"]["fields"] == ["family_name"]
    with in_tenant(web_tenant):
        assert {db.session.get(DataSubject, people[k]).family_name for k in ("a", "b", "own")} == {"Jansen-de Boer"}
        assert db.session.get(DataSubject, people["stranger"]).family_name == "Anders"
        audited = db.session.scalars(sa.select(AuditEntry.object_id).where(AuditEntry.action == "subject.update"))
        assert {str(people[k]) for k in ("a", "b", "own")} <= set(audited)
    bad = _verified(client, token, web_tenant, "rectification")
    refused = client.post(_url(web_tenant, f"/{bad['id']}/answer"), headers=bearer(token),
                          json={"changes": {"category": "x"}})
    assert refused.status_code == 422


def test_portability_gives_json_and_csv(web_tenant, api_user, client):
    _people(web_tenant)
    _user, token = api_user()
    verified = _verified(client, token, web_tenant, "portability")
    _answer(client, token, web_tenant, verified["id"])
    data = json.loads(_download(client, web_tenant, "rights.portability", 0))
    assert len(data["records"]) == 3
    rows = list(csv.DictReader(io.StringIO(_download(client, web_tenant, "rights.portability", 1).decode())))
    assert sorted(r["city"] for r in rows) == ["Goes", "Utrecht", "Zwolle"]


def test_erasure_keeps_the_fiscal_fields_and_names_the_law(make_tenant, api_user, client):
    tenant = make_tenant(plugins=["fiscal"], rights_request_days=28)
    with in_tenant(tenant):
        contact = DataSubject(category="client_contact", relationship_ended_on=date(2025, 6, 1))
        contact.family_name, contact.email, contact.iban, contact.notes = "Jansen", EMAIL, "NL91ABNA0417164300", "x"
        db.session.add(contact)
        db.session.flush()
        contact_id = contact.id
    _user, token = api_user(tenant=tenant)
    verified = _verified(client, token, tenant, "erasure")
    answered = _answer(client, token, tenant, verified["id"])
    assert answered["outcome"]["restricted"] == 1
    assert "iban" in answered["outcome"]["kept"] and "notes" not in answered["outcome"]["kept"]
    assert answered["outcome"]["law"] == ["GDPR art. 17(3)(b)", "AWR art. 52"]
    letter = _body(tenant, "rights.erasure")
    assert "artikel 52 Algemene wet inzake rijksbelastingen" in letter and "17, lid 3, onder b" in letter
    with in_tenant(tenant):
        kept = db.session.get(DataSubject, contact_id)
        assert (kept.iban, kept.notes, kept.restricted_at is not None) == ("NL91ABNA0417164300", None, True)


def test_erasure_without_a_hold_erases_every_record(web_tenant, api_user, client):
    people = _people(web_tenant)
    _user, token = api_user()
    verified = _verified(client, token, web_tenant, "erasure")
    answered = _answer(client, token, web_tenant, verified["id"])
    assert (answered["outcome"]["purged"], answered["outcome"]["kept"]) == (3, [])
    with in_tenant(web_tenant):
        assert db.session.scalar(sa.select(sa.func.count(DataSubject.id))) == 1   # only the stranger
        assert db.session.get(RightsRequest, uuid.UUID(verified["id"])) is not None   # the register stays
    assert people


@pytest.mark.parametrize("kind", ["objection", "do_not_contact"])
def test_objection_and_do_not_contact_suppress_the_person(web_tenant, api_user, client, kind):
    _people(web_tenant)
    _user, token = api_user()
    verified = _verified(client, token, web_tenant, kind)
    answered = _answer(client, token, web_tenant, verified["id"])
    assert answered["outcome"]["consents_withdrawn"] == 1
    with in_tenant(web_tenant):
        assert suppression.is_suppressed(email=EMAIL.upper())
        assert suppression.is_suppressed(phone="+31 6 11223344")
        assert not suppression.is_suppressed(email="iemand.anders@voorbeeld-mail.nl")


def test_an_objecting_prospect_cannot_be_added_again(make_tenant, api_user, client):
    """Leadhunter (seed 004 s.7): the person is suppressed for future assignments; a new record is refused."""
    tenant = leadgen_tenant(make_tenant)
    _user, token = api_user(tenant=tenant)
    verified = _verified(client, token, tenant, "objection")
    _answer(client, token, tenant, verified["id"])
    refused = client.post(f"/api/v1/{tenant.slug}/subjects", headers=bearer(token),
                          json={"category": "prospect", "email": EMAIL, "family_name": "Jansen"})
    assert refused.status_code == 422


def test_objection_of_someone_we_hold_nothing_about_still_suppresses(web_tenant, api_user, client):
    _user, token = api_user()
    verified = _verified(client, token, web_tenant, "objection", email="nieuw@voorbeeld-mail.nl")
    _answer(client, token, web_tenant, verified["id"])
    with in_tenant(web_tenant):
        assert suppression.is_suppressed(email="nieuw@voorbeeld-mail.nl")


def test_withdrawal_and_restriction(web_tenant, api_user, client):
    people = _people(web_tenant)
    _user, token = api_user()
    withdrawal = _verified(client, token, web_tenant, "withdrawal")
    assert _answer(client, token, web_tenant, withdrawal["id"])["outcome"]["consents_withdrawn"] == 1
    restriction = _verified(client, token, web_tenant, "restriction")
    _answer(client, token, web_tenant, restriction["id"])
    with in_tenant(web_tenant):
        assert db.session.scalar(sa.select(ConsentRecord.withdrawn_at)) is not None
        subject = db.session.get(DataSubject, people["a"])
        assert subject.restricted_at is not None and subject.city == "Utrecht"   # kept, not used


def test_no_data_is_answered_as_such(web_tenant, api_user, client):
    _user, token = api_user()
    verified = _verified(client, token, web_tenant, "access", email="niemand@voorbeeld-mail.nl")
    assert _answer(client, token, web_tenant, verified["id"])["outcome"] == {"records": 0}
    assert "geen persoonsgegevens" in _body(web_tenant, "rights.no_data")


def test_refusals_only_on_article_12_5_or_17_3_with_the_reason(web_tenant, api_user, client):
    _user, token = api_user()
    created = _create(client, token, web_tenant, kind="access", locale="en")
    url = _url(web_tenant, f"/{created['id']}/refuse")
    assert client.post(url, headers=bearer(token), json={"ground": "we_do_not_want_to", "reason": "x"}).status_code == 422
    assert client.post(url, headers=bearer(token), json={"ground": "art_17_3_b_legal_obligation",
                                                          "reason": "x"}).status_code == 422   # not an erasure
    refused = client.post(url, headers=bearer(token), json={"ground": "art_12_5_excessive",
                                                             "reason": "The fourth identical request this month."})
    assert refused.status_code == 200 and refused.json["status"] == "refused"
    letter = _body(web_tenant, "rights.refusal")
    assert "art. 12(5) GDPR" in letter and "The fourth identical request this month." in letter
    with in_tenant(web_tenant):
        stored = db.session.scalar(sa.select(RightsLetter).where(RightsLetter.template == "refusal"))
        assert (stored.template_version, stored.locale) == (1, "en") and "fourth" in stored.body
        assert stored.ciphertext is not None and b"fourth" not in stored.ciphertext   # stored encrypted


def test_an_extension_only_within_the_first_month(web_tenant, api_user, client):
    _user, token = api_user()
    created = _create(client, token, web_tenant, kind="access", received_on="2026-01-31")
    url = _url(web_tenant, f"/{created['id']}/extend")
    assert client.post(url, headers=bearer(token), json={"reason": ""}).status_code == 422
    clock.set_now(datetime(2026, 3, 1, 9, tzinfo=timezone.utc))   # the day after the first month
    assert client.post(url, headers=bearer(token), json={"reason": "Veel archieven"}).status_code == 409
    clock.set_now(datetime(2026, 2, 28, 9, tzinfo=timezone.utc))  # its last day
    extended = client.post(url, headers=bearer(token), json={"reason": "Veel archieven te doorzoeken"})
    assert extended.status_code == 200 and extended.json["extended_due_on"] == "2026-04-30"
    assert extended.json["legal_due_on"] == "2026-02-28"       # both kept
    assert "30-04-2026" in _body(web_tenant, "rights.extension")
    assert client.post(url, headers=bearer(token), json={"reason": "nog eens"}).status_code == 409


def test_answering_needs_established_identity(web_tenant, api_user, client):
    _user, token = api_user()
    created = _create(client, token, web_tenant, kind="access")
    assert client.post(_url(web_tenant, f"/{created['id']}/answer"), headers=bearer(token), json={}).status_code == 409


def test_only_admins_handle_requests(web_tenant, api_user, client):
    for role in ("supervisor", "agent", "client"):
        _user, token = api_user(role=role)
        assert client.get(_url(web_tenant), headers=bearer(token)).status_code == 404


def test_another_tenants_request_is_not_found(web_tenant, make_tenant, api_user, client):
    _user, token = api_user()
    created = _create(client, token, web_tenant, kind="access")
    other = make_tenant()
    _other_user, other_token = api_user(tenant=other)
    rid = created["id"]
    assert client.get(_url(other, f"/{rid}"), headers=bearer(other_token)).status_code == 404
    for suffix, body in (("/verify", {"note": "x"}), ("/answer", {}), ("/extend", {"reason": "x"}),
                         ("/refuse", {"ground": "art_12_5_excessive", "reason": "x"}),
                         ("/people", {"person_id": str(uuid.uuid4())})):
        assert client.post(_url(other, f"/{rid}{suffix}"), headers=bearer(other_token), json=body).status_code == 404
    assert client.get(_url(other), headers=bearer(other_token)).json == []
    # A record of another tenant cannot be linked either.
    foreign = _verified(client, other_token, other, "access")
    with in_tenant(web_tenant):
        mine = DataSubject(category="candidate")
        mine.family_name = "Eigen"
        db.session.add(mine)
        db.session.flush()
        mine_id = mine.id
    assert client.post(_url(other, f"/{foreign['id']}/people"), headers=bearer(other_token),
                       json={"person_id": str(mine_id)}).status_code == 404


def test_reminders_reach_admins_once_before_each_deadline(web_tenant, api_user, client, make_user):
    from saas.core import tenancy
    from saas.modules.rights import jobs

    _user, token = api_user()
    created = _create(client, token, web_tenant, kind="access", received_on="2026-03-02")
    assert created["target_due_on"] == "2026-03-16" and created["legal_due_on"] == "2026-04-02"

    def run(day):
        clock.set_now(datetime.combine(day, datetime.min.time(), tzinfo=timezone.utc).replace(hour=6))
        db.session.commit()
        tenancy.set_tenant(web_tenant.id)
        try:
            return jobs.send_reminders()
        finally:
            db.session.commit()
            tenancy.set_tenant(None)

    assert run(date(2026, 3, 13)) == 0                  # the day before the target's reminder
    assert run(date(2026, 3, 14)) == 1                  # two days before the target
    assert run(date(2026, 3, 15)) == 0                  # once
    assert run(date(2026, 3, 27)) == 0
    assert run(date(2026, 3, 28)) == 1                  # five days before the legal date
    mails = _mails(web_tenant, "rights.reminder")
    assert len(mails) == 2 and EMAIL not in mails[0].__dict__["_body"]


def test_the_client_whose_database_held_the_person_is_told_of_the_erasure(make_tenant, api_user, client, make_user):
    tenant = leadgen_tenant(make_tenant)
    with in_tenant(tenant):
        org = ClientOrganisation(name="Opdrachtgever BV")
        db.session.add(org)
        db.session.flush()
        prospect = DataSubject(category="prospect", client_org_id=org.id)
        prospect.email, prospect.family_name = EMAIL, "Jansen"
        db.session.add(prospect)
        db.session.flush()
        org_id, prospect_id = org.id, prospect.id
    with in_tenant(tenant):
        org = db.session.get(ClientOrganisation, org_id)
    client_user, _password = make_user(role="client", tenant=tenant, client_org=org)
    _user, token = api_user(tenant=tenant)
    verified = _verified(client, token, tenant, "erasure")
    answered = _answer(client, token, tenant, verified["id"])
    assert answered["outcome"]["clients_told"] == 1
    [mail] = _mails(tenant, "rights.client_erasure")
    assert mail.__dict__["_to"] == client_user.email
    assert str(prospect_id) in mail.__dict__["_body"] and "Jansen" not in mail.__dict__["_body"]


def test_the_report_counts_per_month_and_kind_with_median_and_shares(web_tenant, api_user, client, make_user, login,
                                                                    new_client):
    _user, token = api_user()

    def at(day):
        clock.set_now(datetime(day.year, day.month, day.day, 10, tzinfo=timezone.utc))

    at(date(2026, 1, 5))
    fast = _verified(client, token, web_tenant, "access", received_on="2026-01-05", email="a@voorbeeld-mail.nl")
    at(date(2026, 1, 10))
    _answer(client, token, web_tenant, fast["id"])                          # 5 days: within both
    at(date(2026, 1, 20))
    slow = _create(client, token, web_tenant, kind="access", received_on="2026-01-20")
    at(date(2026, 2, 25))                                                  # 36 days: past both
    assert client.post(_url(web_tenant, f"/{slow['id']}/refuse"), headers=bearer(token), json={
        "ground": "art_12_5_unfounded", "reason": "Geen verzoek maar reclame."}).status_code == 200

    admin, password = make_user(role="admin", tenant=web_tenant)
    staff = new_client()
    login(staff, admin.email, password)
    page = staff.get(f"/{web_tenant.slug}/rights/report")
    assert page.status_code == 200 and "20.5" in page.get_data(as_text=True)
    exported = staff.get(f"/{web_tenant.slug}/rights/report.csv")
    assert exported.status_code == 200
    [line] = list(csv.DictReader(io.StringIO(exported.data.decode())))
    assert line == {"month": "2026-01", "kind": "access", "received": "2", "answered": "1", "refused": "1",
                    "open": "0", "median_days": "20.5", "within_legal": "0.5", "within_target": "0.5"}
