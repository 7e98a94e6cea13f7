"""Issue 9, items 1 and 2: the breaks found by attacking need-to-know inside a tenant, each held by the one access
policy and by the assignment invariants (the people of an assignment belong to its client organisation; the
tenant's own staff and applicants never show up in a client's assignment; an assignment with people or notes
keeps its client organisation; a client sees a company only through its own organisation's records), and the
board's HR files (seed 004, section 9)."""
from __future__ import annotations

import pytest

from saas.core import clock
from saas.extensions import db
from saas.modules.assignments.models import Assignment, AssignmentSubject
from saas.modules.subjects.models import DataSubject
from saas.testing.fixtures_api import bearer
from saas.testing.records import add_note, count, in_tenant, make_assignment, make_company

OWN_NOTE = "Wil offerte voor 40 licenties"
STAFF_NOTE = "Sollicitatiegesprek: afgewezen wegens salariseis"


@pytest.fixture()
def web_tenant(make_tenant):
    """Categories come only from a tenant's plugins: prospects (leadgen), applicants and employees (employment).
    Agents here work without a processor agreement per assignment and without the work queue (those rules have
    their own tests: tests/test_assignments_visibility.py, tests/test_assignments_work_queue.py)."""
    return make_tenant(plugins=["leadgen", "employment"],
                       settings={"leadgen": {"agreement_per_assignment": False, "work_queue": False}})


def _api(tenant, suffix=""):
    return f"/api/v1/{tenant.slug}{suffix}"


def _world(web_tenant, make_user, make_client_org, make_subject):
    """One client organisation with its own prospect, the tenant's own applicant and employee (no client
    organisation) linked to the client's assignment as the old admin form allowed, with a note on each."""
    org, other_org = make_client_org(web_tenant), make_client_org(web_tenant)
    supervisor, supervisor_pw = make_user(role="supervisor")
    own = make_subject(web_tenant, "prospect", client_org=org, given_name="Eigen", family_name="Prospect",
                       email="eigen.prospect@example.nl")
    applicant = make_subject(web_tenant, "applicant", given_name="Sollie", family_name="Citant",
                             email="sollie.citant@example.nl", phone="0612345678")
    employee = make_subject(web_tenant, "employee", given_name="Mede", family_name="Werker")
    assignment_id = make_assignment(web_tenant, org.id, supervisor=supervisor,
                                    subjects=[own, applicant, employee], title="Voorjaarscampagne")
    add_note(web_tenant, assignment_id, own.id, OWN_NOTE)
    add_note(web_tenant, assignment_id, applicant.id, STAFF_NOTE)
    return {"org": org, "other_org": other_org, "supervisor": (supervisor, supervisor_pw), "own": own,
            "applicant": applicant, "employee": employee, "assignment": assignment_id}


def test_client_opening_its_own_assignment_sees_no_people_of_no_client_org(
        web_tenant, make_user, make_client_org, make_subject, browser_as, api_user, client):
    world = _world(web_tenant, make_user, make_client_org, make_subject)
    assignment_id = world["assignment"]
    user, password = make_user(role="client", client_org=world["org"])

    page = browser_as(user, password).get(f"/{web_tenant.slug}/assignments/{assignment_id}")
    html = page.get_data(as_text=True)
    assert page.status_code == 200 and "Eigen Prospect" in html and OWN_NOTE in html
    for hidden in ("Sollie", "Citant", "Mede Werker", STAFF_NOTE):
        assert hidden not in html, hidden

    _user, token = api_user(role="client", client_org=world["org"])
    people = client.get(_api(web_tenant, f"/assignments/{assignment_id}/subjects"), headers=bearer(token))
    assert people.status_code == 200
    assert [p["id"] for p in people.json] == [str(world["own"].id)]
    assert "sollie.citant@example.nl" not in people.get_data(as_text=True)
    notes = client.get(_api(web_tenant, f"/assignments/{assignment_id}/notes"), headers=bearer(token)).json
    assert [n["subject_id"] for n in notes] == [str(world["own"].id)]


def test_admin_form_adds_only_the_client_organisations_own_people(
        web_tenant, make_user, make_client_org, make_subject, browser_as, page_token, api_user, client):
    org, other_org = make_client_org(web_tenant), make_client_org(web_tenant)
    own = make_subject(web_tenant, "prospect", client_org=org, given_name="Eigen", family_name="Lead")
    foreign = make_subject(web_tenant, "prospect", client_org=other_org, given_name="Vreemde", family_name="Lead")
    applicant = make_subject(web_tenant, "applicant", given_name="Sollie", family_name="Citant")
    assignment_id = make_assignment(web_tenant, org.id)
    browser = browser_as(*make_user(role="admin"))
    base = f"/{web_tenant.slug}/assignments/{assignment_id}"

    page = browser.get(base).get_data(as_text=True)
    assert "Eigen Lead" in page and "Vreemde Lead" not in page and "Sollie Citant" not in page
    for outsider in (applicant, foreign):
        refused = browser.post(f"{base}/subjects", data={"csrf_token": page_token(browser, base),
                                                         "subjects": [str(outsider.id)]})
        assert refused.status_code == 400
    added = browser.post(f"{base}/subjects", data={"csrf_token": page_token(browser, base), "subjects": [str(own.id)]})
    assert added.status_code == 302

    _user, token = api_user()
    url = _api(web_tenant, f"/assignments/{assignment_id}/subjects")
    refused = client.post(url, headers=bearer(token), json={"subject_ids": [str(applicant.id)]})
    assert refused.status_code == 422
    assert "horen niet bij de opdrachtgever" in str(refused.json["errors"])  # the tenant's language: Dutch
    assert count(web_tenant, AssignmentSubject, AssignmentSubject.assignment_id == assignment_id) == 1


def test_an_assignment_with_people_or_notes_keeps_its_client_organisation(
        web_tenant, make_user, make_client_org, make_subject, make_token, browser_as, page_token, client):
    org, other_org = make_client_org(web_tenant), make_client_org(web_tenant)
    supervisor, _ = make_user(role="supervisor")
    person = make_subject(web_tenant, "prospect", client_org=org, given_name="Oude", family_name="Klant")
    assignment_id = make_assignment(web_tenant, org.id, supervisor=supervisor, subjects=[person])
    add_note(web_tenant, assignment_id, person.id, OWN_NOTE)
    admin, admin_pw = make_user(role="admin")
    admin_token = make_token(admin, web_tenant)
    url = _api(web_tenant, f"/assignments/{assignment_id}")

    # Not even an administrator moves an assignment that has people or notes.
    moved = client.patch(url, headers=bearer(admin_token), json={"client_org_id": str(other_org.id)})
    assert moved.status_code == 422
    assert "kan niet naar een andere opdrachtgever" in str(moved.json["errors"]["json"]["client_org_id"])
    browser = browser_as(admin, admin_pw)
    edit = f"/{web_tenant.slug}/assignments/{assignment_id}/edit"
    form = browser.post(edit, data={"csrf_token": page_token(browser, edit), "title": "Belcampagne",
                                    "client_org": str(other_org.id), "agreement": "", "active": "y",
                                    "supervisor": str(supervisor.id)})
    assert form.status_code == 400 and "kan niet naar een andere opdrachtgever" in form.get_data(as_text=True)
    with in_tenant(web_tenant):
        assert db.session.get(Assignment, assignment_id).client_org_id == org.id

    # The new client would have read the old client's person: nothing of it reaches them.
    other_client, other_pw = make_user(role="client", client_org=other_org)
    assert browser_as(other_client, other_pw).get(f"/{web_tenant.slug}/subjects/{person.id}").status_code == 404

    # A person in the assignment keeps the organisation too; an empty assignment may still move, by an
    # administrator only (its supervisor would get the other client's database).
    person_url = _api(web_tenant, f"/subjects/{person.id}")
    assert client.patch(person_url, headers=bearer(admin_token),
                        json={"client_org_id": str(other_org.id)}).status_code == 422
    empty = make_assignment(web_tenant, org.id, supervisor=supervisor)
    assert client.patch(_api(web_tenant, f"/assignments/{empty}"), headers=bearer(make_token(supervisor, web_tenant)),
                        json={"client_org_id": str(other_org.id)}).status_code == 422
    assert client.patch(_api(web_tenant, f"/assignments/{empty}"), headers=bearer(admin_token),
                        json={"client_org_id": str(other_org.id)}).status_code == 200


def test_client_reads_no_company_name_through_the_subjects_filter(
        web_tenant, make_user, make_client_org, make_subject, browser_as, api_user, client):
    org, other_org = make_client_org(web_tenant), make_client_org(web_tenant)
    secret = make_company(web_tenant, name="Geheime Concurrent BV", client_org_id=other_org.id)
    shared = make_company(web_tenant, name="Gedeelde Werkgever BV", client_org_id=other_org.id)
    make_subject(web_tenant, "prospect", client_org=org, given_name="Eigen", family_name="Lead", company_id=shared)
    user, password = make_user(role="client", client_org=org)
    browser = browser_as(user, password)

    page = browser.get(f"/{web_tenant.slug}/subjects?company={secret}")
    assert page.status_code == 200 and "Geheime Concurrent BV" not in page.get_data(as_text=True)
    assert browser.get(f"/{web_tenant.slug}/companies/{secret}").status_code == 404
    # Seen through a record of its own organisation (its person works there), a company is visible.
    assert "Gedeelde Werkgever BV" in browser.get(f"/{web_tenant.slug}/subjects?company={shared}").get_data(as_text=True)

    _user, token = api_user(role="client", client_org=org)
    assert client.get(_api(web_tenant, f"/companies/{secret}"), headers=bearer(token)).status_code == 404
    listed = client.get(_api(web_tenant, "/companies?page_size=100"), headers=bearer(token)).json
    assert [c["name"] for c in listed] == ["Gedeelde Werkgever BV"]
    subjects = client.get(_api(web_tenant, f"/subjects?company_id={secret}"), headers=bearer(token))
    assert subjects.status_code == 200 and subjects.json == []


def test_agent_sees_only_the_usable_people_of_its_open_assignments(
        web_tenant, make_user, make_client_org, make_subject, make_token, browser_as, client):
    org = make_client_org(web_tenant)
    agent, agent_pw = make_user(role="agent")
    usable = make_subject(web_tenant, "prospect", client_org=org, given_name="Bruikbare", family_name="Lead")
    flagged = make_subject(web_tenant, "prospect", client_org=org, given_name="Gemarkeerde", family_name="Lead")
    closed = make_subject(web_tenant, "prospect", client_org=org, given_name="Gesloten", family_name="Lead")
    applicant = make_subject(web_tenant, "applicant", given_name="Sollie", family_name="Citant")
    with in_tenant(web_tenant):
        db.session.get(DataSubject, flagged.id).needs_verification_since = clock.today()
    open_id = make_assignment(web_tenant, org.id, agents=[agent], subjects=[usable, flagged, applicant])
    closed_id = make_assignment(web_tenant, org.id, agents=[agent], subjects=[closed], active=False)
    token = make_token(agent, web_tenant)

    people = client.get(_api(web_tenant, f"/assignments/{open_id}/subjects"), headers=bearer(token)).json
    assert [p["id"] for p in people] == [str(usable.id)]
    listed = client.get(_api(web_tenant, "/subjects?page_size=100"), headers=bearer(token)).json
    assert [p["id"] for p in listed] == [str(usable.id)]
    for hidden in (flagged, closed, applicant):
        assert client.get(_api(web_tenant, f"/subjects/{hidden.id}"), headers=bearer(token)).status_code == 404
    assert client.get(_api(web_tenant, f"/assignments/{closed_id}"), headers=bearer(token)).status_code == 404

    page = browser_as(agent, agent_pw).get(f"/{web_tenant.slug}/assignments/{open_id}").get_data(as_text=True)
    assert "Bruikbare Lead" in page and "Sollie" not in page


def test_hr_files_are_the_boards_only(web_tenant, make_user, make_client_org, make_subject, api_user, client):
    employee = make_subject(web_tenant, "employee", given_name="Mede", family_name="Werker")
    prospect = make_subject(web_tenant, "prospect", client_org=make_client_org(web_tenant), given_name="Pros")
    _admin, admin_token = api_user()
    _board, board_token = api_user(role="board")
    assert client.get(_api(web_tenant, f"/subjects/{employee.id}"), headers=bearer(admin_token)).status_code == 404
    assert client.get(_api(web_tenant, f"/subjects/{employee.id}"), headers=bearer(board_token)).status_code == 200
    assert client.get(_api(web_tenant, f"/subjects/{prospect.id}"), headers=bearer(board_token)).status_code == 404
    assert client.get(_api(web_tenant, "/assignments"), headers=bearer(board_token)).status_code == 404
    # The board keeps HR files only; nobody else makes one.
    made = client.post(_api(web_tenant, "/subjects"), headers=bearer(board_token),
                       json={"category": "employee", "given_name": "Nieuwe", "family_name": "Collega"})
    assert made.status_code == 201
    assert client.post(_api(web_tenant, "/subjects"), headers=bearer(board_token),
                       json={"category": "prospect", "given_name": "Geen"}).status_code == 422
    assert client.post(_api(web_tenant, "/subjects"), headers=bearer(admin_token),
                       json={"category": "employee", "given_name": "Geen"}).status_code == 422
    assert count(web_tenant, DataSubject, DataSubject.category == "employee") == 2


def test_only_the_policy_s_roles_may_erase_a_person_through_the_api(
        web_tenant, make_user, make_client_org, make_subject, api_user, client, audit_rows):
    org = make_client_org(web_tenant)
    supervisor, _ = make_user(role="supervisor")
    person = make_subject(web_tenant, "prospect", client_org=org, given_name="Blijf", family_name="Bestaan")
    make_assignment(web_tenant, org.id, supervisor=supervisor, subjects=[person])
    url = _api(web_tenant, f"/subjects/{person.id}")
    for role in ("client", "supervisor", "agent"):
        _user, token = api_user(role=role, client_org=org if role == "client" else None)
        assert client.delete(url, headers=bearer(token)).status_code == 404, role
    assert count(web_tenant, DataSubject, DataSubject.id == person.id) == 1
    refusals = [(r["action"], r["object_id"]) for r in audit_rows(web_tenant) if r["outcome"] == "denied"]
    assert refusals == [("subject.delete", str(person.id))] * 3
