"""A client's own database in the portal (issue 11 item 3, item 7): search and paging, bulk delete and the
whole-database delete through the erasure path (general company data stays), the client deleting an
assignment with its call notes, the assignment's sealed agreement; another client's and another tenant's
ids answer 404."""
from __future__ import annotations

import sqlalchemy as sa

from saas.core import clock
from saas.core.crypto.models import ShreddedSubject
from saas.extensions import db
from saas.modules.assignments.models import Assignment, CallNote
from saas.modules.companies.models import Company
from saas.modules.databases import operations
from saas.modules.subjects.models import DataSubject
from saas.testing.records import count, in_tenant, leadgen_tenant, make_assignment, make_company


def _note(tenant, assignment_id, subject_id, result, body="Gesprek"):
    with in_tenant(tenant):
        note = CallNote(assignment_id=assignment_id, subject_id=subject_id, result=result)
        note.body = body
        db.session.add(note)


def _world(make_tenant, make_user, make_client_org, make_subject, people=3):
    tenant = leadgen_tenant(make_tenant)
    org_a, org_b = make_client_org(tenant, "Klant A"), make_client_org(tenant, "Klant B")
    bakery = make_company(tenant, name="Bakkerij Jansen BV")
    garage = make_company(tenant, name="Garage Pietersen")
    mine = [make_subject(tenant, "prospect", client_org=org_a, given_name=f"Persoon{n}", family_name="A",
                         company_id=bakery if n % 2 == 0 else garage) for n in range(people)]
    theirs = make_subject(tenant, "prospect", client_org=org_b, given_name="Vreemde", family_name="B",
                          company_id=bakery)
    assignment = make_assignment(tenant, org_a.id, subjects=mine, title="Campagne A")
    other_assignment = make_assignment(tenant, org_b.id, subjects=[theirs], title="Campagne B")
    _note(tenant, assignment, mine[0].id, "appointment")
    _note(tenant, assignment, mine[1].id, "no_interest")
    client_a, pw_a = make_user(role="client", tenant=tenant, client_org=org_a)
    client_b, pw_b = make_user(role="client", tenant=tenant, client_org=org_b)
    return {"tenant": tenant, "a": org_a, "b": org_b, "mine": mine, "theirs": theirs, "assignment": assignment,
            "other_assignment": other_assignment, "client_a": (client_a, pw_a), "client_b": (client_b, pw_b),
            "bakery": bakery}


def _page(browser, url):
    response = browser.get(url)
    assert response.status_code == 200, (url, response.status_code)
    return response.get_data(as_text=True)


def test_a_client_sees_and_searches_its_own_database(make_tenant, make_user, make_client_org, make_subject,
                                                     browser_as, audit_lines):
    world = _world(make_tenant, make_user, make_client_org, make_subject)
    tenant, org = world["tenant"], world["a"]
    browser = browser_as(*world["client_a"])
    assert browser.get(f"/{tenant.slug}/database").headers["Location"].endswith(f"/clients/{org.id}/database")
    base = f"/{tenant.slug}/clients/{org.id}/database"
    page = _page(browser, base)
    assert all(f"Persoon{n} A" in page for n in range(3)) and "Vreemde" not in page
    assert f"/subjects/{world['mine'][0].id}/edit" in page   # editing is the subject's own edit page
    by_company = _page(browser, f"{base}?company=garage")
    assert "Persoon1 A" in by_company and "Persoon0 A" not in by_company
    by_result = _page(browser, f"{base}?result=appointment")
    assert "Persoon0 A" in by_result and "Persoon1 A" not in by_result
    today = clock.today().isoformat()
    assert "Persoon1 A" in _page(browser, f"{base}?called_from={today}&called_to={today}")
    assert "Persoon0 A" not in _page(browser, f"{base}?called_to=2000-01-01")
    assert [line[1] for line in audit_lines(tenant.id, "database.view")][:1] == [str(org.id)]


def test_paging_through_a_database(make_tenant, make_user, make_client_org, make_subject, browser_as,
                                   monkeypatch):
    from saas.modules.databases import queries

    world = _world(make_tenant, make_user, make_client_org, make_subject, people=5)
    monkeypatch.setattr(queries, "PER_PAGE", 2)
    monkeypatch.setattr(queries.people, "__defaults__", (2,))
    browser = browser_as(*world["client_a"])
    base = f"/{world['tenant'].slug}/clients/{world['a'].id}/database"
    seen = [_page(browser, f"{base}?page={n}") for n in (1, 2, 3)]
    for n in range(5):
        assert sum(f"Persoon{n} A" in page for page in seen) == 1
    assert "?page=2" in seen[0]


def test_another_client_and_another_tenant_get_404(make_tenant, make_user, make_client_org, make_subject,
                                                   browser_as, page_token):
    world = _world(make_tenant, make_user, make_client_org, make_subject)
    tenant = world["tenant"]
    browser_b = browser_as(*world["client_b"])
    token = page_token(browser_b, f"/{tenant.slug}/clients/{world['b'].id}/database")
    base = f"/{tenant.slug}/clients/{world['a'].id}/database"
    assert browser_b.get(base).status_code == 404
    assert browser_b.get(f"{base}/delete").status_code == 404
    assert browser_b.post(f"{base}/delete", data={"csrf_token": token, "name": "Klant A"}).status_code == 404
    assert browser_b.post(f"{base}/erase", data={"csrf_token": token,
                                                 "subjects": [str(world["mine"][0].id)]}).status_code == 404
    assert browser_b.get(f"/{tenant.slug}/assignments/{world['assignment']}/agreement.pdf").status_code == 404
    agent, agent_pw = make_user(role="agent", tenant=tenant)
    assert browser_as(agent, agent_pw).get(base).status_code == 404
    other = leadgen_tenant(make_tenant)
    elsewhere = make_client_org(other, "Elders")
    assert browser_b.get(f"/{tenant.slug}/clients/{elsewhere.id}/database").status_code == 404
    assert count(tenant, DataSubject) == 4


def test_bulk_delete_goes_through_the_erasure_path_and_keeps_company_data(
        make_tenant, make_user, make_client_org, make_subject, browser_as, page_token, audit_lines):
    world = _world(make_tenant, make_user, make_client_org, make_subject)
    tenant = world["tenant"]
    browser = browser_as(*world["client_a"])
    base = f"/{tenant.slug}/clients/{world['a'].id}/database"
    token = page_token(browser, base)
    chosen = [str(world["mine"][0].id), str(world["mine"][1].id), str(world["theirs"].id)]  # B's is ignored
    response = browser.post(f"{base}/erase", data={"csrf_token": token, "subjects": chosen})
    assert response.status_code == 302
    with in_tenant(tenant):
        left = set(db.session.scalars(sa.select(DataSubject.id)))
        shredded = set(db.session.scalars(sa.select(ShreddedSubject.subject_id)))
        assert left == {world["mine"][2].id, world["theirs"].id}
        assert shredded == {world["mine"][0].id, world["mine"][1].id}   # the keys are gone too
        assert db.session.get(Company, world["bakery"]) is not None
        assert db.session.scalar(sa.select(sa.func.count()).select_from(CallNote)) == 0
    erased = {line[1] for line in audit_lines(tenant.id, "subject.erase")}
    assert erased == {chosen[0], chosen[1]}
    nothing = browser.post(f"{base}/erase", data={"csrf_token": token})
    assert nothing.status_code == 302


def test_the_whole_database_goes_after_the_typed_name(make_tenant, make_user, make_client_org, make_subject,
                                                      browser_as, page_token):
    world = _world(make_tenant, make_user, make_client_org, make_subject)
    tenant = world["tenant"]
    browser = browser_as(*world["client_a"])
    url = f"/{tenant.slug}/clients/{world['a'].id}/database/delete"
    token = page_token(browser, url)
    wrong = browser.post(url, data={"csrf_token": token, "name": "Klant B"})
    assert wrong.status_code == 400 and count(tenant, DataSubject) == 4
    done = browser.post(url, data={"csrf_token": token, "name": " klant  a "})
    assert done.status_code == 302
    with in_tenant(tenant):
        assert list(db.session.scalars(sa.select(DataSubject.id))) == [world["theirs"].id]
        assert list(db.session.scalars(sa.select(Assignment.id))) == [world["other_assignment"]]
        assert db.session.scalar(sa.select(sa.func.count()).select_from(CallNote)) == 0
        assert db.session.scalar(sa.select(sa.func.count()).select_from(Company)) == 2


def test_a_large_database_is_deleted_by_a_job_with_progress(make_tenant, make_user, make_client_org,
                                                            make_subject, browser_as, page_token, monkeypatch):
    """The job itself runs here in-process (the worker fixture is covered elsewhere); the page hands out the
    job's progress page, and the job reports progress as it erases."""
    from saas.modules.databases import jobs

    world = _world(make_tenant, make_user, make_client_org, make_subject)
    tenant = world["tenant"]
    started = []
    monkeypatch.setattr(operations, "SYNC_LIMIT", 1)
    monkeypatch.setattr(jobs.jobs, "enqueue", lambda *args, **kwargs: started.append(kwargs) or
                        type("Job", (), {"id": kwargs["job_id"]})())
    browser = browser_as(*world["client_a"])
    url = f"/{tenant.slug}/clients/{world['a'].id}/database/delete"
    response = browser.post(url, data={"csrf_token": page_token(browser, url), "name": "Klant A"})
    assert response.status_code == 302 and "/database/delete/database-delete-" in response.headers["Location"]
    assert started == [{"tenant_id": tenant.id, "job_id": f"database-delete-{world['a'].id}", "timeout": 21600,
                        "client_org_id": str(world["a"].id)}]
    assert "data-job-progress" in _page(browser, response.headers["Location"])
    reports = []
    with in_tenant(tenant):
        operations.delete_database(world["a"].id, lambda done, total, stage: reports.append((done, total)))
    assert reports[0] == (0, 3) and reports[-1] == (3, 3)
    assert count(tenant, DataSubject) == 1


def test_a_client_deletes_its_assignment_with_its_call_notes(make_tenant, make_user, make_client_org,
                                                             make_subject, browser_as, page_token):
    world = _world(make_tenant, make_user, make_client_org, make_subject)
    tenant = world["tenant"]
    browser = browser_as(*world["client_a"])
    url = f"/{tenant.slug}/assignments/{world['assignment']}/delete"
    assert browser.post(url, data={"csrf_token": page_token(browser, url)}).status_code == 302
    assert count(tenant, CallNote) == 0 and count(tenant, DataSubject) == 4   # the people stay
    browser_b = browser_as(*world["client_b"])
    other = f"/{tenant.slug}/assignments/{world['assignment']}/delete"
    assert browser_b.get(other).status_code == 404
    theirs = f"/{tenant.slug}/assignments/{world['other_assignment']}/delete"
    token = page_token(browser, f"/{tenant.slug}/clients/{world['a'].id}/database")
    assert browser.post(theirs, data={"csrf_token": token}).status_code == 404
    assert count(tenant, Assignment) == 1


def test_the_client_downloads_the_sealed_agreement_of_its_assignment(make_tenant, make_user, make_client_org,
                                                                     make_subject, browser_as):
    from saas.modules.agreements.models import Agreement
    from saas.modules.files import operations as files

    world = _world(make_tenant, make_user, make_client_org, make_subject)
    tenant = world["tenant"]
    from saas.testing.records import make_agreement

    agreement_id = make_agreement(tenant, "completed", world["a"].id)
    with in_tenant(tenant):
        stored = files.save(b"%PDF-1.7 sealed", "application/pdf", "agreement")
        db.session.get(Agreement, agreement_id).sealed_file_id = stored.id
        db.session.get(Assignment, world["assignment"]).agreement_id = agreement_id
    browser = browser_as(*world["client_a"])
    page = _page(browser, f"/{tenant.slug}/clients/{world['a'].id}/database")
    link = f"/{tenant.slug}/assignments/{world['assignment']}/agreement.pdf"
    assert link in page
    response = browser.get(link)
    assert response.status_code == 200 and response.data == b"%PDF-1.7 sealed"
    assert browser_as(*world["client_b"]).get(link).status_code == 404
