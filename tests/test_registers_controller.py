"""The art. 30(1) controller register: lines from the plugins' activities, the retention column equal to the
live policies the sweeps apply, the completeness check, CSV/XLSX exports parsed back, who may see it."""
from __future__ import annotations

import csv
import dataclasses
import io

import pytest
from flask_babel import force_locale
from openpyxl import load_workbook

from saas.extensions import db
from saas.modules.registers import queries
from saas.modules.retention import policies
from saas.modules.tenants import operations as tenants
from saas.modules.tenants import queries as tenant_queries
from saas.plugins.manager import current_registry
from saas.testing.retention_portal import leadgen_tenant, text_of  # noqa: F401  (fixture)

CONTACT = {"role": "dpo", "email": "privacy@example.test"}
SEEDS = ("client-ict", "kantoor", "kvgo", "leadhunter", "zest")


def named(gaps) -> list[tuple[str, str, str]]:
    """(activity key or "", element in English, article) of each gap."""
    with force_locale("en"):
        return [(key, str(gap.element), gap.article) for key, gap in gaps]


@pytest.fixture()
def synced(ctx, tenant_files):
    """The five seed tenants, synced from copies of tenants/*.toml."""
    tenants.sync(tenant_files.directory)

    def _tenant(seed_slug):
        db.session.expire_all()
        return tenant_queries.get_by_slug(tenant_files.slug(seed_slug))

    return _tenant


def test_each_seed_tenant_has_a_line_per_activity_of_its_plugins(synced):
    for seed in SEEDS:
        tenant = synced(seed)
        register = queries.controller_register(tenant)
        expected = {a.key for a in current_registry().of("saas_processing_activities", tenant.plugins)}
        assert {line.activity.key for line in register.lines} == expected, seed
        assert register.lines and register.tenant_name == tenant.name, seed


def test_the_seed_registers_are_complete_except_what_the_seeds_do_not_give(synced):
    for seed in ("kvgo", "leadhunter", "zest"):
        assert queries.controller_register(synced(seed)).gaps == [], seed
    # Seed 002 keeps no period for people who worked for the organisation: the register says so.
    assert named(queries.controller_register(synced("client-ict")).gaps) == [
        ("recruitment.professional_employment@v1", "retention period: no retention policy in force",
         "art. 30(1)(f)")]
    # Seed 001 names no e-mail address, telephone number or privacy officer.
    assert named(queries.controller_register(synced("kantoor")).gaps) == [
        ("", "contact details of the controller", "art. 30(1)(a)")]


def test_the_retention_column_is_the_live_policy_with_overrides(leadgen_tenant):
    tenant = leadgen_tenant(contact=CONTACT)   # prospect_unverified overridden to 10 months; company rule switched off
    (line,) = queries.controller_register(tenant).lines
    live = {p.name: p for p in policies.effective_policies(tenant)}
    assert line.retention == tuple(live[n] for n in line.activity.retention_policies)
    unverified = live["leadgen.prospect_unverified"]
    assert unverified in line.retention and unverified.period == policies.Period(months=10)
    assert unverified.origins["period"] == policies.OVERRIDE


def test_a_line_whose_policies_are_all_switched_off_is_flagged(leadgen_tenant):
    off = {name: {"enabled": False} for name in ("leadgen.prospect_verification", "leadgen.prospect_unverified",
                                                 "leadgen.prospect_left_company")}
    # The tenant schema refuses a configuration that keeps prospects for ever; written directly, the register
    # still tells.
    tenant = leadgen_tenant(retention=off, contact=CONTACT)
    (line,) = queries.controller_register(tenant).lines
    assert line.retention == () and set(line.switched_off) == set(off)
    assert named(("", g) for g in line.gaps) == [
        ("", "retention period: no retention policy in force", "art. 30(1)(f)")]


@pytest.mark.parametrize("changes, element, article", [
    ({"purpose": ""}, "purpose of the processing", "art. 30(1)(b)"),
    ({"subject_categories": ()}, "categories of data subjects", "art. 30(1)(c)"),
    ({"data_categories": ()}, "categories of personal data", "art. 30(1)(c)"),
    ({"recipients": ()}, "categories of recipients", "art. 30(1)(d)"),
    ({"transfers": None}, "transfers to third countries (or that there are none)", "art. 30(1)(e)"),
    ({"retention_policies": ()}, "retention period: no retention policy in force", "art. 30(1)(f)"),
    ({"retention_policies": ("leadgen.gone",)}, "retention period: no retention policy in force", "art. 30(1)(f)"),
    ({"legal_basis": ""}, "legal basis", "art. 6(1)"),
])
def test_removing_one_element_names_it_with_its_article(leadgen_tenant, changes, element, article):
    tenant = leadgen_tenant(contact=CONTACT)
    activity = dataclasses.replace(queries.activities_of(tenant)[0], **changes)
    register = queries.controller_register(tenant, [activity])
    assert named(register.gaps) == [(activity.key, element, article)]


def test_a_controller_without_contact_details_is_named(leadgen_tenant):
    register = queries.controller_register(leadgen_tenant(contact={}))
    assert named(register.gaps) == [("", "contact details of the controller", "art. 30(1)(a)")]


# ---- portal ------------------------------------------------------------------------------------------

def test_the_page_shows_lines_live_retention_and_the_check(leadgen_tenant, make_user, browser_as):
    tenant = leadgen_tenant(contact=CONTACT)
    admin, password = make_user(tenant=tenant)
    page = text_of(browser_as(admin, password).get(f"/{tenant.slug}/registers"))
    assert "leadgen.prospect_calling@v1" in page and "overweging 47" in page
    assert "leadgen.prospect_unverified@v1: Purge, 10 months after the last verification" in page
    assert "Legitimate interests (art. 6(1)(f))" in page and "Not Consent (art. 6(1)(a)):" in page
    assert "Every line holds every element art. 30(1) asks for." in page
    assert "privacy@example.test" in page


def test_the_page_names_what_is_missing(leadgen_tenant, make_user, browser_as):
    tenant = leadgen_tenant(contact={})
    admin, password = make_user(tenant=tenant)
    page = text_of(browser_as(admin, password).get(f"/{tenant.slug}/registers"))
    assert "contact details of the controller (art. 30(1)(a))" in page


def test_csv_export_parses_back_with_semicolons_and_bom(leadgen_tenant, make_user, browser_as):
    tenant = leadgen_tenant(contact=CONTACT)
    admin, password = make_user(tenant=tenant)
    response = browser_as(admin, password).get(f"/{tenant.slug}/registers/controller.csv")
    assert response.status_code == 200 and response.mimetype == "text/csv"
    assert f"controller-register-{tenant.slug}.csv" in response.headers["Content-Disposition"]
    body = response.get_data()
    assert body.startswith("\ufeff".encode())
    header, *rows = list(csv.reader(io.StringIO(body.decode("utf-8-sig")), delimiter=";"))
    assert header[0] == "Activity" and header[8] == "Retention in force (art. 30(1)(f))"
    assert [row[0] for row in rows] == ["leadgen.prospect_calling@v1"]
    assert "leadgen.prospect_unverified@v1: Purge, 10 months after the last verification" in rows[0][8]
    assert rows[0][-1] == ""   # nothing missing


def test_xlsx_export_parses_back(leadgen_tenant, make_user, browser_as):
    tenant = leadgen_tenant(contact=CONTACT)
    admin, password = make_user(tenant=tenant)
    response = browser_as(admin, password).get(f"/{tenant.slug}/registers/controller.xlsx")
    assert response.status_code == 200
    sheet = load_workbook(io.BytesIO(response.get_data()), read_only=True).active
    rows = [list(r) for r in sheet.iter_rows(values_only=True)]
    assert rows[0][0] == "Activity" and rows[1][0] == "leadgen.prospect_calling@v1"
    assert "Legitimate interests (art. 6(1)(f))" == rows[1][2]
    assert "10 months after the last verification" in rows[1][8]


@pytest.mark.parametrize("path", ["/registers", "/registers/controller.csv", "/registers/controller.xlsx"])
def test_only_admins_see_the_register(leadgen_tenant, make_user, browser_as, path):
    tenant = leadgen_tenant(contact=CONTACT)
    for role in ("supervisor", "agent", "board"):
        user, password = make_user(tenant=tenant, role=role)
        assert browser_as(user, password).get(f"/{tenant.slug}{path}").status_code == 404, role


@pytest.mark.parametrize("path", ["/registers", "/registers/controller.csv", "/registers/controller.xlsx"])
def test_another_tenants_register_is_404(leadgen_tenant, make_user, browser_as, path):
    mine, other = leadgen_tenant(contact=CONTACT), leadgen_tenant(contact=CONTACT)
    admin, password = make_user(tenant=mine)
    browser = browser_as(admin, password)
    assert browser.get(f"/{mine.slug}{path}").status_code == 200
    assert browser.get(f"/{other.slug}{path}").status_code == 404


def test_the_page_speaks_dutch(leadgen_tenant, make_user, browser_as):
    tenant = leadgen_tenant(locale="nl", contact=CONTACT)
    admin, password = make_user(tenant=tenant)
    page = text_of(browser_as(admin, password).get(f"/{tenant.slug}/registers"))
    assert "Verwerkingsregisters" in page and "Gerechtvaardigd belang (art. 6(1)(f))" in page
    assert "Elke regel bevat alle onderdelen die art. 30 lid 1 vraagt." in page
