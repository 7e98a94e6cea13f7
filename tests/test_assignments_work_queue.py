"""The agent's work queue (issue 11 item 5, seed 004 s.3: agents "krijgen alleen die gegevens te zien waar ze
daadwerkelijk aan werken op dat moment"): an agent sees only the records checked out to them, until the end
of the day; supervisor and admin see the whole database; every view is logged. Call notes carry a result
and sort by company, result and date, never by their text (seed 004 s.4.3)."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

import sqlalchemy as sa

from saas.core import clock
from saas.extensions import db
from saas.modules.assignments import operations
from saas.modules.assignments.models import AssignmentSubject
from saas.testing.fixtures_api import bearer
from saas.testing.records import add_note, in_tenant, leadgen_tenant, make_agreement, make_assignment, make_company


def _world(make_tenant, make_user, make_client_org, make_subject, *, work_queue=True):
    tenant = leadgen_tenant(make_tenant, work_queue=work_queue)
    org = make_client_org(tenant)
    one, one_pw = make_user(role="agent", tenant=tenant)
    two, two_pw = make_user(role="agent", tenant=tenant)
    supervisor, sup_pw = make_user(role="supervisor", tenant=tenant)
    people = [make_subject(tenant, "prospect", client_org=org, given_name=f"Prospect{n}", family_name="Q")
              for n in range(5)]
    assignment = make_assignment(tenant, org.id, agents=[one, two], subjects=people, supervisor=supervisor,
                                 agreement_id=make_agreement(tenant, "completed", org.id), title="Wachtrij")
    return {"tenant": tenant, "org": org, "one": (one, one_pw), "two": (two, two_pw),
            "supervisor": (supervisor, sup_pw), "people": people, "assignment": assignment}


def _names(page: str) -> set[str]:
    return {f"Prospect{n}" for n in range(5) if f"Prospect{n} Q" in page}


def test_an_agent_sees_only_what_is_checked_out_to_them(make_tenant, make_user, make_client_org, make_subject,
                                                        browser_as, page_token, make_token, client, audit_lines):
    world = _world(make_tenant, make_user, make_client_org, make_subject)
    tenant, slug = world["tenant"], world["tenant"].slug
    one = browser_as(*world["one"])
    show = f"/{slug}/assignments/{world['assignment']}"
    queue = f"{show}/queue"
    assert _names(one.get(f"/{slug}/subjects").get_data(as_text=True)) == set()
    assert _names(one.get(show).get_data(as_text=True)) == set()
    assert one.get(f"/{slug}/subjects/{world['people'][0].id}").status_code == 404

    token = page_token(one, queue)
    assert one.post(queue, data={"csrf_token": token, "count": "2"}).status_code == 302
    mine = _names(one.get(queue).get_data(as_text=True))
    assert mine == {"Prospect0", "Prospect1"}
    assert _names(one.get(f"/{slug}/subjects").get_data(as_text=True)) == mine
    assert _names(one.get(show).get_data(as_text=True)) == mine
    assert one.get(f"/{slug}/subjects/{world['people'][0].id}").status_code == 200
    api_token = make_token(world["one"][0], tenant)
    listed = client.get(f"/api/v1/{slug}/subjects", headers=bearer(api_token)).json
    assert {s["given_name"] for s in listed} == mine

    two = browser_as(*world["two"])   # the next agent gets the next records, never the same ones
    assert two.post(queue, data={"csrf_token": page_token(two, queue), "count": "50"}).status_code == 302
    theirs = _names(two.get(queue).get_data(as_text=True))
    assert theirs == {"Prospect2", "Prospect3", "Prospect4"}
    assert two.get(f"/{slug}/subjects/{world['people'][0].id}").status_code == 404

    supervisor = browser_as(*world["supervisor"])
    assert _names(supervisor.get(show).get_data(as_text=True)) == mine | theirs
    assert [line[2] for line in audit_lines(tenant.id, "assignment.check_out")] == [
        str(world["one"][0].id), str(world["two"][0].id)]
    assert audit_lines(tenant.id, "assignment.queue.view")   # the queue page is a view of personal data

    assert one.post(f"{queue}/release", data={"csrf_token": token}).status_code == 302
    assert _names(one.get(f"/{slug}/subjects").get_data(as_text=True)) == set()


def test_checked_out_records_return_at_the_end_of_the_day(make_tenant, make_user, make_client_org, make_subject,
                                                          browser_as, page_token):
    world = _world(make_tenant, make_user, make_client_org, make_subject)
    slug = world["tenant"].slug
    # 22:59 UTC on 1 December is 23:59 in Amsterdam: the hold ends at local midnight, a minute later.
    evening = datetime(2026, 12, 1, 22, 59, tzinfo=timezone.utc)
    try:
        clock.set_now(evening)
        one = browser_as(*world["one"])
        queue = f"/{slug}/assignments/{world['assignment']}/queue"
        one.post(queue, data={"csrf_token": page_token(one, queue), "count": "1"})
        with in_tenant(world["tenant"]):
            until = db.session.scalar(sa.select(AssignmentSubject.checked_out_until)
                                      .where(AssignmentSubject.checked_out_to.is_not(None)))
        assert clock.local(until) == datetime(2026, 12, 2, 0, 0, tzinfo=clock.local(until).tzinfo)
        assert _names(one.get(f"/{slug}/subjects").get_data(as_text=True)) == {"Prospect0"}
        clock.set_now(evening + timedelta(seconds=59))        # the day before midnight: still theirs
        assert _names(one.get(f"/{slug}/subjects").get_data(as_text=True)) == {"Prospect0"}
        clock.set_now(evening + timedelta(minutes=1))         # midnight: back in the queue
        assert _names(one.get(f"/{slug}/subjects").get_data(as_text=True)) == set()
        two = browser_as(*world["two"])
        two.post(queue, data={"csrf_token": page_token(two, queue), "count": "1"})
        assert _names(two.get(f"/{slug}/subjects").get_data(as_text=True)) == {"Prospect0"}
    finally:
        clock.set_now(None)


def test_no_records_are_handed_out_of_an_inactive_assignment_or_beyond_the_limit(
        make_tenant, make_user, make_client_org, make_subject, browser_as, page_token):
    world = _world(make_tenant, make_user, make_client_org, make_subject)
    slug = world["tenant"].slug
    one = browser_as(*world["one"])
    queue = f"/{slug}/assignments/{world['assignment']}/queue"
    token = page_token(one, queue)
    assert one.post(queue, data={"csrf_token": token, "count": "51"}).status_code == 400
    assert one.post(queue, data={"csrf_token": token, "count": "0"}).status_code == 400
    with in_tenant(world["tenant"]):
        from saas.modules.assignments.models import Assignment
        db.session.get(Assignment, world["assignment"]).active = False
    assert one.get(queue).status_code == 404
    assert one.post(queue, data={"csrf_token": token, "count": "1"}).status_code == 404


def test_a_tenant_without_the_work_queue_keeps_the_assignment_rule(make_tenant, make_user, make_client_org,
                                                                   make_subject, browser_as):
    world = _world(make_tenant, make_user, make_client_org, make_subject, work_queue=False)
    one = browser_as(*world["one"])
    assert len(_names(one.get(f"/{world['tenant'].slug}/subjects").get_data(as_text=True))) == 5


def test_another_tenants_agent_and_a_client_get_404_on_the_queue(make_tenant, make_user, make_client_org,
                                                                 make_subject, browser_as):
    world = _world(make_tenant, make_user, make_client_org, make_subject)
    client_user, client_pw = make_user(role="client", tenant=world["tenant"], client_org=world["org"])
    queue = f"/{world['tenant'].slug}/assignments/{world['assignment']}/queue"
    assert browser_as(client_user, client_pw).get(queue).status_code == 404
    outsider = leadgen_tenant(make_tenant, work_queue=True)
    agent, agent_pw = make_user(role="agent", tenant=outsider)
    assert browser_as(agent, agent_pw).get(f"/{outsider.slug}/assignments/{world['assignment']}/queue").status_code == 404
    other = _world(make_tenant, make_user, make_client_org, make_subject)   # an agent of another assignment
    stranger = browser_as(*other["one"])
    assert stranger.get(f"/{world['tenant'].slug}/assignments/{world['assignment']}/queue").status_code == 404


def test_call_notes_carry_a_result_and_sort_by_company_result_and_date_not_text(
        make_tenant, make_user, make_client_org, make_subject, make_token, client):
    tenant = leadgen_tenant(make_tenant, agreement_per_assignment=False)
    org = make_client_org(tenant)
    zeta, alpha = make_company(tenant, name="Zeta BV"), make_company(tenant, name="Alpha BV")
    first = make_subject(tenant, "prospect", client_org=org, given_name="Eerste", company_id=zeta)
    second = make_subject(tenant, "prospect", client_org=org, given_name="Tweede", company_id=alpha)
    admin, _pw = make_user(role="admin", tenant=tenant)
    assignment = make_assignment(tenant, org.id, subjects=[first, second])
    token = make_token(admin, tenant)
    url = f"/api/v1/{tenant.slug}/assignments/{assignment}/notes"
    start = datetime(2026, 11, 2, 9, tzinfo=timezone.utc)
    try:
        for minutes, (person, result, body) in enumerate([(first, "callback", "Aaa"), (second, "appointment", "Zzz")]):
            clock.set_now(start + timedelta(minutes=minutes))
            made = client.post(url, headers=bearer(token),
                               json={"subject_id": str(person.id), "result": result, "body": body})
            assert made.status_code == 201 and made.json["result"] == result
    finally:
        clock.set_now(None)
    order = {sort: [n["body"] for n in client.get(f"{url}?sort={sort}", headers=bearer(token)).json]
             for sort in ("date", "company", "result")}
    assert order == {"date": ["Aaa", "Zzz"], "company": ["Zzz", "Aaa"], "result": ["Zzz", "Aaa"]}
    assert client.get(f"{url}?sort=body", headers=bearer(token)).status_code == 422
    bad = client.post(url, headers=bearer(token), json={"subject_id": str(first.id), "result": "x", "body": "b"})
    assert bad.status_code == 422
    add_note(tenant, assignment, first.id, "zonder resultaat")   # older notes without a result still list
    assert len(client.get(url, headers=bearer(token)).json) == 3


def test_end_of_day_is_local_midnight():
    summer = datetime(2026, 7, 1, 21, 59, tzinfo=timezone.utc)      # 23:59 CEST
    assert operations.end_of_day(summer) == datetime(2026, 7, 1, 22, 0, tzinfo=timezone.utc)
    winter = datetime(2026, 12, 1, 23, 0, tzinfo=timezone.utc)      # 00:00 CET on 2 December: the next midnight
    assert operations.end_of_day(winter) == datetime(2026, 12, 2, 23, 0, tzinfo=timezone.utc)


def test_flagged_people_stay_reachable_for_verification_but_are_never_handed_out(
        make_tenant, make_user, make_client_org, make_subject, browser_as, page_token):
    world = _world(make_tenant, make_user, make_client_org, make_subject)
    tenant, slug = world["tenant"], world["tenant"].slug
    flagged = world["people"][0]
    with in_tenant(tenant):
        from saas.modules.subjects.models import DataSubject
        db.session.get(DataSubject, flagged.id).needs_verification_since = clock.today()
    one = browser_as(*world["one"])
    assert "Prospect0 Q" in one.get(f"/{slug}/subjects?verification=needed").get_data(as_text=True)
    assert one.get(f"/{slug}/subjects/{flagged.id}/verify").status_code == 200
    queue = f"/{slug}/assignments/{world['assignment']}/queue"
    one.post(queue, data={"csrf_token": page_token(one, queue), "count": "50"})
    assert _names(one.get(queue).get_data(as_text=True)) == {"Prospect1", "Prospect2", "Prospect3", "Prospect4"}
    assert one.get(f"/{slug}/subjects/{flagged.id}").status_code == 404   # to verify, not to use
