"""Imports of a client's database (issue 11, items 1 and 2): upload, mapping, the all-or-nothing job, the
report, undo, cross-matching, and the bad-input corpus (each file its message, zero rows written)."""
from __future__ import annotations

import html
import importlib.util
import io
import uuid
from pathlib import Path

import pytest
import sqlalchemy as sa

from saas.core import tenancy
from saas.extensions import db
from saas.modules.assignments.models import AssignmentSubject
from saas.modules.companies.models import Company
from saas.modules.files.models import StoredFile
from saas.modules.imports.models import ImportCreated, ImportMapping, ImportRun
from saas.modules.retention import suppression
from saas.modules.subjects.models import DataSubject
from saas.testing.records import count, in_tenant, leadgen_tenant, make_assignment, make_company

CORPUS = Path(__file__).resolve().parent / "data" / "imports"
_spec = importlib.util.spec_from_file_location("make_corpus", CORPUS / "make_corpus.py")
corpus = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(corpus)

HEADER = corpus.HEADER


def _csv(*rows: str, header: str = HEADER) -> bytes:
    return ("\ufeff" + header + "\r\n" + "\r\n".join(rows) + "\r\n").encode("utf-8")


@pytest.fixture()
def world(make_tenant, make_user, make_client_org, browser_as):
    """A leadgen tenant with two client organisations, each with a user and an active assignment."""
    tenant = leadgen_tenant(make_tenant)
    org_a, org_b = make_client_org(tenant, "Opdrachtgever A"), make_client_org(tenant, "Opdrachtgever B")
    user_a = make_user(role="client", tenant=tenant, client_org=org_a)
    user_b = make_user(role="client", tenant=tenant, client_org=org_b)
    admin = make_user(role="admin", tenant=tenant)
    return {
        "tenant": tenant, "org_a": org_a, "org_b": org_b,
        "assignment_a": make_assignment(tenant, org_a.id, title="Campagne A"),
        "assignment_b": make_assignment(tenant, org_b.id, title="Campagne B"),
        "a": browser_as(*user_a), "b": browser_as(*user_b), "admin": browser_as(*admin),
    }


def _base(world) -> str:
    return f"/{world['tenant'].slug}/imports"


def _token(browser, world) -> str:
    from saas.testing.fixtures_web import find_csrf_token

    return find_csrf_token(browser.get(_base(world)).get_data(as_text=True))


def upload(world, content: bytes, name: str = "leads.csv", who: str = "a", assignment: str = "assignment_a"):
    browser = world[who]
    return browser.post(_base(world), data={"csrf_token": _token(browser, world), "assignment": str(world[assignment]),
                                            "file": (io.BytesIO(content), name)},
                        content_type="multipart/form-data")


def run_id_of(response) -> str:
    assert response.status_code == 302, response.get_data(as_text=True)[:2000]
    return response.headers["Location"].rsplit("/", 1)[1]


def start(world, run_id: str, mapping: dict[int, str] | None = None, who: str = "a"):
    browser = world[who]
    page = browser.get(f"{_base(world)}/{run_id}")
    assert page.status_code == 200
    from saas.testing.fixtures_web import find_csrf_token

    data = {"csrf_token": find_csrf_token(page.get_data(as_text=True))}
    if mapping is None:
        with in_tenant(world["tenant"]):
            mapping = {int(c): f for c, f in db.session.get(ImportRun, uuid.UUID(run_id)).mapping.items()}
    data.update({f"column-{c}": f for c, f in mapping.items()})
    return browser.post(f"{_base(world)}/{run_id}/start", data=data)


def run_of(world, run_id) -> ImportRun:
    with in_tenant(world["tenant"]):
        run = db.session.get(ImportRun, uuid.UUID(str(run_id)))
        db.session.expunge(run)
    return run


def import_file(world, content: bytes, work, name="leads.csv", who="a", assignment="assignment_a") -> ImportRun:
    run_id = run_id_of(upload(world, content, name, who, assignment))
    assert start(world, run_id, who=who).status_code == 302
    work()
    return run_of(world, run_id)


def people(world, org_key="org_a") -> list[DataSubject]:
    with in_tenant(world["tenant"]):
        found = list(db.session.scalars(sa.select(DataSubject).where(
            DataSubject.client_org_id == world[org_key].id).order_by(DataSubject.created_at)))
        for subject in found:
            _ = subject.email, subject.phone, subject.job_title, subject.given_name, subject.family_name
            db.session.expunge(subject)
    return found


def written(world) -> dict:
    """Rows an import may write (people, links, companies) and the files kept."""
    tenant = world["tenant"]
    return {"people": count(tenant, DataSubject), "links": count(tenant, AssignmentSubject),
            "companies": count(tenant, Company), "created": count(tenant, ImportCreated)}


# ---- the happy path -------------------------------------------------------------------------------------

def test_a_client_imports_an_excel_csv_and_reads_the_report(world, work_in_process, job_queue, audit_lines):
    content = (HEADER + "\r\n"
               "José;Müller;jose@example.nl;06-12345678;Café De Hoek B.V.;12345678;1234 ab;\"Hoofd\r\nverkoop\"\r\n"
               "Piet;Pieters;piet@example.nl;020 123 4567;Jansen BV;;2345 CD;Inkoper\r\n"
               "Piet;Pieters;PIET@example.nl;;Jansen BV;;2345 CD;Inkoper\r\n"
               "Kees;Kapot;geen-mail;0612345678;;;;\r\n"
               + "".join(f"N{i};M{i};n{i}@example.nl;;;;;\r\n" for i in range(7))).encode("cp1252")
    run_id = run_id_of(upload(world, content))
    page = world["a"].get(f"{_base(world)}/{run_id}").get_data(as_text=True)
    assert "jose@example.nl" in page and 'value="email" selected' in page   # preview and suggested mapping
    assert start(world, run_id).status_code == 302
    with in_tenant(world["tenant"]):
        assert db.session.scalar(sa.select(ImportRun.status)) == "queued"
    work_in_process()
    run = run_of(world, run_id)
    assert run.status == "done", (run.error_code, run.problems)
    assert run.counts["rows_read"] == 11 and run.counts["created"] == 9 and run.counts["duplicates"] == 1
    assert run.counts["refused"] == 1 and run.counts["companies_created"] == 2
    assert [row for row in run.problems if row[2] != "duplicate"] == [[5, 3, "email_invalid"]]
    found = {p.email: p for p in people(world)}
    assert found["jose@example.nl"].phone == "+31612345678" and found["jose@example.nl"].job_title == "Hoofd verkoop"
    assert found["piet@example.nl"].phone == "+31201234567"
    with in_tenant(world["tenant"]):
        company = db.session.scalar(sa.select(Company).where(Company.kvk_number == "12345678"))
        assert company.postcode == "1234AB" and company.client_org_id is None
        assert count(world["tenant"], StoredFile) == 0                # the upload is gone
    report = world["a"].get(f"{_base(world)}/{run_id}").get_data(as_text=True)
    assert "New people" in report or "Nieuwe personen" in report
    csv_report = world["a"].get(f"{_base(world)}/{run_id}/report.csv")
    text = csv_report.get_data(as_text=True)
    assert csv_report.status_code == 200 and text.startswith("\ufeff") and "\r\n5;3;email_invalid;" in text
    assert "geen-mail" not in text and "Kapot" not in text              # no values in the report
    status = world["a"].get(f"{_base(world)}/{run_id}/status").get_json()
    assert status["status"] == "finished" and status["counts"]["created"] == 9
    line = audit_lines(world["tenant"].id, "import.run")[0]
    assert line[3]["created"] == 9 and "jose" not in str(line)


def test_the_mapping_is_remembered_per_client_organisation(world, work_in_process, job_queue):
    content = _csv("x;Jansen;j@example.nl", header="Kolom1;Naam achter;Adres")
    run_id = run_id_of(upload(world, content))
    assert start(world, run_id, {2: "family_name", 3: "email"}).status_code == 302
    with in_tenant(world["tenant"]):
        remembered = db.session.scalar(sa.select(ImportMapping.columns))
    assert remembered == {"naamachter": "family_name", "adres": "email"}
    again = run_of(world, run_id_of(upload(world, content)))
    assert again.mapping == {"2": "family_name", "3": "email"}
    other = run_of(world, run_id_of(upload(world, content, who="b", assignment="assignment_b")))
    assert other.mapping == {}                                       # another client's choice is its own


def test_excel_numbers_and_dates_are_read_as_the_client_sees_them(world, work_in_process, job_queue):
    run = import_file(world, (CORPUS / "good_excel_numbers.xlsx").read_bytes(), work_in_process, "leads.xlsx")
    assert run.status == "done", (run.error_code, run.problems)
    assert run.counts["created"] == 2 and run.counts["left_company"] == 1   # the date in "Uit dienst"
    found = {p.email: p for p in people(world)}
    assert found["jan@jansen.example"].phone == "+31612345678"
    with in_tenant(world["tenant"]):
        assert db.session.scalar(sa.select(Company.kvk_number).where(Company.postcode == "1234AB")) == "01234567"


# ---- all or nothing -------------------------------------------------------------------------------------

def test_too_many_refused_rows_write_nothing_but_the_report(world, work_in_process, job_queue):
    before = written(world)
    rows = [f"A{i};B{i};a{i}@example.nl;;;;;" for i in range(8)] + ["X;Y;kapot;;;;;", "X;Z;ook-kapot;;;;;"]
    run = import_file(world, _csv(*rows), work_in_process)
    assert run.status == "refused" and run.error_code == "threshold"
    assert run.error_detail == {"refused": 2, "rows": 10, "limit": 10}
    assert [p[2] for p in run.problems] == ["email_invalid", "email_invalid"]
    assert written(world) == before and count(world["tenant"], StoredFile) == 0


def test_a_cancel_while_running_leaves_nothing(world, work_in_process, job_queue, monkeypatch):
    from saas.modules.imports import operations

    before = written(world)
    monkeypatch.setattr(operations, "BATCH", 2)
    monkeypatch.setattr(operations, "cancel_asked", lambda run_id: True)
    run = import_file(world, _csv(*[f"A{i};B{i};a{i}@example.nl;;;;;" for i in range(6)]), work_in_process)
    assert run.status == "cancelled"
    assert written(world) == before and count(world["tenant"], StoredFile) == 0


def test_a_crash_half_way_leaves_nothing_and_the_import_can_run_again(world, work_in_process, job_queue, monkeypatch):
    from saas.modules.imports import operations

    before = written(world)
    real = operations._write_matches

    def crash(*args, **kwargs):
        db.session.flush()
        raise RuntimeError("worker lost")

    monkeypatch.setattr(operations, "_write_matches", crash)
    run = import_file(world, _csv("A;B;a@example.nl;;;;;"), work_in_process)
    assert run.status == "failed" and written(world) == before
    monkeypatch.setattr(operations, "_write_matches", real)


def test_a_queued_import_can_be_cancelled_in_the_portal(world):
    run_id = run_id_of(upload(world, _csv("A;B;a@example.nl;;;;;")))
    from saas.testing.fixtures_web import find_csrf_token

    token = find_csrf_token(world["a"].get(f"{_base(world)}/{run_id}").get_data(as_text=True))
    assert world["a"].post(f"{_base(world)}/{run_id}/cancel", data={"csrf_token": token}).status_code == 302
    assert run_of(world, run_id).status == "cancelled" and count(world["tenant"], StoredFile) == 0


# ---- undo ----------------------------------------------------------------------------------------------

def test_undo_within_a_day_erases_what_the_import_added(world, work_in_process, job_queue):
    known = _known_person(world, "org_a", email="oud@example.nl", job_title="Stagiair")
    run = import_file(world, _csv("Nieuw;Mens;nieuw@example.nl;;;;;", "Oud;Bekend;oud@example.nl;;;;;Directeur"),
                      work_in_process)
    assert run.counts["created"] == 1 and run.counts["matched"] == 1 and run.counts["corrected"] == 1
    from saas.testing.fixtures_web import find_csrf_token

    page = world["a"].get(f"{_base(world)}/{run.id}").get_data(as_text=True)
    assert "Undo" in page or "ongedaan" in page
    assert world["a"].post(f"{_base(world)}/{run.id}/undo",
                           data={"csrf_token": find_csrf_token(page)}).status_code == 302
    work_in_process()
    assert run_of(world, run.id).status == "undone"
    left = people(world)
    assert [p.id for p in left] == [known]                         # the created person is erased
    assert left[0].job_title == "Directeur"                          # the correction stays (said on the page)
    assert count(world["tenant"], AssignmentSubject) == 0


def test_undo_closes_after_a_day(world, work_in_process, job_queue):
    from saas.core import clock
    from datetime import timedelta

    run = import_file(world, _csv("Nieuw;Mens;nieuw@example.nl;;;;;"), work_in_process)
    from saas.modules.imports import operations

    with in_tenant(world["tenant"]):
        fresh = db.session.get(ImportRun, run.id)
        day = fresh.finished_at + timedelta(hours=24)
        with clock.frozen_at(day - timedelta(seconds=1)):
            assert operations.can_undo(fresh)
        with clock.frozen_at(day):
            assert not operations.can_undo(fresh)


# ---- suppression and cross-matching -------------------------------------------------------------------------

def _known_person(world, org_key: str, **fields) -> uuid.UUID:
    with in_tenant(world["tenant"]):
        subject = DataSubject(category="prospect", client_org_id=world[org_key].id, family_name="Bekend", **fields)
        db.session.add(subject)
        subject_id = subject.id
    return subject_id


def test_people_on_the_suppression_list_are_refused_without_their_data(world, work_in_process, job_queue):
    with in_tenant(world["tenant"]):
        suppression.suppress_many([(suppression.blind_index("email", "weg@example.nl"), None, "erasure")])
    run = import_file(world, _csv("Weg;Wezen;Weg@Example.nl;;;;;", *[f"A{i};B{i};a{i}@example.nl;;;;;" for i in range(9)]),
                      work_in_process)
    assert run.status == "done" and run.counts["suppressed"] == 1 and run.counts["created"] == 9
    assert [2, 0, "suppressed"] in run.problems
    assert "weg@example.nl" not in {p.email for p in people(world)}


def test_people_are_matched_and_corrected_within_the_clients_own_database(world, work_in_process, job_queue):
    other_assignment = make_assignment(world["tenant"], world["org_a"].id, title="Oude campagne")
    known = _known_person(world, "org_a", email="jan@example.nl", phone="+31612345678", job_title="Verkoper")
    with in_tenant(world["tenant"]):
        db.session.add(AssignmentSubject(assignment_id=other_assignment, subject_id=known))
    run = import_file(world, _csv("Jan;Jansen;jan.nieuw@example.nl;06 12345678;;;;Salesmanager"), work_in_process)
    assert run.counts["matched"] == 1 and run.counts["corrected"] == 1 and run.counts.get("created", 0) == 0
    (person,) = people(world)
    assert person.id == known and person.job_title == "Salesmanager" and person.email == "jan.nieuw@example.nl"
    with in_tenant(world["tenant"]):
        assert set(db.session.scalars(sa.select(AssignmentSubject.assignment_id))) == {other_assignment,
                                                                                     world["assignment_a"]}


def test_a_person_who_left_is_erased_at_once(world, work_in_process, job_queue):
    known = _known_person(world, "org_a", email="weg@example.nl")
    run = import_file(world, _csv("Weg;Wezen;weg@example.nl;;;;;", *[f"A{i};B{i};a{i}@example.nl;;;;;" for i in range(9)],
                                  header=HEADER + ";Uit dienst").replace(b";;;;;\r\n", b";;;;;;\r\n", 100)
                      .replace(b"weg@example.nl;;;;;;", b"weg@example.nl;;;;;;ja"), work_in_process)
    assert run.status == "done" and run.counts["left_company"] == 1
    assert known not in {p.id for p in people(world)}
    with in_tenant(world["tenant"]):
        assert suppression.is_suppressed(email="weg@example.nl")      # as the leadgen rule does for leavers


def test_another_clients_people_are_never_matched_nor_revealed(world, work_in_process, job_queue):
    """Client A's report is the same whether or not client B holds the person, and B's record is untouched."""
    rows = ("Jan;Jansen;jan@example.nl;0612345678;;;;Directeur",)
    first = import_file(world, _csv(*rows), work_in_process)
    b_person = _known_person(world, "org_b", email="piet@example.nl", job_title="Oud")
    second = import_file(world, _csv("Piet;Pieters;piet@example.nl;;;;;Nieuw"), work_in_process)
    assert first.counts == second.counts and first.problems == second.problems == []
    (b,) = people(world, "org_b")
    assert b.id == b_person and b.job_title == "Oud"
    assert len(people(world)) == 2


def test_companies_are_matched_with_the_general_data_and_corrected(world, work_in_process, job_queue):
    from datetime import date

    tenant = world["tenant"]
    by_kvk = make_company(tenant, "Jansen Holding BV", kvk_number="12345678", postcode="1234AB", city="Utrecht")
    by_name = make_company(tenant, "De Bakkerij B.V.", postcode="2345CD")
    ceased = make_company(tenant, "Failliet BV", kvk_number="87654321", ceased_on=date(2025, 1, 1))
    rows = [
        "A;Een;a@example.nl;;Jansen & Zn;12345678;9999 ZZ;",     # renamed and moved: the known data wins
        "B;Twee;b@example.nl;;de bakkerij bv;;2345 CD;",          # no KvK: name and postcode
        "C;Drie;c@example.nl;;Failliet BV;87654321;;",            # ceased: not imported
        *[f"N{i};M{i};n{i}@example.nl;;;;;" for i in range(7)],
    ]
    run = import_file(world, _csv(*rows), work_in_process)
    assert run.status == "done", run.error_code
    assert run.counts["companies_matched"] == 3 and run.counts["companies_corrected"] == 1
    assert run.counts.get("companies_created", 0) == 0 and [4, 0, "company_ceased"] in run.problems
    found = {p.email: p.company_id for p in people(world)}
    assert found["a@example.nl"] == by_kvk and found["b@example.nl"] == by_name and "c@example.nl" not in found
    with in_tenant(tenant):
        assert db.session.get(Company, by_kvk).name == "Jansen Holding BV"
        assert db.session.get(Company, ceased).ceased_on == date(2025, 1, 1)


def test_another_clients_own_company_is_not_matched(world, work_in_process, job_queue):
    tenant = world["tenant"]
    make_company(tenant, "Eigen BV van B", kvk_number="11112222", client_org_id=world["org_b"].id)
    run = import_file(world, _csv("A;Een;a@example.nl;;Eigen BV;11112222;;"), work_in_process)
    assert run.status == "done" and run.counts["companies_created"] == 1 and "companies_matched" not in run.counts


# ---- access -----------------------------------------------------------------------------------------------

def test_another_clients_import_answers_404(world):
    run_id = run_id_of(upload(world, _csv("A;B;a@example.nl;;;;;")))
    from saas.testing.fixtures_web import find_csrf_token

    token = _token(world["b"], world)
    for path in ("", "/status", "/report.csv"):
        assert world["b"].get(f"{_base(world)}/{run_id}{path}").status_code == 404
    for path in ("/start", "/cancel", "/undo"):
        assert world["b"].post(f"{_base(world)}/{run_id}{path}", data={"csrf_token": token}).status_code == 404
    # nor may B upload into A's assignment
    assert upload(world, _csv("A;B;a@example.nl;;;;;"), who="b").status_code in (400, 404)
    assert world["admin"].get(f"{_base(world)}/{run_id}").status_code == 200
    assert find_csrf_token


def test_another_tenants_import_answers_404(world, make_tenant, make_user, browser_as):
    run_id = run_id_of(upload(world, _csv("A;B;a@example.nl;;;;;")))
    other = make_tenant()
    stranger = browser_as(*make_user(role="admin", tenant=other))
    for path in ("", "/status", "/report.csv"):
        assert stranger.get(f"/{other.slug}/imports/{run_id}{path}").status_code == 404


def test_agents_may_not_import(world, make_user, browser_as):
    agent = browser_as(*make_user(role="agent", tenant=world["tenant"]))
    assert agent.get(_base(world)).status_code == 404


# ---- the bad-input corpus ------------------------------------------------------------------------------------

@pytest.mark.parametrize("name,code", sorted(corpus.EXPECTED.items()))
def test_bad_input_corpus(world, work_in_process, job_queue, name, code):
    from saas.modules.imports import messages

    assert (CORPUS / name).read_bytes() == corpus.small_files()[name], "run tests/data/imports/make_corpus.py"
    before = written(world)
    response = upload(world, (CORPUS / name).read_bytes(), name)
    if response.status_code == 302:
        run_id = run_id_of(response)
        started = start(world, run_id)
        if started.status_code == 302:
            work_in_process()
            run = run_of(world, run_id)
            assert (run.status, run.error_code) == ("refused", code)
            page = html.unescape(world["a"].get(f"{_base(world)}/{run_id}").get_data(as_text=True))
            assert str(messages.FILE_REASONS[code]).split("%")[0][:30] in page
        else:
            assert started.status_code == 400
            assert str(messages.FILE_REASONS[code])[:30] in html.unescape(started.get_data(as_text=True))
    else:
        assert response.status_code == 400
        page = html.unescape(response.get_data(as_text=True))
        assert str(messages.FILE_REASONS[code]).split("%")[0][:25] in page
    assert written(world) == before


@pytest.mark.parametrize("maker,name,code", [
    (corpus.oversize, "huge.csv", "too_large"),
    (corpus.zip_bomb, "bomb.xlsx", "zip_bomb"),
    (corpus.empty_rows_sheet, "empty_rows.xlsx", "header_only"),
])
def test_big_bad_input_made_at_test_time(world, tmp_path, maker, name, code):
    from saas.modules.imports import operations

    path = tmp_path / name
    maker(path)
    before = written(world)
    with in_tenant(world["tenant"]):
        from saas.modules.assignments.models import Assignment

        assignment = db.session.get(Assignment, world["assignment_a"])
        with path.open("rb") as stream:
            if code == "too_large":
                stream.read = _never_read(stream.read)
            with pytest.raises(operations.ImportRefused) as refused:
                operations.upload(assignment, stream, name, None)
        db.session.rollback()
    assert refused.value.reason == code
    assert written(world) == before and count(world["tenant"], StoredFile) == 0


def _never_read(read):
    def refuse(*args):
        raise AssertionError("an oversize file must be refused before it is read")
    return refuse


def test_oversize_upload_is_refused_by_its_size_in_the_portal(world, app):
    limit = app.config["MAX_CONTENT_LENGTH"]
    response = upload(world, b"x" * (limit + 10))
    assert response.status_code in (400, 413)
