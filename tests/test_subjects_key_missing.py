"""A person whose key is gone is gone (issue 16 item 4): a subject whose key was destroyed while its row stayed
(a killed purge, a key store that lost it) is 404 on every page and endpoint, absent from every list and its
counts, never a 500; the admin learns it once (a ledger line "key missing" and one audit line, ids only)."""
from __future__ import annotations

import json
import uuid
from datetime import date

import pytest
import sqlalchemy as sa

from saas.core.crypto.models import ShreddedSubject, SubjectKey
from saas.extensions import db
from saas.modules.audit.models import AuditEntry
from saas.modules.clients.models import ClientOrganisation
from saas.modules.subjects.models import DataSubject
from saas.testing.fixtures_api import bearer
from saas.testing.records import add_note, in_tenant, make_assignment


@pytest.fixture()
def people(make_tenant):
    """A tenant with a client, two people in one assignment (with a call note each); one loses its key."""
    tenant = make_tenant(plugins=["fiscal"])
    with in_tenant(tenant):
        org = ClientOrganisation(name=f"Opdrachtgever {uuid.uuid4().hex[:6]}")
        db.session.add(org)
        db.session.flush()
        ids = []
        for given, family in (("Quirijn", "Keyloos"), ("Wendela", "Blijft")):
            subject = DataSubject(category="client_contact", client_org_id=org.id)
            subject.given_name, subject.family_name = given, family
            db.session.add(subject)
            db.session.flush()
            ids.append(subject.id)
        org_id = org.id
    assignment_id = make_assignment(tenant, org_id, subjects=ids)
    for subject_id in ids:
        add_note(tenant, assignment_id, subject_id, "Terugbellen na 17 uur")
    gone, kept = ids
    with in_tenant(tenant):   # the key only, directly: no erasure, no ledger line
        db.session.execute(sa.delete(SubjectKey).where(SubjectKey.subject_id == gone))
    return tenant, gone, kept, assignment_id


@pytest.fixture()
def flagged_candidate(people):
    """A second keyless person: not in the assignment (a candidate to add) and waiting for verification."""
    tenant, *_rest = people
    with in_tenant(tenant):
        org_id = db.session.scalar(sa.select(ClientOrganisation.id))
        subject = DataSubject(category="client_contact", client_org_id=org_id,
                              needs_verification_since=date(2026, 1, 5))
        subject.given_name, subject.family_name = "Vera", "Sleutelweg"
        db.session.add(subject)
        db.session.flush()
        subject_id = subject.id
    with in_tenant(tenant):
        db.session.execute(sa.delete(SubjectKey).where(SubjectKey.subject_id == subject_id))
    return subject_id


def _notes(tenant):
    db.session.commit()
    with in_tenant(tenant):
        ledger = list(db.session.scalars(sa.select(ShreddedSubject.reason)))
        audited = list(db.session.scalars(sa.select(AuditEntry.object_id)
                                          .where(AuditEntry.action == "subject.key_missing")))
    return ledger, audited


def test_the_api_lists_and_reads_as_if_the_person_were_erased(people, api_user, client):
    tenant, gone, kept, assignment_id = people
    _user, token = api_user(tenant=tenant)
    api = f"/api/v1/{tenant.slug}"
    for _ in range(2):
        listed = client.get(f"{api}/subjects", headers=bearer(token))
        assert listed.status_code == 200, listed.json
        assert [item["id"] for item in listed.json] == [str(kept)]
        assert json.loads(listed.headers["X-Pagination"])["total"] == 1
    assert client.get(f"{api}/subjects/{gone}", headers=bearer(token)).status_code == 404
    assert client.get(f"{api}/subjects/{kept}", headers=bearer(token)).status_code == 200
    assert client.patch(f"{api}/subjects/{gone}", headers=bearer(token), json={"city": "Elders"}).status_code == 404
    in_assignment = client.get(f"{api}/assignments/{assignment_id}/subjects", headers=bearer(token))
    assert in_assignment.status_code == 200 and [item["id"] for item in in_assignment.json] == [str(kept)]

    # Noted once for the admin however often it was met, with ids only.
    ledger, audited = _notes(tenant)
    assert ledger == ["key missing"] and audited == [str(gone)]


def test_the_portal_lists_and_pages_leave_the_person_out(people, flagged_candidate, make_user, browser_as):
    tenant, gone, kept, assignment_id = people
    user, password = make_user(role="admin", tenant=tenant)
    browser = browser_as(user, password)
    listed = browser.get(f"/{tenant.slug}/subjects")
    assert listed.status_code == 200
    page = listed.get_data(as_text=True)
    assert "Keyloos" not in page and "Blijft" in page and str(gone) not in page
    assert browser.get(f"/{tenant.slug}/subjects/{gone}").status_code == 404
    assert browser.get(f"/{tenant.slug}/subjects/{gone}/edit").status_code == 404
    assert browser.get(f"/{tenant.slug}/subjects/{kept}").status_code == 200
    shown = browser.get(f"/{tenant.slug}/assignments/{assignment_id}")
    assert shown.status_code == 200
    assert "Keyloos" not in shown.get_data(as_text=True) and "Blijft" in shown.get_data(as_text=True)
    queue = browser.get(f"/{tenant.slug}/retention/verify")
    assert queue.status_code == 200 and "Sleutelweg" not in queue.get_data(as_text=True)
    assert browser.get(f"/{tenant.slug}/subjects?needs_verification=1").status_code == 200
    ledger, audited = _notes(tenant)
    assert ledger == ["key missing", "key missing"] and sorted(audited) == sorted([str(gone), str(flagged_candidate)])


def test_a_key_gone_after_the_list_was_read_is_a_404_not_a_500(people, api_user, client, monkeypatch):
    """The safety net: a page that meets a missing key without asking first answers 404."""
    from saas.modules.erasure import queries as erasure_queries

    tenant, gone, _kept, _assignment_id = people
    monkeypatch.setattr(erasure_queries, "gone_ids", lambda ids: set())   # as if a page forgot to ask
    _user, token = api_user(tenant=tenant)
    answer = client.get(f"/api/v1/{tenant.slug}/subjects/{gone}", headers=bearer(token))
    assert answer.status_code == 404 and answer.is_json
