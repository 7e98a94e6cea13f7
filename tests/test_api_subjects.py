"""/api/v1/<tenant>/subjects: CRUD, validation, roles, tenant isolation, crypto-shredding, audit."""
from __future__ import annotations

import json
import uuid
from types import SimpleNamespace

import pytest
import sqlalchemy as sa

from saas.core import tenancy
from saas.core.crypto.models import ShreddedSubject, SubjectKey
from saas.extensions import db
from saas.modules.clients.models import ClientOrganisation
from saas.modules.subjects.models import DataSubject
from saas.testing.fixtures_api import bearer
from saas.testing.records import make_assignment


@pytest.fixture()
def web_tenant(make_tenant):
    """Categories come only from a tenant's plugins: this tenant holds candidates, applicants, employees,
    client contacts, relations and members."""
    return make_tenant(plugins=["recruitment", "employment", "fiscal", "association"])

PERSON = {"category": "candidate", "given_name": "Femke", "family_name": "de Vries",
          "email": "femke.devries@example.nl", "phone": "+31 6 12345678", "city": "Utrecht"}


def _url(tenant, suffix=""):
    return f"/api/v1/{tenant.slug}/subjects{suffix}"


def _count_subjects(tenant) -> int:
    db.session.commit()
    with tenancy.tenant_context(tenant.id):
        count = db.session.scalar(sa.select(sa.func.count(DataSubject.id)))
        db.session.commit()
    return count


def _subject_key(subject_id):
    return db.session.scalar(sa.select(SubjectKey).where(SubjectKey.subject_id == subject_id))


def _client_org(tenant, name=None):
    db.session.commit()
    with tenancy.tenant_context(tenant.id):
        org = ClientOrganisation(name=name or f"Client {uuid.uuid4().hex[:6]}")
        db.session.add(org)
        db.session.commit()
        org_id = org.id
    return org_id


def test_create_read_update_delete(web_tenant, api_user, client):
    _user, token = api_user()
    created = client.post(_url(web_tenant), headers=bearer(token), json=PERSON)
    assert created.status_code == 201, created.json
    subject_id = created.json["id"]
    assert {k: created.json[k] for k in PERSON} == PERSON

    read = client.get(_url(web_tenant, f"/{subject_id}"), headers=bearer(token))
    assert read.status_code == 200 and read.json["email"] == PERSON["email"]

    patched = client.patch(_url(web_tenant, f"/{subject_id}"), headers=bearer(token),
                           json={"city": "Zwolle", "phone": None})
    assert patched.status_code == 200
    assert (patched.json["city"], patched.json["phone"], patched.json["given_name"]) == ("Zwolle", None, "Femke")

    assert client.delete(_url(web_tenant, f"/{subject_id}"), headers=bearer(token)).status_code == 204
    assert client.get(_url(web_tenant, f"/{subject_id}"), headers=bearer(token)).status_code == 404


def test_list_is_paginated_and_filtered(web_tenant, api_user, add_subject, client):
    _user, token = api_user()
    for n in range(5):
        add_subject(web_tenant, given_name=f"Kandidaat {n}")
    add_subject(web_tenant, category="employee", given_name="Medewerker")
    response = client.get(_url(web_tenant) + "?page=2&page_size=2&category=candidate", headers=bearer(token))
    assert response.status_code == 200
    assert len(response.json) == 2
    paging = json.loads(response.headers["X-Pagination"])
    assert (paging["total"], paging["total_pages"], paging["page"]) == (5, 3, 2)
    all_of_them = client.get(_url(web_tenant) + "?page_size=100", headers=bearer(token)).json
    assert len(all_of_them) == 5  # the employee's file is the board's only (seed 004, section 9)
    _board, board_token = api_user(role="board")
    hr_files = client.get(_url(web_tenant) + "?page_size=100", headers=bearer(board_token)).json
    assert [s["given_name"] for s in hr_files] == ["Medewerker"]


def test_categories_are_only_the_tenants_plugins(make_tenant, api_user, client):
    hosting = make_tenant(plugins=["hosting"])
    plain = make_tenant()
    _u, hosting_token = api_user(tenant=hosting)
    _u, plain_token = api_user(tenant=plain)
    body = {"category": "hosting_contact", "given_name": "Joris"}
    assert client.post(_url(hosting), headers=bearer(hosting_token), json=body).status_code == 201
    refused = client.post(_url(plain), headers=bearer(plain_token), json=body)
    assert refused.status_code == 422
    assert "Unknown category" in refused.json["errors"]["json"]["category"][0]
    # Core has no categories of its own: a tenant without plugins holds nobody, not even a candidate.
    candidate = client.post(_url(plain), headers=bearer(plain_token), json={**body, "category": "candidate"})
    assert candidate.status_code == 422
    assert _count_subjects(plain) == 0


@pytest.mark.parametrize("body, field", [
    ({**PERSON, "email": "not-an-email"}, "email"),
    ({**PERSON, "phone": "call me maybe"}, "phone"),
    ({**PERSON, "phone": "12"}, "phone"),
    ({**PERSON, "category": "alien"}, "category"),
    ({**PERSON, "client_org_id": str(uuid.uuid4())}, "client_org_id"),
    ({**PERSON, "favourite_colour": "blue"}, "favourite_colour"),
    ({k: v for k, v in PERSON.items() if k != "category"}, "category"),
    ({"category": "candidate", "city": "Ede"}, "_schema"),
])
def test_bad_input_is_422_with_field_errors_and_writes_nothing(web_tenant, api_user, client, audit_rows, body, field):
    _user, token = api_user()
    lines_before = len(audit_rows(web_tenant))
    response = client.post(_url(web_tenant), headers=bearer(token), json=body)
    assert response.status_code == 422
    assert field in response.json["errors"]["json"]
    assert response.json["message"]
    assert _count_subjects(web_tenant) == 0
    assert len(audit_rows(web_tenant)) == lines_before


def test_bad_patch_changes_nothing(web_tenant, api_user, add_subject, client):
    _user, token = api_user()
    subject_id = add_subject(web_tenant, given_name="Pieter", email="pieter@example.nl")
    response = client.patch(_url(web_tenant, f"/{subject_id}"), headers=bearer(token),
                            json={"given_name": "Piet", "email": "kapot"})
    assert response.status_code == 422 and "email" in response.json["errors"]["json"]
    body = client.get(_url(web_tenant, f"/{subject_id}"), headers=bearer(token)).json
    assert (body["given_name"], body["email"]) == ("Pieter", "pieter@example.nl")


def test_another_tenants_subject_is_404_on_every_method(make_tenant, web_tenant, api_user, add_subject, client):
    other = make_tenant()
    theirs = add_subject(other, given_name="Geheim", email="geheim@example.nl")
    _user, token = api_user()
    url = _url(web_tenant, f"/{theirs}")
    assert client.get(url, headers=bearer(token)).status_code == 404
    assert client.patch(url, headers=bearer(token), json={"city": "Elders"}).status_code == 404
    assert client.delete(url, headers=bearer(token)).status_code == 404
    assert client.get(_url(web_tenant, "/not-a-uuid"), headers=bearer(token)).status_code == 404
    db.session.commit()
    with tenancy.tenant_context(other.id):
        subject = db.session.get(DataSubject, theirs)
        assert subject.given_name == "Geheim" and subject.city is None
        assert _subject_key(theirs) is not None
        db.session.commit()


def test_delete_crypto_shreds(web_tenant, api_user, add_subject, client):
    _user, token = api_user()
    subject_id = add_subject(web_tenant, given_name="Wis", email="wis.mij@example.nl")
    assert client.delete(_url(web_tenant, f"/{subject_id}"), headers=bearer(token)).status_code == 204
    db.session.commit()
    with tenancy.tenant_context(web_tenant.id):
        assert db.session.get(DataSubject, subject_id) is None
        assert _subject_key(subject_id) is None
        ledger = db.session.get(ShreddedSubject, subject_id)
        assert ledger is not None and ledger.reason == "erasure"
        db.session.commit()


def test_agent_reads_but_cannot_change(web_tenant, api_user, add_subject, client, audit_rows):
    user, token = api_user(role="agent")
    org = _client_org(web_tenant)  # the people of an assignment belong to its client organisation
    subject_id = add_subject(web_tenant, given_name="Lees", client_org_id=org)
    make_assignment(web_tenant, org, agents=[user], subjects=[subject_id])
    assert client.get(_url(web_tenant, f"/{subject_id}"), headers=bearer(token)).status_code == 200
    refused = client.patch(_url(web_tenant, f"/{subject_id}"), headers=bearer(token), json={"city": "Nergens"})
    assert refused.status_code == 404 and refused.json["message"]  # the access policy: refused is 404
    assert client.post(_url(web_tenant), headers=bearer(token), json=PERSON).status_code == 404
    assert client.delete(_url(web_tenant, f"/{subject_id}"), headers=bearer(token)).status_code == 404
    denied = [(r["action"], r["outcome"]) for r in audit_rows(web_tenant) if r["outcome"] == "denied"]
    assert denied == [("subject.update", "denied"), ("subject.create", "denied"), ("subject.delete", "denied")]
    assert _count_subjects(web_tenant) == 1


def test_client_user_sees_and_writes_only_its_own_organisation(web_tenant, api_user, add_subject, client, audit_rows):
    own_org, other_org = _client_org(web_tenant), _client_org(web_tenant)
    _user, token = api_user(role="client", client_org=SimpleNamespace(id=own_org))
    own = add_subject(web_tenant, given_name="Eigen", client_org_id=own_org)
    foreign = add_subject(web_tenant, given_name="Vreemd", client_org_id=other_org)
    listed = client.get(_url(web_tenant), headers=bearer(token)).json
    assert [s["id"] for s in listed] == [str(own)]
    assert client.get(_url(web_tenant, f"/{foreign}"), headers=bearer(token)).status_code == 404
    assert client.delete(_url(web_tenant, f"/{foreign}"), headers=bearer(token)).status_code == 404
    denied = [r for r in audit_rows(web_tenant) if r["outcome"] == "denied"]
    assert [(r["action"], r["object_id"]) for r in denied] == [("subject.read", str(foreign)), ("subject.delete", str(foreign))]

    created = client.post(_url(web_tenant), headers=bearer(token), json={"category": "candidate", "given_name": "Nieuw"})
    assert created.status_code == 201 and created.json["client_org_id"] == str(own_org)
    moved = client.post(_url(web_tenant), headers=bearer(token),
                        json={"category": "candidate", "given_name": "Elders", "client_org_id": str(other_org)})
    assert moved.status_code == 403


def test_reads_are_audited_with_ids_and_counts_only(web_tenant, api_user, add_subject, client, audit_rows):
    user, token = api_user()
    subject_id = add_subject(web_tenant, given_name="Marijke", family_name="Zonneveld",
                              email="marijke.zonneveld@example.nl", phone="0612345678", city="Deventer")
    add_subject(web_tenant, given_name="Tweede")
    client.get(_url(web_tenant) + "?page_size=10", headers=bearer(token))
    client.get(_url(web_tenant, f"/{subject_id}"), headers=bearer(token))
    client.patch(_url(web_tenant, f"/{subject_id}"), headers=bearer(token), json={"city": "Apeldoorn"})
    rows = audit_rows(web_tenant)
    by_action = {r["action"]: r for r in rows}
    assert by_action["subject.list"]["detail"] == {"count": 2, "total": 2, "page": 1, "per_page": 10}
    assert by_action["subject.read"]["object_id"] == str(subject_id)
    assert by_action["subject.update"]["detail"] == {"fields": ["city"]}
    for action in ("subject.list", "subject.read", "subject.update"):
        assert (by_action[action]["actor_kind"], by_action[action]["actor_id"]) == ("api", str(user.id))
    text = json.dumps(rows, default=str).lower()
    for secret in ("marijke", "zonneveld", "marijke.zonneveld@example.nl", "0612345678", "deventer", "apeldoorn"):
        assert secret not in text
