"""Data-subject pages: who sees what, every view audited, bad input writes nothing, 404 across tenants."""
from __future__ import annotations

import pytest

import sqlalchemy as sa

from saas.core import tenancy
from saas.core.crypto.models import ShreddedSubject, SubjectKey
from saas.extensions import db
from saas.modules.subjects.models import DataSubject
from saas.testing.fixtures_web import find_csrf_token
from saas.testing.records import make_assignment


@pytest.fixture()
def web_tenant(make_tenant):
    """Categories come only from a tenant's plugins: this tenant holds candidates, applicants, employees,
    client contacts, relations and members."""
    return make_tenant(plugins=["recruitment", "employment", "fiscal", "association"])


def _subjects(tenant_id: int) -> list[DataSubject]:
    db.session.commit()
    tenancy.set_tenant(tenant_id)
    db.session.expire_all()
    found = list(db.session.scalars(sa.select(DataSubject)))
    for subject in found:
        subject.full_name  # decrypt while the tenant is set
    return found


def _token(browser, path) -> str:
    response = browser.get(path)
    assert response.status_code == 200, (path, response.status_code)
    return find_csrf_token(response.get_data(as_text=True))


def _form(**overrides) -> dict:
    form = {"category": "candidate", "given_name": "Fenna", "family_name": "Bakker", "email": "fenna@bakker.nl",
            "phone": "06 12345678", "job_title": "", "city": "Zwolle", "last_contact_on": "2025-03-01", "notes": "",
            "client_org": ""}
    form.update(overrides)
    return form


def test_list_pages_and_filters_by_category(make_user, web_tenant, make_subject, browser_as, audit_lines):
    for number in range(26):
        make_subject(web_tenant, "candidate", given_name=f"Kandidaat{number:02d}")
    make_subject(web_tenant, "member", given_name="Lid", family_name="Mulder")
    user, password = make_user(role="admin")
    browser = browser_as(user, password)
    base = f"/{web_tenant.slug}/subjects"

    first = browser.get(base).get_data(as_text=True)
    second = browser.get(f"{base}?page=2").get_data(as_text=True)
    members = browser.get(f"{base}?category=member").get_data(as_text=True)

    first_page = sum(f"Kandidaat{n:02d}" in first for n in range(26)) + ("Lid Mulder" in first)
    second_page = sum(f"Kandidaat{n:02d}" in second for n in range(26)) + ("Lid Mulder" in second)
    assert (first_page, second_page) == (25, 2)
    assert "Lid Mulder" in members and not any(f"Kandidaat{n:02d}" in members for n in range(26))
    assert browser.get(f"{base}?page=0").status_code == 400  # a page number out of range is bad input
    pages = [line[3]["page"] for line in audit_lines(web_tenant.id, "subject.list")]
    assert pages == [1, 2, 1]


def test_detail_is_decrypted_and_each_view_audited(make_user, web_tenant, make_subject, browser_as, audit_lines):
    subject = make_subject(web_tenant, given_name="Sanne", family_name="Visser", email="sanne@visser.nl")
    user, password = make_user(role="admin")
    browser = browser_as(user, password)

    for _ in range(2):
        page = browser.get(f"/{web_tenant.slug}/subjects/{subject.id}")
        assert page.status_code == 200
        assert "sanne@visser.nl" in page.get_data(as_text=True)

    assert audit_lines(web_tenant.id, "subject.view") == [("ok", str(subject.id), str(user.id), {})] * 2


def test_client_user_sees_only_its_own_organisation(make_user, web_tenant, make_subject, make_client_org,
                                                    browser_as, audit_lines):
    own, other = make_client_org(web_tenant), make_client_org(web_tenant)
    mine = make_subject(web_tenant, "prospect", client_org=own, given_name="Eigen", family_name="Klant")
    theirs = make_subject(web_tenant, "prospect", client_org=other, given_name="Andere", family_name="Klant")
    make_subject(web_tenant, "candidate", given_name="Zonder", family_name="Opdrachtgever")
    user, password = make_user(role="client", client_org=own)
    browser = browser_as(user, password)
    base = f"/{web_tenant.slug}/subjects"

    listing = browser.get(base).get_data(as_text=True)
    assert "Eigen Klant" in listing
    assert "Andere Klant" not in listing and "Zonder Opdrachtgever" not in listing
    assert browser.get(f"{base}/{mine.id}").status_code == 200
    assert browser.get(f"{base}/{theirs.id}").status_code == 404
    assert ("denied", str(theirs.id)) in [line[:2] for line in audit_lines(web_tenant.id, "subject.view")]
    # A client keeps its own database (seed 004): the form offers its own organisation only.
    form = browser.get(f"{base}/new")
    assert form.status_code == 200
    assert str(own.id) in form.get_data(as_text=True) and str(other.id) not in form.get_data(as_text=True)


def test_agent_reads_but_cannot_change(make_user, web_tenant, make_subject, make_client_org, browser_as):
    org = make_client_org(web_tenant)  # the people of an assignment belong to its client organisation
    subject = make_subject(web_tenant, client_org=org, given_name="Ruben", family_name="Smit")
    user, password = make_user(role="agent")
    make_assignment(web_tenant, org.id, agents=[user], subjects=[subject])
    browser = browser_as(user, password)
    base = f"/{web_tenant.slug}/subjects"
    token = _token(browser, base)

    detail = browser.get(f"{base}/{subject.id}")
    assert detail.status_code == 200 and "Ruben Smit" in detail.get_data(as_text=True)
    assert f"{base}/{subject.id}/edit" not in detail.get_data(as_text=True)
    assert browser.get(f"{base}/new").status_code == 404
    assert browser.post(f"{base}/{subject.id}/edit", data=_form(csrf_token=token)).status_code == 404
    assert browser.post(f"{base}/{subject.id}/delete", data={"confirm": "y", "csrf_token": token}).status_code == 404
    assert [s.family_name for s in _subjects(web_tenant.id)] == ["Smit"]


def test_another_tenants_subject_is_404_for_view_edit_and_delete(make_user, make_tenant, web_tenant, make_subject,
                                                                 browser_as):
    other = make_tenant()
    theirs = make_subject(other, given_name="Vreemd", family_name="Persoon")
    user, password = make_user(role="admin")
    browser = browser_as(user, password)
    base = f"/{web_tenant.slug}/subjects"
    token = _token(browser, base)

    for path in (f"{base}/{theirs.id}", f"{base}/{theirs.id}/edit", f"{base}/{theirs.id}/delete", f"{base}/not-a-uuid"):
        assert browser.get(path).status_code == 404, path
    assert browser.post(f"{base}/{theirs.id}/edit", data=_form(csrf_token=token)).status_code == 404
    assert browser.post(f"{base}/{theirs.id}/delete", data={"confirm": "y", "csrf_token": token}).status_code == 404
    # Their own tenant's URL is no way in either: this admin is no member there.
    assert browser.get(f"/{other.slug}/subjects/{theirs.id}").status_code == 404
    [kept] = _subjects(other.id)
    assert kept.full_name == "Vreemd Persoon"


def test_invalid_input_gets_messages_and_writes_nothing(make_user, web_tenant, make_subject, browser_as, audit_lines):
    existing = make_subject(web_tenant, given_name="Oud", family_name="Gegeven", city="Delft")
    user, password = make_user(role="supervisor")
    browser = browser_as(user, password)
    base = f"/{web_tenant.slug}/subjects"
    token = _token(browser, f"{base}/new")

    created = browser.post(f"{base}/new", data=_form(csrf_token=token, family_name="", email="geen-adres"))
    assert created.status_code == 400
    text = created.get_data(as_text=True)
    assert "geen-adres" in text  # the form is shown again with what was typed, and the messages
    assert text.count('class="field__errors"') == 2
    edited = browser.post(f"{base}/{existing.id}/edit",
                          data=_form(csrf_token=token, city="Leiden", last_contact_on="31-02-2025"))
    assert edited.status_code == 400
    no_csrf = browser.post(f"{base}/new", data=_form())
    assert no_csrf.status_code == 400

    [only] = _subjects(web_tenant.id)
    assert (only.id, only.city) == (existing.id, "Delft")
    assert audit_lines(web_tenant.id, "subject.create") == []
    assert audit_lines(web_tenant.id, "subject.update") == []


def test_supervisor_creates_and_edits(make_user, web_tenant, make_client_org, browser_as, audit_lines):
    org = make_client_org(web_tenant)
    user, password = make_user(role="supervisor")
    # Seed 004, section 3: a supervisor keeps the people of the client organisations they supervise for.
    make_assignment(web_tenant, org.id, supervisor=user)
    browser = browser_as(user, password)
    base = f"/{web_tenant.slug}/subjects"
    token = _token(browser, f"{base}/new")

    response = browser.post(f"{base}/new", data=_form(csrf_token=token, client_org=str(org.id)))
    assert response.status_code == 302
    [subject] = _subjects(web_tenant.id)
    assert response.headers["Location"] == f"{base}/{subject.id}"
    assert (subject.full_name, subject.email, subject.client_org_id) == ("Fenna Bakker", "fenna@bakker.nl", org.id)

    edited = browser.post(f"{base}/{subject.id}/edit", data=_form(csrf_token=token, city="Assen",
                                                                   client_org=str(org.id)))
    assert edited.status_code == 302
    [subject] = _subjects(web_tenant.id)
    assert subject.city == "Assen"
    subject_id = subject.id
    assert [line[3] for line in audit_lines(web_tenant.id, "subject.update")] == [{"fields": ["city"]}]
    assert browser.get(f"{base}/{subject_id}/delete").status_code == 404  # only admins erase


def test_admin_erases_after_confirming(make_user, web_tenant, make_subject, browser_as, audit_lines):
    subject = make_subject(web_tenant, given_name="Weg", family_name="Ermee")
    user, password = make_user(role="admin")
    browser = browser_as(user, password)
    path = f"/{web_tenant.slug}/subjects/{subject.id}/delete"
    token = _token(browser, path)

    unconfirmed = browser.post(path, data={"csrf_token": token})
    assert unconfirmed.status_code == 400
    assert len(_subjects(web_tenant.id)) == 1

    confirmed = browser.post(path, data={"csrf_token": token, "confirm": "y"})
    assert confirmed.status_code == 302
    assert _subjects(web_tenant.id) == []
    assert db.session.scalars(sa.select(SubjectKey).where(SubjectKey.subject_id == subject.id)).all() == []
    assert db.session.scalars(sa.select(ShreddedSubject).where(ShreddedSubject.subject_id == subject.id)).one()
    assert [line[1] for line in audit_lines(web_tenant.id, "subject.erase")] == [str(subject.id)]
