"""Downloads of a client's database (issue 11 item 4): CSV (semicolons, BOM), XLSX and JSON of the current
state, parsed back and compared with the database; formula cells neutralised; audited; another client's,
another tenant's and an agent's requests answer 404, in the portal and through the API."""
from __future__ import annotations

import csv
import io
import json

import openpyxl
import sqlalchemy as sa

from saas.extensions import db
from saas.modules.companies.models import Company
from saas.modules.exports import formats
from saas.modules.subjects.models import DataSubject
from saas.testing.fixtures_api import bearer
from saas.testing.records import add_note, in_tenant, leadgen_tenant, make_assignment, make_company

NOTE = "Belde terug; wil offerte voor 40 licenties"


def _world(make_tenant, make_user, make_client_org, make_subject):
    """Client organisation A with three people (one erased later in a test), an active and an inactive
    assignment with call notes; organisation B with a person of its own; a client user of each."""
    tenant = leadgen_tenant(make_tenant)
    org_a, org_b = make_client_org(tenant, "Opdrachtgever A"), make_client_org(tenant, "Opdrachtgever B")
    company = make_company(tenant, name="Bakkerij Jansen BV", kvk_number="12345678", city="Utrecht")
    evil = make_company(tenant, name="=HYPERLINK(\"http://x\")", city="-Den Haag")
    people = {
        "anna": make_subject(tenant, "prospect", client_org=org_a, given_name="Anna", family_name="de Vries",
                             email="anna@jansen.example", phone="+31612345678", job_title="Inkoper",
                             company_id=company),
        "bram": make_subject(tenant, "prospect", client_org=org_a, given_name="=1+2", family_name="@Bakker",
                             job_title="\tDirecteur", company_id=evil),
        "cor": make_subject(tenant, "prospect", client_org=org_a, given_name="Cor", family_name="Zonder"),
        "bea": make_subject(tenant, "prospect", client_org=org_b, given_name="Bea", family_name="Anders"),
    }
    active = make_assignment(tenant, org_a.id, subjects=[people["anna"], people["bram"]], title="Voorjaar")
    inactive = make_assignment(tenant, org_a.id, subjects=[people["anna"]], active=False, title="Najaar")
    other = make_assignment(tenant, org_b.id, subjects=[people["bea"]], title="Van B")
    add_note(tenant, active, people["anna"].id, NOTE)
    add_note(tenant, inactive, people["anna"].id, "+ oude notitie")
    add_note(tenant, other, people["bea"].id, "Notitie van B")
    client_a, pw_a = make_user(role="client", tenant=tenant, client_org=org_a)
    client_b, pw_b = make_user(role="client", tenant=tenant, client_org=org_b)
    return {"tenant": tenant, "a": org_a, "b": org_b, "people": people, "active": active, "inactive": inactive,
            "other": other, "client_a": (client_a, pw_a), "client_b": (client_b, pw_b), "company": company}


def _download(browser, world, fmt):
    response = browser.get(f"/{world['tenant'].slug}/clients/{world['a'].id}/export?format={fmt}")
    assert response.status_code == 200, response.status_code
    assert "attachment" in response.headers["Content-Disposition"]
    assert response.headers["Cache-Control"] == "no-store"
    return response


def _csv_rows(data: bytes) -> list[dict]:
    assert data.startswith(b"\xef\xbb\xbf"), "Excel needs the BOM to read UTF-8"
    return list(csv.DictReader(io.StringIO(data[3:].decode("utf-8")), delimiter=";"))


def _database_rows(tenant, org_id) -> dict:
    """(person id, assignment title or '') -> the values the download must show, read from the database."""
    from saas.modules.assignments.models import Assignment, AssignmentSubject

    expected = {}
    with in_tenant(tenant):
        for person in db.session.scalars(sa.select(DataSubject).where(DataSubject.client_org_id == org_id)):
            company = db.session.get(Company, person.company_id) if person.company_id else None
            titles = list(db.session.scalars(sa.select(Assignment.title).join(
                AssignmentSubject, AssignmentSubject.assignment_id == Assignment.id).where(
                AssignmentSubject.subject_id == person.id))) or [""]
            for title in titles:
                expected[(str(person.id), title)] = {
                    "given_name": person.given_name or "", "family_name": person.family_name or "",
                    "email": person.email or "", "phone": person.phone or "", "job_title": person.job_title or "",
                    "company": company.name if company else "", "company_city": (company.city or "") if company else ""}
    return expected


def _as_sheet(values: dict) -> dict:
    return {name: formats.neutralise(value) for name, value in values.items()}


def test_csv_download_is_the_database_now_with_notes_and_neutralised_formulas(
        make_tenant, make_user, make_client_org, make_subject, browser_as, audit_lines):
    world = _world(make_tenant, make_user, make_client_org, make_subject)
    tenant = world["tenant"]
    with in_tenant(tenant):   # a correction made after the upload: the download has the current name
        db.session.get(Company, world["company"]).name = "Bakkerij Jansen & Zn BV"
    browser = browser_as(*world["client_a"])
    rows = _csv_rows(_download(browser, world, "csv").data)

    expected = _database_rows(tenant, world["a"].id)
    got = {(row["person_id"], row["assignment"]): row for row in rows}
    assert set(got) == set(expected)
    for key, values in expected.items():
        assert {name: got[key][name] for name in values} == _as_sheet(values), key
    anna_now = got[(str(world["people"]["anna"].id), "Voorjaar")]
    assert anna_now["company"] == "Bakkerij Jansen & Zn BV" and anna_now["kvk_number"] == "12345678"
    assert anna_now["phone"] == "'+31612345678"   # a spreadsheet would read +... as a formula
    assert NOTE in anna_now["call_notes"] and anna_now["assignment_active"] == "yes"
    anna_old = got[(str(world["people"]["anna"].id), "Najaar")]   # the inactive assignment, with its notes
    assert anna_old["assignment_active"] == "no" and "+ oude notitie" in anna_old["call_notes"]
    bram = got[(str(world["people"]["bram"].id), "Voorjaar")]
    assert (bram["given_name"], bram["family_name"], bram["job_title"]) == ("'=1+2", "'@Bakker", "'\tDirecteur")
    assert bram["company"].startswith("'=") and bram["company_city"] == "'-Den Haag"
    assert "Bea" not in json.dumps(rows) and "Notitie van B" not in json.dumps(rows)
    assert [line[1] for line in audit_lines(tenant.id, "database.export")] == [str(world["a"].id)]


def test_xlsx_download_opens_and_matches_the_csv(make_tenant, make_user, make_client_org, make_subject, browser_as):
    world = _world(make_tenant, make_user, make_client_org, make_subject)
    browser = browser_as(*world["client_a"])
    csv_rows = _csv_rows(_download(browser, world, "csv").data)
    workbook = openpyxl.load_workbook(io.BytesIO(_download(browser, world, "xlsx").data), read_only=True)
    sheet = workbook["Database"]
    lines = [[cell if cell is not None else "" for cell in row] for row in sheet.iter_rows(values_only=True)]
    workbook.close()
    header, body = lines[0], lines[1:]
    assert tuple(header) == formats.COLUMNS
    assert [dict(zip(header, line)) for line in body] == csv_rows
    # No cell is a formula: every value was written as text.
    assert all(not str(value).startswith("=") for line in body for value in line)


def test_json_download_keeps_values_and_lists_the_notes(make_tenant, make_user, make_client_org, make_subject,
                                                        browser_as):
    world = _world(make_tenant, make_user, make_client_org, make_subject)
    browser = browser_as(*world["client_a"])
    document = json.loads(_download(browser, world, "json").data)
    assert document["client_organisation"] == "Opdrachtgever A"
    anna = [row for row in document["rows"] if row["given_name"] == "Anna"]
    assert {row["assignment"] for row in anna} == {"Voorjaar", "Najaar"}
    notes = {row["assignment"]: [n["note"] for n in row["call_notes"]] for row in anna}
    assert notes == {"Voorjaar": [NOTE], "Najaar": ["+ oude notitie"]}
    assert any(row["given_name"] == "=1+2" for row in document["rows"])   # JSON is for programs: as stored


def test_erased_people_are_absent_from_the_download(make_tenant, make_user, make_client_org, make_subject,
                                                    browser_as):
    from saas.modules.erasure import operations as erasure

    world = _world(make_tenant, make_user, make_client_org, make_subject)
    with in_tenant(world["tenant"]):
        erasure.erase_subject(db.session.get(DataSubject, world["people"]["cor"].id), reason="test")
    browser = browser_as(*world["client_a"])
    rows = _csv_rows(_download(browser, world, "csv").data)
    assert str(world["people"]["cor"].id) not in {row["person_id"] for row in rows}
    assert "Cor" not in {row["given_name"] for row in rows}


def test_one_assignment_also_inactive_can_be_downloaded(make_tenant, make_user, make_client_org, make_subject,
                                                        browser_as):
    world = _world(make_tenant, make_user, make_client_org, make_subject)
    browser = browser_as(*world["client_a"])
    response = browser.get(f"/{world['tenant'].slug}/assignments/{world['inactive']}/export?format=csv")
    assert response.status_code == 200
    rows = _csv_rows(response.data)
    assert [(row["given_name"], row["assignment"]) for row in rows] == [("Anna", "Najaar")]


def test_another_client_another_tenant_and_agents_get_404(make_tenant, make_user, make_client_org, make_subject,
                                                           browser_as, make_token, client, audit_lines):
    world = _world(make_tenant, make_user, make_client_org, make_subject)
    tenant = world["tenant"]
    browser_b = browser_as(*world["client_b"])
    base = f"/{tenant.slug}"
    assert browser_b.get(f"{base}/clients/{world['a'].id}/export?format=csv").status_code == 404
    assert browser_b.get(f"{base}/assignments/{world['active']}/export?format=csv").status_code == 404
    assert browser_b.get(f"{base}/clients/{world['b'].id}/export?format=csv").status_code == 200
    agent, agent_pw = make_user(role="agent", tenant=tenant)
    assert browser_as(agent, agent_pw).get(f"{base}/clients/{world['a'].id}/export").status_code == 404
    denied = [line for line in audit_lines(tenant.id, "client_database.export") if line[0] == "denied"]
    assert str(world["a"].id) in {line[1] for line in denied}

    other = leadgen_tenant(make_tenant)
    other_org = make_client_org(other, "Elders")
    assert browser_b.get(f"{base}/clients/{other_org.id}/export").status_code == 404
    token_b = make_token(world["client_b"][0], tenant)
    api = f"/api/v1/{tenant.slug}"
    assert client.get(f"{api}/clients/{world['a'].id}/export", headers=bearer(token_b)).status_code == 404
    assert client.get(f"{api}/assignments/{world['active']}/export", headers=bearer(token_b)).status_code == 404
    assert client.get(f"{api}/clients/{other_org.id}/export", headers=bearer(token_b)).status_code == 404


def test_api_export_with_a_client_token(make_tenant, make_user, make_client_org, make_subject, make_token, client):
    world = _world(make_tenant, make_user, make_client_org, make_subject)
    token = make_token(world["client_a"][0], world["tenant"])
    url = f"/api/v1/{world['tenant'].slug}/clients/{world['a'].id}/export"
    response = client.get(f"{url}?format=csv", headers=bearer(token))
    assert response.status_code == 200 and response.mimetype == "text/csv"
    assert len(_csv_rows(response.data)) == 4   # Anna twice, Bram, Cor
    as_json = client.get(url, headers=bearer(token))
    assert as_json.status_code == 200 and len(as_json.json["rows"]) == 4
    bad = client.get(f"{url}?format=xls", headers=bearer(token))
    assert bad.status_code == 422 and "format" in json.dumps(bad.json)
    assert client.get(f"{url}?format=csv").status_code == 401


def test_a_bad_format_in_the_portal_says_which_ones_exist(make_tenant, make_user, make_client_org, make_subject,
                                                          browser_as):
    world = _world(make_tenant, make_user, make_client_org, make_subject)
    response = browser_as(*world["client_a"]).get(
        f"/{world['tenant'].slug}/clients/{world['a'].id}/export?format=xls")
    assert response.status_code == 400
    page = response.get_data(as_text=True)
    assert "csv, xlsx" in page and "json" in page


def test_neutralise_every_formula_start():
    for start in ("=", "+", "-", "@", "\t", "\r"):
        assert formats.neutralise(f"{start}cmd") == f"'{start}cmd"
    for plain in ("Jansen", "0612345678", "'al veilig", "a=b", ""):
        assert formats.neutralise(plain) == plain
    assert formats.cell(None) == "" and formats.cell(True) == "yes"
    assert formats.cell([{"date": "2026-01-02", "result": "callback", "note": "=x"}]) == "2026-01-02 callback: =x"


def test_the_batches_cover_every_row_exactly_once(make_tenant, make_client_org, make_subject):
    from saas.modules.exports import queries

    tenant = leadgen_tenant(make_tenant)
    org = make_client_org(tenant)
    ids = {str(make_subject(tenant, "prospect", client_org=org, given_name=f"P{n}").id) for n in range(7)}
    with in_tenant(tenant):
        rows = list(queries.export_rows(org.id, None, batch=3))
    assert sorted(row["person_id"] for row in rows) == sorted(ids)
