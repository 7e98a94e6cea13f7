"""The suppression list: blind indexes only, matched like the subject's own indexes, and a suppressed person
cannot come back as a prospect (form and API), with nothing written."""
from __future__ import annotations

import sqlalchemy as sa

from saas.core import tenancy
from saas.extensions import db
from saas.modules.retention import suppression
from saas.modules.retention.models import SuppressionEntry
from saas.modules.subjects.models import DataSubject
from saas.testing.fixtures_api import bearer
from saas.testing.fixtures_web import find_csrf_token
from saas.testing.records import count, in_tenant

EMAIL, PHONE = "Kees.Smit@Bakkerij.nl", "06-12345678"


def _suppress(tenant, **fields) -> None:
    """A prospect put on the list and then purged, as the retention sweep does."""
    with in_tenant(tenant):
        subject = DataSubject(category="prospect", **fields)
        db.session.add(subject)
        db.session.flush()
        suppression.suppress(subject, "leadgen.prospect_unverified")
        db.session.delete(subject)


def test_matches_the_way_the_subject_indexes_are_made(make_tenant, ctx):
    tenant, other = make_tenant(), make_tenant()
    _suppress(tenant, email=EMAIL, phone=PHONE)
    with in_tenant(tenant):
        [entry] = db.session.scalars(sa.select(SuppressionEntry)).all()
        assert entry.reason == "leadgen.prospect_unverified"
        assert len(entry.email_bidx) == 16 and EMAIL.lower().encode() not in entry.email_bidx
        assert suppression.is_suppressed(email="  kees.smit@bakkerij.NL ")
        assert suppression.is_suppressed(phone="+31 6 1234 5678")
        assert suppression.is_suppressed(email="iemand@anders.nl", phone="0612345678")
        assert not suppression.is_suppressed(email="kees.smit@bakkerij.com")
        assert not suppression.is_suppressed(phone="0612345679")
        assert not suppression.is_suppressed()
    with in_tenant(other):  # another tenant's list (and index key) is its own
        assert not suppression.is_suppressed(email=EMAIL, phone=PHONE)


def test_suppressing_twice_adds_one_entry_and_nothing_to_match_adds_none(make_tenant, ctx, audit_lines):
    tenant = make_tenant()
    _suppress(tenant, email=EMAIL)
    _suppress(tenant, email=EMAIL.upper())
    _suppress(tenant, family_name="Zonder Adres")
    assert count(tenant, SuppressionEntry) == 1
    reasons = [line[3] for line in audit_lines(tenant.id, "suppression.add")]
    assert reasons == [{"reason": "leadgen.prospect_unverified"}]


def test_a_suppressed_person_is_refused_as_prospect_in_the_api(make_tenant, api_user, client, audit_rows):
    tenant = make_tenant(plugins=["leadgen", "employment"])   # prospects, and applicants (employment's)
    _suppress(tenant, email=EMAIL, phone=PHONE)
    _user, token = api_user(tenant=tenant)
    url = f"/api/v1/{tenant.slug}/subjects"
    before = len(audit_rows(tenant))

    refused = client.post(url, headers=bearer(token), json={"category": "prospect", "family_name": "Smit",
                                                            "phone": "+31612345678"})
    assert refused.status_code == 422
    assert list(refused.json["errors"]["json"]) == ["email"]
    assert count(tenant, DataSubject) == 0 and len(audit_rows(tenant)) == before

    # Not a prospect: the list does not apply (an applicant may apply).
    assert client.post(url, headers=bearer(token), json={"category": "applicant", "email": EMAIL}).status_code == 201
    applicant = client.get(url, headers=bearer(token)).json[0]["id"]
    moved = client.patch(f"{url}/{applicant}", headers=bearer(token), json={"category": "prospect"})
    assert moved.status_code == 422 and "email" in moved.json["errors"]["json"]
    with in_tenant(tenant):
        assert db.session.scalar(sa.select(DataSubject.category)) == "applicant"


def test_a_suppressed_person_is_refused_as_prospect_in_the_portal(make_tenant, make_user, browser_as):
    tenant = make_tenant(plugins=["leadgen"])
    _suppress(tenant, email=EMAIL)
    browser = browser_as(*make_user(role="supervisor", tenant=tenant))
    path = f"/{tenant.slug}/subjects/new"
    token = find_csrf_token(browser.get(path).get_data(as_text=True))
    response = browser.post(path, data={"csrf_token": token, "category": "prospect", "family_name": "Smit",
                                        "email": "kees.smit@bakkerij.nl"})
    assert response.status_code == 400
    page = response.get_data(as_text=True)
    assert 'id="email-errors"' in page and "kees.smit@bakkerij.nl" in page
    assert count(tenant, DataSubject) == 0
    tenancy.set_tenant(None)
