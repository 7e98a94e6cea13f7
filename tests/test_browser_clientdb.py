"""A client in a real browser (headless Debian Chromium, real HTTP server): opens its database from the menu,
searches it, edits a record, and downloads the XLSX; the file is opened and compared with the database."""
from __future__ import annotations

import io

import openpyxl
import pytest
import sqlalchemy as sa

from saas.extensions import db
from saas.modules.subjects.models import DataSubject
from saas.testing.records import add_note, in_tenant, leadgen_tenant, make_assignment, make_company

pytestmark = pytest.mark.browser

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
    "--disable-component-update", "--disable-sync", "--no-first-run",
]
SCREENSHOT = "/tmp/saas-client-database.png"


@pytest.fixture()
def page():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        context = browser.new_context(locale="nl-NL", viewport={"width": 1280, "height": 900}, accept_downloads=True)
        browser_page = context.new_page()
        browser_page.set_default_timeout(15000)
        yield browser_page
        context.close()
        browser.close()


def test_a_client_finds_corrects_and_downloads_its_database(page, live_server, make_tenant, make_user,
                                                            make_client_org, make_subject, tmp_path):
    tenant = leadgen_tenant(make_tenant)
    org = make_client_org(tenant, "Opdrachtgever Proef")
    company = make_company(tenant, name="Bakkerij Jansen BV")
    anna = make_subject(tenant, "prospect", client_org=org, given_name="Anna", family_name="de Vries",
                        job_title="Inkoper", company_id=company)
    make_subject(tenant, "prospect", client_org=org, given_name="Bram", family_name="Bakker")
    assignment = make_assignment(tenant, org.id, subjects=[anna], title="Voorjaar")
    add_note(tenant, assignment, anna.id, "Wil een offerte")
    user, password = make_user(role="client", tenant=tenant, client_org=org)
    problems = []
    page.on("pageerror", lambda exc: problems.append(str(exc)))

    page.goto(f"{live_server}/login")
    page.get_by_label("E-mailadres").fill(user.email)
    page.get_by_label("Wachtwoord").fill(password)
    page.get_by_role("button", name="Inloggen").click()
    page.wait_for_url(f"{live_server}/{tenant.slug}/")
    page.get_by_role("navigation", name="Hoofdmenu").get_by_role("link", name="Database").click()
    assert page.get_by_role("heading", name="Database van Opdrachtgever Proef").is_visible()

    page.get_by_label("Bedrijf").fill("jansen")
    page.get_by_role("button", name="Zoeken").click()
    assert page.get_by_role("link", name="Anna de Vries").is_visible()
    assert page.get_by_role("link", name="Bram Bakker").count() == 0

    page.get_by_role("link", name="Bewerken").first.click()   # the record's own edit page
    page.get_by_label("Functie").fill("Hoofd inkoop")
    page.get_by_role("button", name="Opslaan").click()
    page.wait_for_url(f"{live_server}/{tenant.slug}/subjects/{anna.id}")
    page.goto(f"{live_server}/{tenant.slug}/database")

    with page.expect_download() as download_info:
        page.get_by_role("link", name="Excel (XLSX)").click()
    path = tmp_path / "database.xlsx"
    download_info.value.save_as(path)
    page.screenshot(path=SCREENSHOT, full_page=True)

    # Read from bytes: a read-only workbook opened on a path keeps the file open until it is closed.
    sheet = openpyxl.load_workbook(io.BytesIO(path.read_bytes()), read_only=True)["Database"]
    lines = list(sheet.iter_rows(values_only=True))
    header = lines[0]
    rows = {(r[header.index("given_name")], r[header.index("assignment")]): dict(zip(header, r)) for r in lines[1:]}
    with in_tenant(tenant):
        people = {p.given_name: p for p in db.session.scalars(sa.select(DataSubject))}
        assert people["Anna"].job_title == "Hoofd inkoop"
        expected = {(name, "Voorjaar" if name == "Anna" else None): p.job_title for name, p in people.items()}
    assert {key: row["job_title"] for key, row in rows.items()} == expected
    assert "Wil een offerte" in rows[("Anna", "Voorjaar")]["call_notes"]
    assert problems == []
