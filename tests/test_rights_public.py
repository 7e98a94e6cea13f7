"""The public rights-request form of a tenant (no account): CSRF, nl/en, the same page and the same mail
whether or not the tenant holds data about the address, identity by the mailed code, the fiscal exception
through the form and the portal, and the register and dashboard of the admins."""
from __future__ import annotations

import re
from datetime import date, datetime, timezone

import pytest
import sqlalchemy as sa

from saas.core import clock
from saas.extensions import db
from saas.modules.audit.models import AuditEntry
from saas.modules.outbox.models import OutboxMail
from saas.modules.rights.models import RightsLetter, RightsRequest, RightsRequestPerson
from saas.modules.subjects.models import DataSubject
from saas.testing.fixtures_web import find_csrf_token
from saas.testing.records import in_tenant

NOW = datetime(2026, 3, 2, 9, tzinfo=timezone.utc)
KNOWN = "k.devries@voorbeeld-mail.nl"


@pytest.fixture(autouse=True)
def _now():
    clock.set_now(NOW)
    yield
    clock.set_now(None)


@pytest.fixture()
def fiscal_tenant(make_tenant):
    tenant = make_tenant(plugins=["fiscal"], rights_request_days=28, name="KVGO Test")
    with in_tenant(tenant):
        person = DataSubject(category="relation", relationship_ended_on=date(2025, 9, 1))
        person.family_name, person.email, person.iban, person.notes = "De Vries", KNOWN, "NL91ABNA0417164300", "vip"
        db.session.add(person)
    return tenant


def _submit(client, tenant, email, kind="access", locale="nl"):
    page = client.get(f"/rights/{tenant.slug}")
    assert page.status_code == 200
    return client.post(f"/rights/{tenant.slug}", data={
        "csrf_token": find_csrf_token(page.get_data(as_text=True)), "kind": kind, "name": "K. de Vries",
        "email": email, "phone": "", "details": "", "locale": locale})


def _code_mails(tenant) -> list[tuple[str, str]]:
    with in_tenant(tenant):
        return [(m.recipient, m.body) for m in db.session.scalars(
            sa.select(OutboxMail).where(OutboxMail.template == "rights.code").order_by(OutboxMail.created_at))]


def _shape(text: str) -> str:
    """A page or mail with its ids, codes, dates and addresses taken out: what is left must be the same."""
    text = re.sub(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}", "ID", text)
    text = re.sub(r"\b\d{8}\b", "CODE", text)
    text = re.sub(r"name=\"csrf_token\"[^>]*", "CSRF", text)
    return text.replace(KNOWN, "ADDRESS").replace("onbekend@voorbeeld-mail.nl", "ADDRESS")


def test_the_form_does_not_reveal_whether_we_hold_data(fiscal_tenant, client, new_client):
    known = _submit(client, fiscal_tenant, KNOWN)
    unknown = _submit(new_client(), fiscal_tenant, "onbekend@voorbeeld-mail.nl")
    assert known.status_code == unknown.status_code == 302
    known_page = client.get(known.headers["Location"])
    unknown_page = client.get(unknown.headers["Location"])
    assert known_page.status_code == unknown_page.status_code == 200
    assert _shape(known_page.get_data(as_text=True)) == _shape(unknown_page.get_data(as_text=True))
    mails = _code_mails(fiscal_tenant)
    # Both mails carry the same (frozen) creation time: compare them as a set, not in order.
    assert sorted(to for to, _body in mails) == sorted([KNOWN, "onbekend@voorbeeld-mail.nl"])
    assert _shape(mails[0][1]) == _shape(mails[1][1])
    assert "De Vries" not in known_page.get_data(as_text=True)


def test_the_form_needs_its_csrf_token_and_a_valid_address(fiscal_tenant, client):
    assert client.post(f"/rights/{fiscal_tenant.slug}", data={"kind": "access", "email": KNOWN,
                                                              "locale": "nl"}).status_code == 400
    bad = _submit(client, fiscal_tenant, "geen-adres")
    assert bad.status_code == 400
    with in_tenant(fiscal_tenant):
        assert db.session.scalar(sa.select(sa.func.count(RightsRequest.id))) == 0


def test_the_form_speaks_dutch_and_english(fiscal_tenant, client):
    dutch = client.get(f"/rights/{fiscal_tenant.slug}").get_data(as_text=True)
    assert "Uw privacyrechten bij KVGO Test" in dutch
    page = client.get(f"/rights/{fiscal_tenant.slug}").get_data(as_text=True)
    client.post("/locale", data={"csrf_token": find_csrf_token(page), "locale": "en",
                                 "next": f"/rights/{fiscal_tenant.slug}"})
    english = client.get(f"/rights/{fiscal_tenant.slug}").get_data(as_text=True)
    assert "Your privacy rights at KVGO Test" in english


def test_an_unknown_tenant_is_not_found(client):
    assert client.get("/rights/bestaat-niet").status_code == 404


def _confirm(client, tenant, location, code):
    page = client.get(location)
    return client.post(location, data={"csrf_token": find_csrf_token(page.get_data(as_text=True)), "code": code})


def test_the_code_establishes_identity_for_the_records_with_that_address(fiscal_tenant, client):
    location = _submit(client, fiscal_tenant, KNOWN, kind="erasure").headers["Location"]
    code = re.search(r"\b(\d{8})\b", _code_mails(fiscal_tenant)[0][1]).group(1)
    wrong = _confirm(client, fiscal_tenant, location, "12345678" if code != "12345678" else "87654321")
    assert wrong.status_code == 400
    done = _confirm(client, fiscal_tenant, location, code)
    assert done.status_code == 200
    with in_tenant(fiscal_tenant):
        row = db.session.scalar(sa.select(RightsRequest))
        assert (row.status, row.identity_method, row.code_attempts) == ("verified", "email_code", 2)
        assert db.session.scalar(sa.select(sa.func.count(RightsRequestPerson.id))) == 1
    assert _confirm(client, fiscal_tenant, location, code).status_code == 400   # used


def test_wrong_codes_run_out(fiscal_tenant, client):
    location = _submit(client, fiscal_tenant, KNOWN).headers["Location"]
    code = re.search(r"\b(\d{8})\b", _code_mails(fiscal_tenant)[0][1]).group(1)
    wrong = "00000000" if code != "00000000" else "11111111"
    for _ in range(5):
        assert _confirm(client, fiscal_tenant, location, wrong).status_code == 400
    assert _confirm(client, fiscal_tenant, location, code).status_code == 400   # spent after five tries


def test_a_code_page_of_another_tenant_finds_nothing(fiscal_tenant, make_tenant, client):
    location = _submit(client, fiscal_tenant, KNOWN).headers["Location"]
    code = re.search(r"\b(\d{8})\b", _code_mails(fiscal_tenant)[0][1]).group(1)
    other = make_tenant()
    foreign = location.replace(f"/rights/{fiscal_tenant.slug}/", f"/rights/{other.slug}/")
    assert _confirm(client, other, foreign, code).status_code == 400
    with in_tenant(fiscal_tenant):
        assert db.session.scalar(sa.select(RightsRequest.status)) == "received"


def test_fiscal_exception_through_the_form_and_the_portal(fiscal_tenant, client, make_user, login, new_client):
    location = _submit(client, fiscal_tenant, KNOWN, kind="erasure").headers["Location"]
    code = re.search(r"\b(\d{8})\b", _code_mails(fiscal_tenant)[0][1]).group(1)
    assert _confirm(client, fiscal_tenant, location, code).status_code == 200

    admin, password = make_user(role="admin", tenant=fiscal_tenant)
    staff = new_client()
    login(staff, admin.email, password)
    with in_tenant(fiscal_tenant):
        request_id = db.session.scalar(sa.select(RightsRequest.id))
    show = staff.get(f"/{fiscal_tenant.slug}/rights/{request_id}")
    assert show.status_code == 200 and "De Vries" in show.get_data(as_text=True)
    assert "onze eigen registratie (verwerkingsverantwoordelijke)" in show.get_data(as_text=True)
    answered = staff.post(f"/{fiscal_tenant.slug}/rights/{request_id}/answer",
                          data={"csrf_token": find_csrf_token(show.get_data(as_text=True)), "changes": ""})
    assert answered.status_code == 302
    with in_tenant(fiscal_tenant):
        row = db.session.get(RightsRequest, request_id)
        assert row.status == "answered" and "iban" in row.outcome["kept"]
        letter = db.session.scalar(sa.select(RightsLetter).where(RightsLetter.template == "erasure"))
        assert "artikel 52 Algemene wet inzake rijksbelastingen" in letter.body
        person = db.session.scalar(sa.select(DataSubject))
        assert (person.iban, person.notes) == ("NL91ABNA0417164300", None)


def test_staff_register_and_overdue_on_the_dashboard(fiscal_tenant, make_user, login, new_client, make_tenant):
    admin, password = make_user(role="admin", tenant=fiscal_tenant)
    staff = new_client()
    login(staff, admin.email, password)
    form = staff.get(f"/{fiscal_tenant.slug}/rights/new")
    assert form.status_code == 200
    created = staff.post(f"/{fiscal_tenant.slug}/rights/new", data={
        "csrf_token": find_csrf_token(form.get_data(as_text=True)), "kind": "access", "channel": "letter",
        "received_on": "2026-01-30", "name": "K. de Vries", "email": "", "phone": "0612345678", "details": "",
        "locale": "nl"})
    assert created.status_code == 302
    with in_tenant(fiscal_tenant):
        row = db.session.scalar(sa.select(RightsRequest))
        assert (row.legal_due_on, row.target_due_on) == (date(2026, 2, 28), date(2026, 2, 27))
        row_id = row.id
    listing = staff.get(f"/{fiscal_tenant.slug}/rights").get_data(as_text=True)
    assert "27-02-2026" in listing and "28-02-2026" in listing
    dashboard = staff.get(f"/{fiscal_tenant.slug}/").get_data(as_text=True)
    assert 'id="rights-overdue"' in dashboard
    assert dashboard.index('id="rights-overdue"') < dashboard.index("stats")   # at the top
    # Another tenant's admin: the request is not found.
    other = make_tenant()
    outsider, other_password = make_user(role="admin", tenant=other)
    foreign = new_client()
    login(foreign, outsider.email, other_password)
    assert foreign.get(f"/{other.slug}/rights/{row_id}").status_code == 404
    token = find_csrf_token(foreign.get(f"/{other.slug}/rights").get_data(as_text=True))
    for action in ("verify", "extend", "link", "answer", "refuse"):
        assert foreign.post(f"/{other.slug}/rights/{row_id}/{action}", data={"csrf_token": token}).status_code == 404
    assert "K. de Vries" not in foreign.get(f"/{other.slug}/rights").get_data(as_text=True)
    # A supervisor of the tenant does not see the register.
    supervisor, sup_password = make_user(role="supervisor", tenant=fiscal_tenant)
    sup = new_client()
    login(sup, supervisor.email, sup_password)
    assert sup.get(f"/{fiscal_tenant.slug}/rights").status_code == 404
    assert sup.get(f"/{fiscal_tenant.slug}/rights/{row_id}").status_code == 404


def _page_mail(tenant):
    with in_tenant(tenant):
        mail = db.session.scalars(sa.select(OutboxMail).where(OutboxMail.template == "rights.page_link")
                                  .order_by(OutboxMail.created_at.desc())).first()
        body = mail.body
    link = re.search(r"https?://[^/\s]+(/rights/\S+/me/\S+)", body).group(1)
    return link, re.search(r"Code: (\d{8})", body).group(1)


def _open_page(client, tenant, email):
    ask = client.get(f"/rights/{tenant.slug}/page")
    sent = client.post(f"/rights/{tenant.slug}/page", data={
        "csrf_token": find_csrf_token(ask.get_data(as_text=True)), "email": email, "locale": "nl"})
    assert sent.status_code == 200
    link, code = _page_mail(tenant)
    page = client.get(link)
    assert page.status_code == 200 and "De Vries" not in page.get_data(as_text=True)
    opened = client.post(link, data={"csrf_token": find_csrf_token(page.get_data(as_text=True)), "code": code})
    assert opened.status_code == 302
    return link, sent


def test_the_personal_page_shows_records_and_erases_keeping_the_fiscal_fields(fiscal_tenant, client, new_client):
    link, sent = _open_page(client, fiscal_tenant, KNOWN)
    # The same answer for an address we do not hold.
    other = new_client()
    ask = other.get(f"/rights/{fiscal_tenant.slug}/page")
    unknown = other.post(f"/rights/{fiscal_tenant.slug}/page", data={
        "csrf_token": find_csrf_token(ask.get_data(as_text=True)), "email": "onbekend@voorbeeld-mail.nl", "locale": "nl"})
    assert _shape(unknown.get_data(as_text=True)) == _shape(sent.get_data(as_text=True))

    page = client.get(link)
    assert page.status_code == 200 and "KVGO Test" in page.get_data(as_text=True)
    assert "Verwijder mijn gegevens" in page.get_data(as_text=True) or "Erase my data" in page.get_data(as_text=True)
    erased = client.post(link, data={"csrf_token": find_csrf_token(page.get_data(as_text=True)), "action": "erasure"})
    assert erased.status_code == 200
    assert "art. 52 AWR" in erased.get_data(as_text=True) and "iban" in erased.get_data(as_text=True)
    with in_tenant(fiscal_tenant):
        person = db.session.scalar(sa.select(DataSubject))
        assert (person.iban, person.notes, person.restricted_at is not None) == ("NL91ABNA0417164300", None, True)
        row = db.session.scalar(sa.select(RightsRequest))
        assert (row.kind, row.status, row.identity_method) == ("erasure", "answered", "email_code")
        actions = set(db.session.scalars(sa.select(AuditEntry.action).where(AuditEntry.action.like("rights.page%"))))
        assert {"rights.page.mail", "rights.page.open", "rights.page.read", "rights.page.request"} <= actions


def test_the_personal_page_needs_its_code_and_expires(fiscal_tenant, client, new_client):
    ask = client.get(f"/rights/{fiscal_tenant.slug}/page")
    client.post(f"/rights/{fiscal_tenant.slug}/page", data={
        "csrf_token": find_csrf_token(ask.get_data(as_text=True)), "email": KNOWN, "locale": "nl"})
    link, code = _page_mail(fiscal_tenant)
    stranger = new_client()
    page = stranger.get(link)
    bad = stranger.post(link, data={"csrf_token": find_csrf_token(page.get_data(as_text=True)),
                                    "action": "erasure"})
    assert bad.status_code == 200 and "Erase" not in bad.get_data(as_text=True)   # still the code form
    with in_tenant(fiscal_tenant):
        assert db.session.scalar(sa.select(sa.func.count(RightsRequest.id))) == 0
    clock.set_now(datetime(2026, 3, 3, 9, 1, tzinfo=timezone.utc))     # 24 hours and a minute later
    assert client.get(link).status_code == 410
    assert client.get(link.rsplit("/", 1)[0] + "/nope").status_code == 404


def test_staff_find_a_record_by_name_and_a_second_attribute(fiscal_tenant, client, make_user, login, new_client):
    with in_tenant(fiscal_tenant):
        other = DataSubject(category="relation")
        other.family_name, other.given_name, other.city = "de vries", "Klaas", "Goes"      # no e-mail on file
        namesake = DataSubject(category="relation")
        namesake.family_name, namesake.city = "De Vries", "Zwolle"
        db.session.add_all([other, namesake])
        db.session.flush()
        other_id, namesake_id = other.id, namesake.id
    location = _submit(client, fiscal_tenant, KNOWN).headers["Location"]
    code = re.search(r"\b(\d{8})\b", _code_mails(fiscal_tenant)[0][1]).group(1)
    assert _confirm(client, fiscal_tenant, location, code).status_code == 200
    admin, password = make_user(role="admin", tenant=fiscal_tenant)
    staff = new_client()
    login(staff, admin.email, password)
    with in_tenant(fiscal_tenant):
        request_id = db.session.scalar(sa.select(RightsRequest.id))
    page = staff.get(f"/{fiscal_tenant.slug}/rights/{request_id}?family_name=De+Vries&second=goes")
    text = page.get_data(as_text=True)
    assert str(other_id) in text and str(namesake_id) not in text
    linked = staff.post(f"/{fiscal_tenant.slug}/rights/{request_id}/link",
                        data={"csrf_token": find_csrf_token(text), "person_id": str(other_id)})
    assert linked.status_code == 302
    with in_tenant(fiscal_tenant):
        assert db.session.scalar(sa.select(sa.func.count(RightsRequestPerson.id))) == 2
