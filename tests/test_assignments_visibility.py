"""Need-to-know (seed 004): agents see only the usable subjects of their open assignments, call notes follow
the assignment's state, client users see their own organisation, supervisors what they supervise."""
from __future__ import annotations

import sqlalchemy as sa

from saas.core import clock
from saas.extensions import db
from saas.modules.assignments.models import Assignment, CallNote
from saas.modules.subjects.models import DataSubject
from saas.testing.fixtures_api import bearer
from saas.testing.records import add_note, count, in_tenant, leadgen_tenant, make_agreement, make_assignment

NOTE = "Belde terug, wil offerte voor 40 licenties"


def _text(response) -> str:
    assert response.status_code == 200, response.status_code
    return response.get_data(as_text=True)


def _world(make_tenant, make_user, make_client_org, make_subject, *, required=True):
    """A leadgen tenant with one agent, one client organisation and subjects in assignments of every kind."""
    tenant = leadgen_tenant(make_tenant, agreement_per_assignment=required)
    org = make_client_org(tenant)
    agent, agent_pw = make_user(role="agent", tenant=tenant)
    people = {name: make_subject(tenant, "prospect", client_org=org, given_name=name, family_name="Prospect")
              for name in ("Open", "Inactief", "Ongetekend", "Gemarkeerd", "Nergens", "Zonder")}
    with in_tenant(tenant):
        db.session.get(DataSubject, people["Gemarkeerd"].id).needs_verification_since = clock.today()
    completed = make_agreement(tenant, "completed", org.id)
    open_id = make_assignment(tenant, org.id, agents=[agent], agreement_id=completed, title="Open opdracht",
                              subjects=[people["Open"], people["Gemarkeerd"]])
    inactive_id = make_assignment(tenant, org.id, agents=[agent], agreement_id=make_agreement(tenant, "completed"),
                                  subjects=[people["Inactief"]], active=False, title="Gestopte opdracht")
    unsigned_id = make_assignment(tenant, org.id, agents=[agent], agreement_id=make_agreement(tenant, "sent"),
                                  subjects=[people["Ongetekend"]], title="Ongetekende opdracht")
    no_agreement_id = make_assignment(tenant, org.id, agents=[agent], subjects=[people["Zonder"]],
                                      title="Opdracht zonder overeenkomst")
    return {"tenant": tenant, "org": org, "agent": (agent, agent_pw), "people": people, "open": open_id,
            "inactive": inactive_id, "unsigned": unsigned_id, "no_agreement": no_agreement_id}


def test_agent_sees_only_usable_subjects_of_open_assignments_with_completed_agreement(
        make_tenant, make_user, make_client_org, make_subject, browser_as, audit_lines):
    world = _world(make_tenant, make_user, make_client_org, make_subject)
    tenant, people = world["tenant"], world["people"]
    browser = browser_as(*world["agent"])
    base = f"/{tenant.slug}/subjects"

    listing = _text(browser.get(base))
    assert "Open Prospect" in listing
    for hidden in ("Inactief", "Ongetekend", "Gemarkeerd", "Nergens", "Zonder"):
        assert hidden not in listing, hidden
    assert browser.get(f"{base}/{people['Open'].id}").status_code == 200
    for hidden in ("Inactief", "Ongetekend", "Gemarkeerd", "Nergens", "Zonder"):
        assert browser.get(f"{base}/{people[hidden].id}").status_code == 404, hidden
    denied = {line[1] for line in audit_lines(tenant.id, "subject.view") if line[0] == "denied"}
    assert str(people["Nergens"].id) in denied

    # A flagged subject of an open assignment is reachable only through verification.
    to_verify = _text(browser.get(f"{base}?verification=needed"))
    assert "Gemarkeerd Prospect" in to_verify and "Open Prospect" not in to_verify
    assert f"{base}/{people['Gemarkeerd'].id}/verify" in to_verify
    assert browser.get(f"{base}/{people['Gemarkeerd'].id}/verify").status_code == 200
    assert browser.get(f"{base}/{people['Inactief'].id}/verify").status_code == 404

    assignments = _text(browser.get(f"/{tenant.slug}/assignments"))
    assert "Open opdracht" in assignments
    for hidden in ("Gestopte opdracht", "Ongetekende opdracht", "Opdracht zonder overeenkomst"):
        assert hidden not in assignments
    for key in ("inactive", "unsigned", "no_agreement"):
        assert browser.get(f"/{tenant.slug}/assignments/{world[key]}").status_code == 404, key


def test_without_the_agreement_setting_an_active_assignment_is_enough(make_tenant, make_user, make_client_org,
                                                                      make_subject, browser_as):
    world = _world(make_tenant, make_user, make_client_org, make_subject, required=False)
    browser = browser_as(*world["agent"])
    listing = _text(browser.get(f"/{world['tenant'].slug}/subjects"))
    assert "Zonder Prospect" in listing and "Ongetekend Prospect" in listing
    assert "Inactief" not in listing and "Gemarkeerd" not in listing


def test_agent_api_applies_the_same_rules(make_tenant, make_user, make_client_org, make_subject, make_token, client):
    world = _world(make_tenant, make_user, make_client_org, make_subject)
    tenant, people = world["tenant"], world["people"]
    token = make_token(world["agent"][0], tenant)
    url = f"/api/v1/{tenant.slug}/subjects"
    listed = client.get(url, headers=bearer(token)).json
    assert [s["given_name"] for s in listed] == ["Open"]
    assert client.get(f"{url}/{people['Gemarkeerd'].id}", headers=bearer(token)).status_code == 404
    flagged = client.get(f"{url}?needs_verification=true", headers=bearer(token)).json
    assert [s["given_name"] for s in flagged] == ["Gemarkeerd"]
    verified = client.post(f"{url}/{people['Gemarkeerd'].id}/verify", headers=bearer(token))
    assert verified.status_code == 200 and verified.json["needs_verification_since"] is None
    assert client.get(f"{url}/{people['Gemarkeerd'].id}", headers=bearer(token)).status_code == 200
    notes = client.get(f"/api/v1/{tenant.slug}/assignments/{world['inactive']}/notes", headers=bearer(token))
    assert notes.status_code == 404


def test_agent_verifies_a_flagged_subject_or_records_that_it_left(make_tenant, make_user, make_client_org,
                                                                  make_subject, browser_as, page_token, audit_lines):
    world = _world(make_tenant, make_user, make_client_org, make_subject)
    tenant, flagged = world["tenant"], world["people"]["Gemarkeerd"]
    browser = browser_as(*world["agent"])
    path = f"/{tenant.slug}/subjects/{flagged.id}/verify"
    token = page_token(browser, path)

    assert browser.post(path, data={"csrf_token": token}).status_code == 400  # no outcome chosen
    done = browser.post(path, data={"csrf_token": token, "verified": "1"})
    assert done.status_code == 302
    with in_tenant(tenant):
        subject = db.session.get(DataSubject, flagged.id)
        assert (subject.needs_verification_since, subject.last_verified_on) == (None, clock.today())
    assert browser.get(f"/{tenant.slug}/subjects/{flagged.id}").status_code == 200

    open_one = world["people"]["Open"]
    left = browser.post(f"/{tenant.slug}/subjects/{open_one.id}/verify",
                        data={"csrf_token": token, "left_company": "1"})
    assert left.status_code == 302
    with in_tenant(tenant):  # leadgen deletes a contact who left at once
        assert db.session.get(DataSubject, open_one.id) is None
    assert browser.get(f"/{tenant.slug}/subjects/{open_one.id}").status_code == 404
    assert [line[1] for line in audit_lines(tenant.id, "retention.verify")] == [str(flagged.id)]
    assert [line[1] for line in audit_lines(tenant.id, "retention.left_company")] == [str(open_one.id)]


def test_call_notes_follow_the_assignment_for_agents_but_not_for_others(
        make_tenant, make_user, make_client_org, make_subject, browser_as, page_token):
    world = _world(make_tenant, make_user, make_client_org, make_subject)
    tenant, org, person = world["tenant"], world["org"], world["people"]["Open"]
    add_note(tenant, world["open"], person.id, NOTE)
    supervisor, sup_pw = make_user(role="supervisor", tenant=tenant)
    other_supervisor, other_pw = make_user(role="supervisor", tenant=tenant)
    client_user, client_pw = make_user(role="client", tenant=tenant, client_org=org)
    admin, admin_pw = make_user(role="admin", tenant=tenant)
    with in_tenant(tenant):
        db.session.get(Assignment, world["open"]).supervisor_id = supervisor.id
    assignment_path = f"/{tenant.slug}/assignments/{world['open']}"
    subject_path = f"/{tenant.slug}/subjects/{person.id}"

    agent = browser_as(*world["agent"])
    assert NOTE in _text(agent.get(assignment_path)) and NOTE in _text(agent.get(subject_path))

    admin_browser = browser_as(admin, admin_pw)
    token = page_token(admin_browser, assignment_path)
    assert admin_browser.post(f"{assignment_path}/deactivate", data={"csrf_token": token}).status_code == 302

    assert agent.get(assignment_path).status_code == 404
    assert agent.get(subject_path).status_code == 404
    assert NOTE not in agent.get(f"/{tenant.slug}/subjects").get_data(as_text=True)
    for user, password in ((admin, admin_pw), (supervisor, sup_pw), (client_user, client_pw)):
        browser = browser_as(user, password)
        assert NOTE in _text(browser.get(assignment_path)), user.email
        assert NOTE in _text(browser.get(subject_path)), user.email
    other = browser_as(other_supervisor, other_pw)
    assert other.get(assignment_path).status_code == 404
    # A supervisor for no assignment of this client organisation does not see its people (seed 004, section 3)...
    assert other.get(subject_path).status_code == 404
    # ...one of another assignment for the same client sees the person, but not the other assignment's notes.
    make_assignment(tenant, org.id, supervisor=other_supervisor, title="Andere opdracht")
    assert NOTE not in _text(other.get(subject_path))


def test_client_user_sees_only_its_own_organisations_assignments(make_tenant, make_user, make_client_org,
                                                                 make_subject, browser_as, api_user, client):
    tenant = leadgen_tenant(make_tenant)
    own, other = make_client_org(tenant), make_client_org(tenant)
    mine = make_assignment(tenant, own.id, title="Eigen campagne")
    theirs = make_assignment(tenant, other.id, title="Andere campagne")
    user, password = make_user(role="client", tenant=tenant, client_org=own)
    browser = browser_as(user, password)
    listing = _text(browser.get(f"/{tenant.slug}/assignments"))
    assert "Eigen campagne" in listing and "Andere campagne" not in listing
    assert browser.get(f"/{tenant.slug}/assignments/{theirs}").status_code == 404
    assert browser.get(f"/{tenant.slug}/assignments/new").status_code == 404

    _user, token = api_user(role="client", tenant=tenant, client_org=own)
    listed = client.get(f"/api/v1/{tenant.slug}/assignments", headers=bearer(token)).json
    assert [a["id"] for a in listed] == [str(mine)]
    refused = client.post(f"/api/v1/{tenant.slug}/assignments/{mine}/notes", headers=bearer(token),
                          json={"subject_id": str(mine), "body": "mag niet"})
    assert refused.status_code == 404  # the access policy: what a role may not do is 404


def test_agent_cannot_write_a_note_on_a_flagged_subject(make_tenant, make_user, make_client_org, make_subject,
                                                        make_token, client):
    world = _world(make_tenant, make_user, make_client_org, make_subject)
    tenant = world["tenant"]
    token = make_token(world["agent"][0], tenant)
    url = f"/api/v1/{tenant.slug}/assignments/{world['open']}/notes"
    flagged = client.post(url, headers=bearer(token), json={"subject_id": str(world["people"]["Gemarkeerd"].id),
                                                            "body": "Gebeld"})
    assert flagged.status_code == 422 and "subject_id" in flagged.json["errors"]["json"]
    ok = client.post(url, headers=bearer(token), json={"subject_id": str(world["people"]["Open"].id), "body": "Gebeld"})
    assert ok.status_code == 201 and ok.json["body"] == "Gebeld"
    listed = client.get(url, headers=bearer(token)).json
    assert [note["body"] for note in listed] == ["Gebeld"]
    assert count(tenant, CallNote) == 1
    with in_tenant(tenant):
        stored = db.session.scalar(sa.select(CallNote.ciphertext))
    assert b"Gebeld" not in stored  # encrypted with the subject's key
