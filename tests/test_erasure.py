"""The one erasure path (issue 9 item 3): the API DELETE, the portal's erase page and a re-consent "no" all
erase through `saas.modules.erasure`, which keeps what a running legal hold requires (restricted, with the
reason and the end date, told to whoever asked), erases the rest, destroys the key only after the rows are
gone and never while a hold keeps fields readable, and ends in the same state after a crash at either point
between the two databases. A person whose key is gone is erased everywhere, never an error."""
from __future__ import annotations

import uuid
from datetime import date, datetime, timedelta, timezone

import pytest
import sqlalchemy as sa

from saas.core import clock, tenancy
from saas.core.crypto.keyring import keyring
from saas.core.crypto.models import ShreddedSubject, SubjectKey
from saas.extensions import db
from saas.modules.assignments.models import Assignment, AssignmentSubject, CallNote
from saas.modules.audit.models import AuditEntry
from saas.modules.clients.models import ClientOrganisation
from saas.modules.consents import operations as consents
from saas.modules.consents.models import ConsentRecord, ConsentRequest
from saas.modules.outbox.models import OutboxMail
from saas.modules.outbox.operations import queue_mail
from saas.modules.retention.models import RetentionDecision
from saas.modules.subjects.models import DataSubject
from saas.testing.fixtures_api import bearer
from saas.testing.fixtures_web import find_csrf_token
from saas.testing.records import in_tenant

NOW = datetime(2026, 2, 2, 9, tzinfo=timezone.utc)
ERASE_ACTION, RESTRICTED, PURGED = "subject.erase", "restricted", "purged"
ENDED = date(2024, 5, 1)            # the records of 2024 close on 31 December: 7 years run through 2031
HOLD_ENDS = "2032-01-01"
FISCAL_REASON = "Fiscale bewaarplicht (art. 52 lid 4 AWR)"
FISCAL_FIELDS = ["address", "city", "family_name", "given_name", "iban"]
DEPENDENTS = (ConsentRecord, ConsentRequest, AssignmentSubject, CallNote, OutboxMail)


@pytest.fixture(autouse=True)
def _now():
    clock.set_now(NOW)
    yield
    clock.set_now(None)


@pytest.fixture()
def fiscal(make_tenant):
    return make_tenant(plugins=["fiscal"])


def _person(tenant, *, ended: date | None = ENDED, with_request: bool = False):
    """A client contact with personal data and a row in the tables that name a person. Returns the id,
    and with `with_request` also the path of a re-consent link."""
    with in_tenant(tenant):
        subject = DataSubject(category="client_contact", relationship_ended_on=ended)
        tag = uuid.uuid4().hex[:6]
        subject.given_name, subject.family_name = "Quirijn", f"Vandermolen{tag}"
        subject.email, subject.phone, subject.notes = f"q.{tag}@voorbeeld-mail.nl", "0612345678", "Belt na 17 uur"
        subject.address, subject.city, subject.iban = "Kade 1", "Goes", "NL91ABNA0417164300"
        db.session.add(subject)
        org = ClientOrganisation(name=f"Opdrachtgever {tag}")
        db.session.add(org)
        db.session.flush()
        assignment = Assignment(client_org_id=org.id, title="Belronde")
        db.session.add(assignment)
        db.session.flush()
        db.session.add(AssignmentSubject(assignment_id=assignment.id, subject_id=subject.id))
        note = CallNote(assignment_id=assignment.id, subject_id=subject.id)
        note.body = "Wil geen contact meer"
        db.session.add(note)
        consents.give_consent(subject, "nieuwsbrief", "consent", "Ja, stuur mij de nieuwsbrief.", "web")
        queue_mail(subject.email, "Bevestiging", "Dank voor uw aanmelding.", template="test", subject_id=subject.id)
        _request, token = consents.create_request(subject, "nieuwsbrief", date(2026, 1, 1), NOW + timedelta(days=30))
        subject_id = subject.id
    return (subject_id, f"/consent/{token}") if with_request else subject_id


def _state(tenant, subject_id) -> dict:
    """Everything an erasure decides about one person, as plain values."""
    with in_tenant(tenant):
        subject = db.session.get(DataSubject, subject_id)
        fields = None if subject is None else {name: getattr(subject, name) for name in
                                               ("given_name", "family_name", "email", "phone", "notes",
                                                "address", "city", "iban")}
        ledger = db.session.get(ShreddedSubject, subject_id)
        state = {
            "fields": fields,
            "restriction": None if subject is None else subject.restriction_reason,
            "dependents": {m.__tablename__: db.session.scalar(sa.select(sa.func.count()).select_from(m)
                                                                .where(m.subject_id == subject_id))
                           for m in DEPENDENTS},
            "keys": db.session.scalar(sa.select(sa.func.count()).select_from(SubjectKey)
                                      .where(SubjectKey.subject_id == subject_id)),
            "ledger": None if ledger is None else ledger.reason,
            "decisions": [(d.policy, d.action, d.completed) for d in db.session.scalars(
                sa.select(RetentionDecision).where(RetentionDecision.record_id == subject_id))],
            "audit": [(e.action, e.detail.get("outcome")) for e in db.session.scalars(
                sa.select(AuditEntry).where(AuditEntry.object_id == str(subject_id),
                                            AuditEntry.action == ERASE_ACTION))],
        }
    return state


NOTHING_LEFT = {"consent_record": 0, "consent_request": 0, "assignment_subject": 0, "call_note": 0,
                "outbox_mail": 0}


def _assert_restricted(state: dict, reason: str) -> None:
    assert state["fields"]["email"] is None and state["fields"]["phone"] is None and state["fields"]["notes"] is None
    assert state["fields"]["iban"] == "NL91ABNA0417164300" and state["fields"]["address"] == "Kade 1"
    assert state["fields"]["given_name"] == "Quirijn" and state["fields"]["city"] == "Goes"
    assert state["restriction"] == FISCAL_REASON and reason not in state["restriction"]   # the duty, not a code
    assert state["dependents"] == NOTHING_LEFT
    assert state["keys"] == 1 and state["ledger"] is None      # the kept fields stay readable
    assert state["decisions"] == [("erasure", "restrict", True)]
    assert state["audit"] == [(ERASE_ACTION, RESTRICTED)]


# --- the API ---------------------------------------------------------------------------------------------

def test_api_delete_during_the_fiscal_hold_keeps_the_fiscal_fields_and_says_why(fiscal, api_user, client):
    _user, token = api_user(tenant=fiscal)
    subject_id = _person(fiscal)

    answer = client.delete(f"/api/v1/{fiscal.slug}/subjects/{subject_id}", headers=bearer(token))

    assert answer.status_code == 200, answer.get_data(as_text=True)
    body = answer.json
    assert body["status"] == "restricted" and body["subject_id"] == str(subject_id)
    assert [(sorted(k["fields"]), k["legal_basis"], k["until"]) for k in body["kept"]] == \
        [(FISCAL_FIELDS, FISCAL_REASON, HOLD_ENDS)]
    assert sorted(body["erased_fields"]) == ["email", "job_title", "notes", "phone"]
    assert body["removed"]["call_note"] == 1 and body["removed"]["consent_record"] == 1
    assert "Quirijn" not in answer.get_data(as_text=True)     # names of fields, never their values
    _assert_restricted(_state(fiscal, subject_id), "rights_request")

    # The restricted person can be read (what is kept), and asking again changes nothing.
    assert client.get(f"/api/v1/{fiscal.slug}/subjects/{subject_id}", headers=bearer(token)).json["iban"] \
        == "NL91ABNA0417164300"
    again = client.delete(f"/api/v1/{fiscal.slug}/subjects/{subject_id}", headers=bearer(token))
    assert again.status_code == 200 and again.json["kept"] == body["kept"]
    _assert_restricted(_state(fiscal, subject_id), "rights_request")


def test_api_delete_after_the_hold_or_without_one_erases_everything_with_204(fiscal, api_user, client):
    _user, token = api_user(tenant=fiscal)
    long_ago = _person(fiscal, ended=date(2018, 3, 1))         # records of 2018: kept through 2025
    answer = client.delete(f"/api/v1/{fiscal.slug}/subjects/{long_ago}", headers=bearer(token))
    assert answer.status_code == 204 and answer.get_data() == b""
    state = _state(fiscal, long_ago)
    assert state["fields"] is None and state["dependents"] == NOTHING_LEFT
    assert (state["keys"], state["ledger"]) == (0, "erasure")
    assert state["decisions"] == [("erasure", "purge", True)]
    assert state["audit"] == [(ERASE_ACTION, PURGED)]


def test_api_delete_of_another_tenants_person_is_404_and_erases_nothing(fiscal, make_tenant, api_user, client):
    other = make_tenant(plugins=["fiscal"])
    theirs = _person(other)
    _user, token = api_user(tenant=fiscal)
    assert client.delete(f"/api/v1/{fiscal.slug}/subjects/{theirs}", headers=bearer(token)).status_code == 404
    state = _state(other, theirs)
    assert state["fields"]["email"] is not None and state["keys"] == 1 and state["decisions"] == []


def test_the_openapi_document_describes_both_answers_of_delete(app, client):
    spec = client.get("/api/v1/openapi.json").json
    answers = spec["paths"]["/api/v1/{tenant}/subjects/{subject_id}"]["delete"]["responses"]
    assert {"200", "204"} <= set(answers)
    schema = answers["200"]["content"]["application/json"]["schema"]
    assert schema == {"$ref": "#/components/schemas/ErasureOut"}
    kept = spec["components"]["schemas"]["KeptFieldsOut"]["properties"]
    assert {"fields", "legal_basis", "until"} <= set(kept)


# --- the portal ------------------------------------------------------------------------------------------

@pytest.mark.parametrize("locale, said", [("nl", "Gewist, behalve wat de wet vereist"),
                                          ("en", "Erased, except what the law requires")])
def test_portal_erase_during_the_fiscal_hold_shows_what_was_kept(make_tenant, make_user, browser_as, locale, said):
    tenant = make_tenant(plugins=["fiscal"], locale=locale)
    subject_id = _person(tenant)
    user, password = make_user(role="admin", tenant=tenant)
    browser = browser_as(user, password)
    path = f"/{tenant.slug}/subjects/{subject_id}/delete"
    token = find_csrf_token(browser.get(path).get_data(as_text=True))

    page = browser.post(path, data={"csrf_token": token, "confirm": "y"})

    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert said in html and FISCAL_REASON in html and HOLD_ENDS in html
    assert "Quirijn" not in html
    _assert_restricted(_state(tenant, subject_id), "rights_request")


# --- the re-consent "no" ----------------------------------------------------------------------------------

def test_reconsent_no_during_the_fiscal_hold_goes_the_same_way_and_says_what_is_kept(fiscal, client):
    subject_id, path = _person(fiscal, with_request=True)
    token = find_csrf_token(client.get(path).get_data(as_text=True))

    page = client.post(path, data={"csrf_token": token, "no": "1"})

    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert FISCAL_REASON in html and HOLD_ENDS in html
    _assert_restricted(_state(fiscal, subject_id), "unsubscribed")


# --- crashes between the two databases --------------------------------------------------------------------

class Crash(RuntimeError):
    pass


def _crash(*_args, **_kwargs):
    raise Crash("the process died here")


def _erasure():
    # Imported where used: the regressions above run (and fail) on the code before this module existed.
    from saas.modules.erasure import operations
    return operations


def _erase(tenant, subject_id):
    erasure = _erasure()
    with in_tenant(tenant):
        return erasure.erase_subject(db.session.get(DataSubject, subject_id), reason="rights_request")


def _rerun(tenant):
    """What runs next after a crash: any erasure or sweep first finishes what was left between the stores."""
    with in_tenant(tenant):
        return _erasure().finish_pending()


@pytest.mark.parametrize("crash_at", ["destroy_keys", "mark_completed"])
def test_a_crash_at_either_point_and_a_rerun_end_in_the_same_state(fiscal, monkeypatch, crash_at):
    # The fiscal hold is over for both (records of 2018): a purge, the path that spans both stores.
    clean, crashed = _person(fiscal, ended=date(2018, 3, 1)), _person(fiscal, ended=date(2018, 3, 1))
    _erase(fiscal, clean)

    monkeypatch.setattr(_erasure(), crash_at, _crash)
    with pytest.raises(Crash):
        _erase(fiscal, crashed)
    db.session.rollback()
    tenancy.set_tenant(None)
    monkeypatch.undo()
    halfway = _state(fiscal, crashed)
    assert halfway["fields"] is None and halfway["decisions"] == [("erasure", "purge", False)]
    # The rows went first: the key is still there only when the crash came before it.
    assert halfway["keys"] == (1 if crash_at == "destroy_keys" else 0)

    assert _rerun(fiscal) == 1
    assert _rerun(fiscal) == 0
    assert _state(fiscal, crashed) == _state(fiscal, clean)
    assert _state(fiscal, clean)["keys"] == 0 and _state(fiscal, clean)["ledger"] == "erasure"


def test_the_key_is_never_destroyed_while_a_hold_keeps_fields_readable(fiscal, monkeypatch):
    subject_id = _person(fiscal)
    monkeypatch.setattr(_erasure(), "destroy_keys", _crash)    # would raise if the restrict touched the key
    for _ in range(2):
        outcome = _erase(fiscal, subject_id)
        assert outcome.status == RESTRICTED and outcome.kept_fields == tuple(FISCAL_FIELDS)
    state = _state(fiscal, subject_id)
    assert state["keys"] == 1 and state["ledger"] is None and state["fields"]["iban"] == "NL91ABNA0417164300"


# --- a person whose key is gone ----------------------------------------------------------------------------

def _destroy_key_only(tenant, subject_id):
    """The state the old order (key first) left after a crash, or a restore of an older data copy."""
    with in_tenant(tenant):
        keyring().destroy_subject_key(tenant.id, subject_id, reason="erasure")


def test_a_person_whose_key_is_gone_is_erased_everywhere_not_an_error(fiscal, api_user, make_user, browser_as,
                                                                      client):
    subject_id = _person(fiscal)
    _destroy_key_only(fiscal, subject_id)
    _user, token = api_user(tenant=fiscal)
    api = f"/api/v1/{fiscal.slug}/subjects"
    listed = client.get(api, headers=bearer(token))
    assert listed.status_code == 200 and listed.json == []
    assert client.get(f"{api}/{subject_id}", headers=bearer(token)).status_code == 404
    assert client.patch(f"{api}/{subject_id}", headers=bearer(token), json={"city": "Elders"}).status_code == 404
    assert client.delete(f"{api}/{subject_id}", headers=bearer(token)).status_code == 404

    user, password = make_user(role="admin", tenant=fiscal)
    browser = browser_as(user, password)
    assert browser.get(f"/{fiscal.slug}/subjects").status_code == 200
    assert browser.get(f"/{fiscal.slug}/subjects/{subject_id}").status_code == 404

    # The erasure finishes it: the rows go (nothing can be kept readable without the key).
    assert _erase(fiscal, subject_id).status == PURGED
    state = _state(fiscal, subject_id)
    assert state["fields"] is None and state["dependents"] == NOTHING_LEFT and state["ledger"] == "erasure"


def _restore_older_copy(tenant, subject_id):
    """What a restore of a copy made before the restriction brings back: the erased fields, unrestricted."""
    with in_tenant(tenant):
        subject = db.session.get(DataSubject, subject_id)
        subject.email, subject.notes, subject.restricted_at, subject.restriction_reason = \
            "terug@voorbeeld-mail.nl", "Belt na 17 uur", None, None


def test_a_restore_replays_the_ledger(fiscal):
    gone, restricted, untouched = _person(fiscal), _person(fiscal), _person(fiscal)
    _destroy_key_only(fiscal, gone)
    _erase(fiscal, restricted)
    _restore_older_copy(fiscal, restricted)

    with in_tenant(fiscal):
        assert _erasure().replay_ledger() == _erasure().Replayed(erased=1, restricted=1)
    with in_tenant(fiscal):
        assert _erasure().replay_ledger().total == 0

    assert _state(fiscal, gone)["fields"] is None and _state(fiscal, gone)["dependents"] == NOTHING_LEFT
    again = _state(fiscal, restricted)
    assert again["fields"]["email"] is None and again["fields"]["notes"] is None
    assert again["fields"]["iban"] == "NL91ABNA0417164300" and again["keys"] == 1
    assert again["restriction"] == FISCAL_REASON   # the legal duty, as the record page shows it
    assert _state(fiscal, untouched)["fields"]["email"] is not None
