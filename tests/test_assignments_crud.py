"""Assignments: managed by admins and their supervisors, deleted with their call notes, bad input writes
nothing, and every endpoint answers 404 for another tenant's assignment."""
from __future__ import annotations

import uuid

import pytest
import sqlalchemy as sa

from saas.extensions import db
from saas.modules.assignments.models import Assignment, AssignmentAgent, AssignmentSubject, CallNote
from saas.modules.subjects.models import DataSubject
from saas.testing.fixtures_api import bearer
from saas.testing.records import add_note, count, in_tenant, make_agreement, make_assignment


def _api(tenant, suffix=""):
    return f"/api/v1/{tenant.slug}/assignments{suffix}"


def test_admin_creates_staffs_and_fills_an_assignment_in_the_portal(make_user, web_tenant, make_client_org,
                                                                   make_subject, browser_as, page_token, audit_lines):
    org, other_org = make_client_org(web_tenant), make_client_org(web_tenant)
    supervisor, _ = make_user(role="supervisor", name="Sanne Supervisor")
    agent, _ = make_user(role="agent", name="Arie Agent")
    own = make_subject(web_tenant, "prospect", client_org=org, given_name="Eigen", family_name="Lead")
    foreign = make_subject(web_tenant, "prospect", client_org=other_org, given_name="Vreemde", family_name="Lead")
    browser = browser_as(*make_user(role="admin"))
    base = f"/{web_tenant.slug}/assignments"
    token = page_token(browser, f"{base}/new")

    created = browser.post(f"{base}/new", data={
        "csrf_token": token, "title": "Najaarscampagne", "client_org": str(org.id),
        "supervisor": str(supervisor.id), "agreement": "", "starts_on": "2026-09-01", "ends_on": "2026-12-31",
        "active": "y"})
    assert created.status_code == 302
    assignment_id = created.headers["Location"].rsplit("/", 1)[1]
    page = browser.get(f"{base}/{assignment_id}").get_data(as_text=True)
    assert "Najaarscampagne" in page and "Sanne Supervisor" in page
    assert "Eigen Lead" in page and "Vreemde Lead" not in page  # only this client's subjects are offered

    assert browser.post(f"{base}/{assignment_id}/agents",
                        data={"csrf_token": token, "user": str(agent.id)}).status_code == 302
    assert browser.post(f"{base}/{assignment_id}/subjects",
                        data={"csrf_token": token, "subjects": [str(own.id)]}).status_code == 302
    assert browser.post(f"{base}/{assignment_id}/subjects",
                        data={"csrf_token": token, "subjects": [str(foreign.id)]}).status_code == 400
    assert browser.post(f"{base}/{assignment_id}/notes",
                        data={"csrf_token": token, "subject": str(own.id),
                              "body": "Voicemail ingesproken"}).status_code == 302
    page = browser.get(f"{base}/{assignment_id}").get_data(as_text=True)
    assert "Arie Agent" in page and "Voicemail ingesproken" in page
    with in_tenant(web_tenant):
        assert db.session.scalars(sa.select(AssignmentSubject.subject_id)).all() == [own.id]
    assert [line[3] for line in audit_lines(web_tenant.id, "assignment.subjects_add")] == [{"count": 1}]
    views = audit_lines(web_tenant.id, "assignment.view")
    assert views and all(set(line[3]) == {"subjects", "call_notes"} for line in views)


def test_supervisor_manages_only_what_they_supervise(make_user, web_tenant, make_client_org, browser_as, page_token):
    org = make_client_org(web_tenant)
    supervisor, password = make_user(role="supervisor")
    other, _ = make_user(role="supervisor")
    theirs = make_assignment(web_tenant, org.id, supervisor=other, title="Van een ander")
    make_assignment(web_tenant, org.id, supervisor=supervisor, title="Eerste ronde")  # an admin handed them this client
    browser = browser_as(supervisor, password)
    base = f"/{web_tenant.slug}/assignments"
    token = page_token(browser, f"{base}/new")

    created = browser.post(f"{base}/new", data={"csrf_token": token, "title": "Mijn campagne",
                                                "client_org": str(org.id), "active": "y"})
    assert created.status_code == 302
    with in_tenant(web_tenant):
        mine = db.session.scalar(sa.select(Assignment).where(Assignment.title == "Mijn campagne"))
        assert mine.supervisor_id == supervisor.id  # a supervisor's new assignment is theirs
    listing = browser.get(base).get_data(as_text=True)
    assert "Mijn campagne" in listing and "Van een ander" not in listing
    assert browser.get(f"{base}/{theirs}").status_code == 404
    assert browser.post(f"{base}/{theirs}/deactivate", data={"csrf_token": token}).status_code == 404
    assert browser.post(f"{base}/{theirs}/delete", data={"csrf_token": token}).status_code == 404
    assert count(web_tenant, Assignment, Assignment.id == theirs, Assignment.active.is_(True)) == 1


def test_agents_and_clients_cannot_manage(make_user, web_tenant, make_client_org, browser_as, api_user, client):
    org = make_client_org(web_tenant)
    agent, agent_pw = make_user(role="agent")
    assignment_id = make_assignment(web_tenant, org.id, agents=[agent])
    browser = browser_as(agent, agent_pw)
    base = f"/{web_tenant.slug}/assignments"
    assert browser.get(f"{base}/{assignment_id}").status_code == 200
    for path in (f"{base}/new", f"{base}/{assignment_id}/edit", f"{base}/{assignment_id}/delete"):
        assert browser.get(path).status_code == 404, path
    _user, token = api_user(role="agent")
    assert client.post(_api(web_tenant), headers=bearer(token),
                       json={"title": "Niet van mij", "client_org_id": str(org.id)}).status_code == 404  # policy: 404
    assert count(web_tenant, Assignment) == 1


def test_deleting_an_assignment_deletes_its_call_notes_and_keeps_its_subjects(make_user, web_tenant, make_client_org,
                                                                              make_subject, api_user, client,
                                                                              audit_lines):
    org = make_client_org(web_tenant)
    agent, _ = make_user(role="agent")
    person = make_subject(web_tenant, "prospect", client_org=org)
    doomed = make_assignment(web_tenant, org.id, agents=[agent], subjects=[person])
    kept = make_assignment(web_tenant, org.id, agents=[agent], subjects=[person])
    for n in range(3):
        add_note(web_tenant, doomed, person.id, f"Gesprek {n}")
    add_note(web_tenant, kept, person.id, "Blijft")
    _user, token = api_user()

    assert client.delete(_api(web_tenant, f"/{doomed}"), headers=bearer(token)).status_code == 204

    assert count(web_tenant, CallNote, CallNote.assignment_id == doomed) == 0
    assert count(web_tenant, AssignmentAgent, AssignmentAgent.assignment_id == doomed) == 0
    assert count(web_tenant, AssignmentSubject, AssignmentSubject.assignment_id == doomed) == 0
    assert count(web_tenant, CallNote) == 1 and count(web_tenant, DataSubject) == 1
    assert audit_lines(web_tenant.id, "assignment.delete")[0][1:2] == (str(doomed),)
    assert audit_lines(web_tenant.id, "assignment.delete")[0][3] == {"call_notes_deleted": 3}


def test_portal_delete_asks_first(make_user, web_tenant, make_client_org, make_subject, browser_as, page_token):
    org = make_client_org(web_tenant)
    person = make_subject(web_tenant, "prospect", client_org=org)
    assignment_id = make_assignment(web_tenant, org.id, subjects=[person], title="Te verwijderen campagne")
    add_note(web_tenant, assignment_id, person.id, "Notitie")
    browser = browser_as(*make_user(role="admin"))
    path = f"/{web_tenant.slug}/assignments/{assignment_id}/delete"
    question = browser.get(path)
    assert question.status_code == 200 and "Te verwijderen campagne" in question.get_data(as_text=True)
    assert browser.post(path, data={}).status_code == 400  # no CSRF token: nothing deleted
    assert count(web_tenant, CallNote) == 1
    assert browser.post(path, data={"csrf_token": page_token(browser, path)}).status_code == 302
    assert count(web_tenant, CallNote) == 0 and count(web_tenant, Assignment) == 0


def test_api_crud_and_staffing(make_user, web_tenant, make_client_org, make_subject, api_user, client):
    org = make_client_org(web_tenant)
    agent, _ = make_user(role="agent")
    person = make_subject(web_tenant, "prospect", client_org=org, given_name="Lotte")
    agreement = make_agreement(web_tenant, "completed", org.id)
    _user, token = api_user()
    created = client.post(_api(web_tenant), headers=bearer(token), json={
        "title": "Voorjaarscampagne", "client_org_id": str(org.id), "agreement_id": str(agreement)})
    assert created.status_code == 201, created.json
    url = _api(web_tenant, f"/{created.json['id']}")

    assert client.post(f"{url}/agents", headers=bearer(token), json={"user_id": str(agent.id)}).status_code == 201
    assert [a["user_id"] for a in client.get(f"{url}/agents", headers=bearer(token)).json] == [str(agent.id)]
    added = client.post(f"{url}/subjects", headers=bearer(token), json={"subject_ids": [str(person.id)] * 2})
    assert added.json == {"added": 1}
    assert [s["given_name"] for s in client.get(f"{url}/subjects", headers=bearer(token)).json] == ["Lotte"]
    patched = client.patch(url, headers=bearer(token), json={"active": False, "title": "Voorjaar"})
    assert (patched.json["active"], patched.json["title"]) == (False, "Voorjaar")
    assert client.delete(f"{url}/agents/{agent.id}", headers=bearer(token)).status_code == 204
    assert client.delete(f"{url}/agents/{agent.id}", headers=bearer(token)).status_code == 404
    assert client.delete(f"{url}/subjects/{person.id}", headers=bearer(token)).status_code == 204
    assert client.get(f"{url}/subjects", headers=bearer(token)).json == []


@pytest.mark.parametrize("body, field", [
    ({"title": "", "client_org_id": "ORG"}, "title"),
    ({"title": "X", "client_org_id": str(uuid.uuid4())}, "client_org_id"),
    ({"title": "X", "client_org_id": "ORG", "starts_on": "2026-05-01", "ends_on": "2026-04-01"}, "ends_on"),
    ({"title": "X", "client_org_id": "ORG", "agreement_id": str(uuid.uuid4())}, "agreement_id"),
    ({"title": "X", "client_org_id": "ORG", "supervisor_id": "AGENT"}, "supervisor_id"),
    ({"title": "X"}, "client_org_id"),
])
def test_bad_assignments_are_422_and_write_nothing(make_user, web_tenant, make_client_org, api_user, client,
                                                   audit_rows, body, field):
    org = make_client_org(web_tenant)
    agent, _ = make_user(role="agent")
    body = {k: {"ORG": str(org.id), "AGENT": str(agent.id)}.get(v, v) for k, v in body.items()}
    _user, token = api_user()
    before = len(audit_rows(web_tenant))
    response = client.post(_api(web_tenant), headers=bearer(token), json=body)
    assert response.status_code == 422, response.json
    assert field in response.json["errors"]["json"]
    assert count(web_tenant, Assignment) == 0
    assert len(audit_rows(web_tenant)) == before


def test_bad_staffing_writes_nothing(make_user, make_tenant, web_tenant, make_client_org, make_subject, api_user,
                                     client):
    org, other_org = make_client_org(web_tenant), make_client_org(web_tenant)
    supervisor, _ = make_user(role="supervisor")
    person = make_subject(web_tenant, "prospect", client_org=org)
    foreign = make_subject(web_tenant, "prospect", client_org=other_org)
    elsewhere = make_subject(make_tenant(), "prospect")
    assignment_id = make_assignment(web_tenant, org.id)
    _user, token = api_user()
    url = _api(web_tenant, f"/{assignment_id}")
    assert client.post(f"{url}/agents", headers=bearer(token), json={"user_id": str(supervisor.id)}).status_code == 422
    for ids in ([str(person.id), str(foreign.id)], [str(elsewhere.id)]):
        response = client.post(f"{url}/subjects", headers=bearer(token), json={"subject_ids": ids})
        assert response.status_code == 422 and "subject_ids" in response.json["errors"]["json"]
    note = client.post(f"{url}/notes", headers=bearer(token), json={"subject_id": str(person.id), "body": "x"})
    assert note.status_code == 422  # not one of the assignment's subjects
    assert [count(web_tenant, model) for model in (AssignmentAgent, AssignmentSubject, CallNote)] == [0, 0, 0]


def test_another_tenants_assignment_is_404_on_every_endpoint(make_user, make_tenant, web_tenant, make_client_org,
                                                             make_subject, api_user, browser_as, page_token, client):
    other = make_tenant()
    their_org = make_client_org(other)
    their_agent, _ = make_user(role="agent", tenant=other)
    their_person = make_subject(other, "prospect", client_org=their_org)
    theirs = make_assignment(other, their_org.id, agents=[their_agent], subjects=[their_person])
    add_note(other, theirs, their_person.id, "Geheim gesprek")
    admin, password = make_user(role="admin")
    browser = browser_as(admin, password)
    base = f"/{web_tenant.slug}/assignments/{theirs}"
    token = page_token(browser, f"/{web_tenant.slug}/assignments/new")

    for path in (base, f"{base}/edit", f"{base}/delete"):
        assert browser.get(path).status_code == 404, path
    posts = {
        f"{base}/edit": {"title": "Overgenomen", "client_org": str(their_org.id)},
        f"{base}/activate": {}, f"{base}/deactivate": {},
        f"{base}/agents": {"user": str(their_agent.id)},
        f"{base}/agents/{their_agent.id}/remove": {},
        f"{base}/subjects": {"subjects": [str(their_person.id)]},
        f"{base}/subjects/{their_person.id}/remove": {},
        f"{base}/notes": {"subject": str(their_person.id), "body": "Ingebroken"},
        f"{base}/delete": {},
    }
    for path, data in posts.items():
        assert browser.post(path, data={"csrf_token": token, **data}).status_code == 404, path
    assert browser.get(f"/{other.slug}/assignments/{theirs}").status_code == 404

    _user, api_token = api_user()
    url = _api(web_tenant, f"/{theirs}")
    calls = [("get", url, None), ("patch", url, {"title": "x"}), ("delete", url, None),
             ("get", f"{url}/agents", None), ("post", f"{url}/agents", {"user_id": str(their_agent.id)}),
             ("delete", f"{url}/agents/{their_agent.id}", None),
             ("get", f"{url}/subjects", None), ("post", f"{url}/subjects", {"subject_ids": [str(their_person.id)]}),
             ("delete", f"{url}/subjects/{their_person.id}", None),
             ("get", f"{url}/notes", None), ("post", f"{url}/notes", {"subject_id": str(their_person.id), "body": "x"})]
    for method, path, body in calls:
        response = getattr(client, method)(path, headers=bearer(api_token), json=body)
        assert response.status_code == 404, (method, path, response.status_code)
    assert client.get(_api(web_tenant), headers=bearer(api_token)).json == []

    with in_tenant(other):
        kept = db.session.get(Assignment, theirs)
        assert (kept.title, kept.active) == ("Belcampagne", True)
        assert db.session.scalar(sa.select(sa.func.count(CallNote.id))) == 1
        assert db.session.scalar(sa.select(sa.func.count(AssignmentAgent.id))) == 1
