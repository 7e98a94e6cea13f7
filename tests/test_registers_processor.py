"""The art. 30(2) processor register: one line per processor agreement in force in which the tenant is the
processor, with the controller, the processing, the sub-processors of its annex and the transfers among them."""
from __future__ import annotations

import csv
import io

import pytest
from flask_babel import force_locale
from openpyxl import load_workbook

from saas.extensions import db
from saas.modules.agreements.models import Agreement, SubProcessor
from saas.modules.registers import queries
from saas.testing.records import in_tenant, make_agreement
from saas.testing.retention_portal import leadgen_tenant  # noqa: F401  (fixture)

CONTACT = {"role": "dpo", "email": "privacy@example.test"}
FIELDS = {"subject_matter": "Belcampagnes", "nature": "bellen, verifiëren", "purpose": "leadgeneratie",
          "data_subject_categories": "contactpersonen", "data_types": "naam\ntelefoonnummer",
          "security_measures": "versleuteling per betrokkene"}


def agreement(tenant, status="completed", role="processor", fields=FIELDS, subs=()):
    agreement_id = make_agreement(tenant, status=status)
    with in_tenant(tenant):
        row = db.session.get(Agreement, agreement_id)
        row.tenant_role, row.fields = role, dict(fields)
        for name, country in subs:
            db.session.add(SubProcessor(agreement_id=agreement_id, name=name, country=country, purpose="hosting"))
        number = row.number
    return number


def register(tenant):
    with in_tenant(tenant):
        return queries.processor_register(tenant)


def named(gaps):
    with force_locale("en"):
        return [(key, str(gap.element), gap.article) for key, gap in gaps]


def test_only_agreements_in_force_where_the_tenant_is_processor(leadgen_tenant):
    tenant = leadgen_tenant(contact=CONTACT)
    number = agreement(tenant, subs=(("Datacenter BV", "NL"), ("Cloud Inc", "US")))
    agreement(tenant, status="draft")
    agreement(tenant, status="superseded")
    agreement(tenant, role="controller")
    result = register(tenant)
    (line,) = result.lines
    assert (line.agreement_number, line.controller) == (number, "Opdrachtgever BV")
    assert dict(line.processing)["nature"] == "bellen, verifiëren"
    assert [s.name for s in line.sub_processors] == ["Datacenter BV", "Cloud Inc"]
    assert [s.name for s in line.transfers] == ["Cloud Inc"]
    assert result.complete


def test_missing_elements_are_named_with_their_article(leadgen_tenant):
    tenant = leadgen_tenant(contact={})
    number = agreement(tenant, fields={"purpose": "iets"}, subs=(("Zonder land", ""),))
    assert named(register(tenant).gaps) == [
        ("", "contact details of the processor", "art. 30(2)(a)"),
        (number, "categories of processing", "art. 30(2)(b)"),
        (number, "country of a sub-processor (transfers)", "art. 30(2)(c)"),
        (number, "security measures", "art. 30(2)(d)"),
    ]


def test_exports_parse_back(leadgen_tenant, make_user, browser_as):
    tenant = leadgen_tenant(contact=CONTACT)
    number = agreement(tenant, subs=(("Cloud Inc", "US"),))
    admin, password = make_user(tenant=tenant)
    browser = browser_as(admin, password)
    body = browser.get(f"/{tenant.slug}/registers/processor.csv").get_data()
    assert body.startswith("\ufeff".encode())
    header, *rows = list(csv.reader(io.StringIO(body.decode("utf-8-sig")), delimiter=";"))
    assert header[:2] == ["Agreement", "Controller (art. 30(2)(a))"]
    assert [r[:2] for r in rows] == [[number, "Opdrachtgever BV"]]
    assert rows[0][header.index("Transfers (art. 30(2)(c))")] == "Cloud Inc (US): hosting"
    response = browser.get(f"/{tenant.slug}/registers/processor.xlsx")
    sheet = load_workbook(io.BytesIO(response.get_data()), read_only=True).active
    assert [list(r)[:2] for r in sheet.iter_rows(values_only=True)][1] == [number, "Opdrachtgever BV"]
    page = browser.get(f"/{tenant.slug}/registers").get_data(as_text=True)
    assert number in page and "Every line holds every element art. 30(2) asks for." in page


def test_another_tenants_agreements_stay_out(leadgen_tenant, make_user, browser_as):
    mine, other = leadgen_tenant(contact=CONTACT), leadgen_tenant(contact=CONTACT)
    theirs = agreement(other)
    assert register(mine).lines == ()
    admin, password = make_user(tenant=mine)
    browser = browser_as(admin, password)
    assert theirs not in browser.get(f"/{mine.slug}/registers/processor.csv").get_data(as_text=True)
    assert browser.get(f"/{other.slug}/registers/processor.csv").status_code == 404


@pytest.mark.parametrize("role", ["supervisor", "agent", "board"])
def test_only_admins_export_it(leadgen_tenant, make_user, browser_as, role):
    tenant = leadgen_tenant(contact=CONTACT)
    user, password = make_user(tenant=tenant, role=role)
    assert browser_as(user, password).get(f"/{tenant.slug}/registers/processor.xlsx").status_code == 404


def test_a_typed_formula_stays_text_in_both_exports(leadgen_tenant, make_user, browser_as):
    tenant = leadgen_tenant(contact=CONTACT)
    agreement(tenant, fields={**FIELDS, "subject_matter": "=HYPERLINK(\"http://evil\")"})
    admin, password = make_user(tenant=tenant)
    browser = browser_as(admin, password)
    body = browser.get(f"/{tenant.slug}/registers/processor.csv").get_data().decode("utf-8-sig")
    header, row = list(csv.reader(io.StringIO(body), delimiter=";"))
    assert row[3] == "'=HYPERLINK(\"http://evil\")"
    response = browser.get(f"/{tenant.slug}/registers/processor.xlsx")
    sheet = load_workbook(io.BytesIO(response.get_data())).active
    cell = sheet.cell(row=2, column=4)
    assert cell.value == "=HYPERLINK(\"http://evil\")" and cell.data_type == "s"
