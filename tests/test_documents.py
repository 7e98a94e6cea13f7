"""Documents kept with a person (issue 17 item 1): upload, list, download, replace, delete in the portal; the
type checked on the content; the size limit; board-only types; erasure; cross-tenant; the types' retention."""
from __future__ import annotations

import io
import uuid
from datetime import date, datetime, timezone
from pathlib import Path

import pytest
import sqlalchemy as sa

from saas.core import clock
from saas.extensions import db
from saas.modules.audit.models import AuditEntry
from saas.modules.documents import operations, types
from saas.modules.documents.models import Document
from saas.modules.files import storage
from saas.modules.files.models import StoredFile
from saas.testing.fixtures_web import find_csrf_token
from saas.testing.records import count, in_tenant

PLUGINS = ["recruitment", "employment", "consultancy"]
PDF = b"%PDF-1.4\n1 0 obj\n<< /Type /Catalog /Pages 2 0 R >>\nendobj\ntrailer\n<< /Root 1 0 R >>\n%%EOF\n"
PNG = (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x02\x00\x00\x00\x90wS\xde"
       b"\x00\x00\x00\x0cIDATx\x9cc\xf8\x0f\x00\x00\x01\x01\x00\x05\x18\xd8N\x00\x00\x00\x00IEND\xaeB`\x82")
ELF = b"\x7fELF\x02\x01\x01\x00" + b"\x00" * 8 + b"\x02\x00\x3e\x00\x01\x00\x00\x00" + b"\x00" * 200
PDF_WITH_JS = PDF.replace(b"/Type /Catalog", b"/Type /Catalog /OpenAction << /S /JavaScript /JS (app.alert(1)) >>")


@pytest.fixture()
def tenant(make_tenant):
    return make_tenant(plugins=PLUGINS)


@pytest.fixture()
def member(tenant, make_user, browser_as):
    def _as(role: str):
        user, password = make_user(role=role, tenant=tenant)
        return browser_as(user, password)
    return _as


@pytest.fixture()
def admin(member):
    return member("admin")


def _page(tenant, subject) -> str:
    return f"/{tenant.slug}/subjects/{subject.id}/documents"


def _upload(browser, tenant, subject, data: bytes, name: str, doc_type: str = "recruitment.cv", **extra):
    token = find_csrf_token(browser.get(_page(tenant, subject)).get_data(as_text=True))
    form = {"csrf_token": token, "doc_type": doc_type, "file": (io.BytesIO(data), name), **extra}
    return browser.post(_page(tenant, subject), data=form, content_type="multipart/form-data")


def _documents(tenant, subject) -> list[Document]:
    with in_tenant(tenant):
        rows = list(db.session.scalars(sa.select(Document).where(Document.subject_id == subject.id)))
        for row in rows:
            db.session.expunge(row)
        return rows


def _files_on_disk(app, tenant) -> list[Path]:
    root = Path(app.extensions["saas.settings"].storage_path) / str(int(tenant.id))
    return [p for p in root.glob("*") if not p.name.startswith(".")] if root.exists() else []


def test_upload_list_download_replace_delete(app, tenant, admin, make_subject):
    person = make_subject(tenant, category="candidate", given_name="Anna")
    response = _upload(admin, tenant, person, PDF, "cv-anna.pdf")
    assert response.status_code == 302
    [document] = _documents(tenant, person)
    page = admin.get(_page(tenant, person)).get_data(as_text=True)
    assert "cv-anna.pdf" in page and "Cv" in page   # the portal speaks Dutch by default
    download = admin.get(f"{_page(tenant, person)}/{document.id}")
    assert download.status_code == 200 and download.data == PDF
    assert download.mimetype == "application/pdf" and "sandbox" in download.headers["Content-Security-Policy"]
    assert "attachment" in download.headers["Content-Disposition"]
    with in_tenant(tenant):
        stored = db.session.get(StoredFile, document.file_id)
        assert stored.subject_id == person.id and stored.key_kind == "s"   # the person's key
        assert PDF not in storage.path_of(stored).read_bytes()             # encrypted on disk
        actions = set(db.session.scalars(sa.select(AuditEntry.action)))
        details = " ".join(str(d) for d in db.session.scalars(sa.select(AuditEntry.detail)))
    assert {"document.create", "document.list", "document.download"} <= actions
    assert "anna" not in details.lower()                                   # no personal data in the trail

    token = find_csrf_token(admin.get(_page(tenant, person)).get_data(as_text=True))
    replaced = admin.post(f"{_page(tenant, person)}/{document.id}/replace", content_type="multipart/form-data",
                          data={"csrf_token": token, "file": (io.BytesIO(PNG), "cv.png")})
    assert replaced.status_code == 302
    assert admin.get(f"{_page(tenant, person)}/{document.id}").data == PNG
    assert len(_files_on_disk(app, tenant)) == 1                           # the old file left the disk

    deleted = admin.post(f"{_page(tenant, person)}/{document.id}/delete", data={"csrf_token": token})
    assert deleted.status_code == 302
    assert _documents(tenant, person) == [] and _files_on_disk(app, tenant) == []
    assert admin.get(f"{_page(tenant, person)}/{document.id}").status_code == 404


@pytest.mark.parametrize("data,name,doc_type,expected", [
    (PDF, "photo.png", "recruitment.diploma", None),                       # the name does not matter, the content does
    (PDF, "nda.pdf", "consultancy.nda", None),
    (PNG, "nda.pdf", "consultancy.nda", "niet toegestaan"),                    # an NDA is a PDF only
    (ELF, "cv.pdf", "recruitment.cv", "niet toegestaan"),                      # an executable renamed .pdf
    (b"MZ\x90\x00" + b"\x00" * 300, "cv.pdf", "recruitment.cv", "niet toegestaan"),
    (b"PK\x05\x06" + b"\x00" * 18, "cv.docx", "recruitment.cv", "niet toegestaan"),   # an (empty) archive
    (PDF_WITH_JS, "cv.pdf", "recruitment.cv", "actieve inhoud"),
    (PDF, "x.pdf", "employment.nope", ""),   # an unknown type: the form refuses it
])
def test_the_type_is_checked_on_the_content(app, tenant, admin, make_subject, data, name, doc_type, expected):
    person = make_subject(tenant, category="candidate")
    response = _upload(admin, tenant, person, data, name, doc_type)
    if expected is None:
        assert response.status_code == 302
        assert len(_documents(tenant, person)) == 1
        return
    assert response.status_code == 400 and expected in response.get_data(as_text=True)
    assert _documents(tenant, person) == [] and _files_on_disk(app, tenant) == []


def test_a_file_over_the_limit_is_refused_and_nothing_stored(app, tenant, admin, make_subject):
    person = make_subject(tenant, category="candidate")
    app.config["DOCUMENT_MAX_BYTES"] = 1024 * 1024
    try:
        response = _upload(admin, tenant, person, PDF + b"%" * (1024 * 1024), "big.pdf")
        assert response.status_code == 400 and "groter dan 1 MB" in response.get_data(as_text=True)
        assert _documents(tenant, person) == [] and _files_on_disk(app, tenant) == []
        assert _upload(admin, tenant, person, PDF + b"%" * 1000, "fits.pdf").status_code == 302
    finally:
        app.config.pop("DOCUMENT_MAX_BYTES")


def test_staff_files_and_talk_notes_are_the_boards_only(app, tenant, member, make_subject):
    board, admin, supervisor = member("board"), member("admin"), member("supervisor")
    employee = make_subject(tenant, category="employee")
    assert _upload(board, tenant, employee, PDF, "dossier.pdf", "employment.staff_file").status_code == 302
    assert _upload(board, tenant, employee, PDF, "gesprek.pdf", "employment.talk_notes").status_code == 302
    assert _upload(board, tenant, employee, PDF, "misc.pdf", "other").status_code == 302
    staff_file = next(d for d in _documents(tenant, employee) if d.doc_type == "employment.staff_file")
    assert board.get(f"{_page(tenant, employee)}/{staff_file.id}").status_code == 200
    for other in (admin, supervisor):
        assert other.get(_page(tenant, employee)).status_code == 404
        assert other.get(f"{_page(tenant, employee)}/{staff_file.id}").status_code == 404
    # A board-only type on a person the admin sees (a candidate) is still hidden from the admin.
    candidate = make_subject(tenant, category="candidate")
    assert _upload(admin, tenant, candidate, PDF, "x.pdf", "employment.staff_file").status_code == 400
    with in_tenant(tenant):
        document_id = operations.attach(db.session.get(type(candidate), candidate.id), "employment.talk_notes", PDF,
                                        "notes.pdf").id
        db.session.commit()
    assert admin.get(f"{_page(tenant, candidate)}/{document_id}").status_code == 404
    assert "notes.pdf" not in admin.get(_page(tenant, candidate)).get_data(as_text=True)
    token = find_csrf_token(admin.get(_page(tenant, candidate)).get_data(as_text=True))
    assert admin.post(f"{_page(tenant, candidate)}/{document_id}/delete",
                      data={"csrf_token": token}).status_code == 404
    assert len(_documents(tenant, candidate)) == 1


def test_erasing_the_person_removes_the_documents_and_their_files(app, tenant, admin, make_subject):
    from saas.modules.erasure import operations as erasure
    from saas.modules.subjects.models import DataSubject

    person = make_subject(tenant, category="candidate")
    keep = make_subject(tenant, category="candidate")
    _upload(admin, tenant, person, PDF, "cv.pdf")
    _upload(admin, tenant, keep, PNG, "diploma.png", "recruitment.diploma")
    assert len(_files_on_disk(app, tenant)) == 2
    with in_tenant(tenant):
        erasure.erase_subject(db.session.get(DataSubject, person.id), reason="rights_request")
    assert _documents(tenant, person) == [] and len(_documents(tenant, keep)) == 1
    assert count(tenant, StoredFile, StoredFile.subject_id == person.id) == 0
    assert len(_files_on_disk(app, tenant)) == 1


def test_the_generic_erasure_knows_the_document_table(app):
    from saas.modules.erasure.operations import subject_dependents

    tables = [model.__tablename__ for model, _column, _rule in subject_dependents()]
    assert "document" in tables and tables.index("document") < tables.index("stored_file")


def test_another_tenants_document_is_404(app, tenant, admin, make_tenant, make_user, browser_as, make_subject):
    person = make_subject(tenant, category="candidate")
    _upload(admin, tenant, person, PDF, "cv.pdf")
    [document] = _documents(tenant, person)
    other = make_tenant(plugins=PLUGINS)
    user, password = make_user(role="admin", tenant=other)
    stranger = browser_as(user, password)
    for path in (f"/{other.slug}/subjects/{person.id}/documents",
                 f"/{other.slug}/subjects/{person.id}/documents/{document.id}"):
        assert stranger.get(path).status_code == 404
    own = make_subject(other, category="candidate")   # another tenant's document under one's own person
    assert stranger.get(f"/{other.slug}/subjects/{own.id}/documents/{document.id}").status_code == 404
    token = find_csrf_token(stranger.get(f"/{other.slug}/subjects/{own.id}/documents").get_data(as_text=True))
    assert stranger.post(f"/{other.slug}/subjects/{own.id}/documents/{document.id}/delete",
                         data={"csrf_token": token}).status_code == 404
    assert len(_documents(tenant, person)) == 1


def test_clients_and_agents_see_no_documents(tenant, member, make_subject):
    person = make_subject(tenant, category="candidate")
    for role in ("client", "agent"):
        assert member(role).get(_page(tenant, person)).status_code == 404


def test_another_persons_document_is_404_under_the_wrong_person(tenant, admin, make_subject):
    person, other = make_subject(tenant, category="candidate"), make_subject(tenant, category="candidate")
    _upload(admin, tenant, person, PDF, "cv.pdf")
    [document] = _documents(tenant, person)
    assert admin.get(f"{_page(tenant, other)}/{document.id}").status_code == 404


# ---- retention of the types ------------------------------------------------------------------------------

def test_every_declared_type_is_valid_and_named(ctx):
    from saas.plugins.manager import current_registry

    names = {t.name for t in current_registry().of(types.HOOK)}
    assert {"consultancy.nda", "recruitment.cv", "recruitment.diploma", "recruitment.certificate",
            "recruitment.reference", "recruitment.id_copy", "recruitment.work_permit", "recruitment.vog",
            "employment.staff_file", "employment.talk_notes"} <= names
    board_only = {t.name for t in current_registry().of(types.HOOK) if t.board_only}
    assert board_only == {"employment.staff_file", "employment.talk_notes"}


def test_a_type_definition_with_a_bad_rule_is_refused():
    from saas.plugins.definitions import DocumentType

    assert DocumentType(name="x", version=1, anchor="uploaded_on").problems()
    assert DocumentType(name="x", version=1, years=2).problems()
    assert DocumentType(name="x", version=1, anchor="signed_on").problems()
    assert DocumentType(name="x", version=1, anchor="expires_on").problems() == []


@pytest.mark.parametrize("today,removed", [
    (date(2026, 6, 29), 0),   # the day before the confidentiality ends
    (date(2026, 6, 30), 1),   # the day itself
    (date(2026, 7, 1), 1),    # the day after
])
def test_an_nda_is_removed_by_the_sweep_when_its_confidentiality_ends(app, tenant, make_subject, today, removed):
    from saas.modules.subjects.models import DataSubject

    person = make_subject(tenant, category="candidate")
    clock.set_now(datetime(2026, 1, 5, 10, tzinfo=timezone.utc))
    with in_tenant(tenant):
        subject = db.session.get(DataSubject, person.id)
        operations.attach(subject, "consultancy.nda", PDF, "nda.pdf", expires_on=date(2026, 6, 30))
        operations.attach(subject, "consultancy.nda", PDF, "open-ended.pdf")      # no end date: kept
        operations.attach(subject, "recruitment.cv", PDF, "cv.pdf")                # kept with the person
        db.session.commit()
    with in_tenant(tenant):
        assert operations.remove_due(today) == removed
        db.session.commit()
    assert len(_documents(tenant, person)) == 3 - removed
    with in_tenant(tenant):
        assert operations.remove_due(today) == 0   # a rerun acts on nothing more


def test_the_sweep_command_counts_per_tenant(app, tenant, make_subject, saas_cli):
    from saas.modules.subjects.models import DataSubject

    person = make_subject(tenant, category="candidate")
    with in_tenant(tenant):
        operations.attach(db.session.get(DataSubject, person.id), "consultancy.nda", PDF, "nda.pdf",
                          expires_on=date(2020, 1, 1))
        db.session.commit()
    result = saas_cli("documents", "sweep", "--tenant", tenant.slug)
    assert result.exit_code == 0, result.output
    assert "1 document(s) removed" in result.output
    assert _documents(tenant, person) == []


def test_the_daily_job_runs_the_sweep_for_its_tenant(app, tenant, make_subject):
    from saas.jobs.schedule import entry
    from saas.modules.documents import jobs
    from saas.modules.subjects.models import DataSubject

    assert entry("documents-sweep").per_tenant and entry("documents-sweep").func == "saas.modules.documents.jobs.sweep"
    person = make_subject(tenant, category="candidate")
    clock.set_now(datetime(2026, 3, 2, 10, tzinfo=timezone.utc))
    with in_tenant(tenant):
        operations.attach(db.session.get(DataSubject, person.id), "consultancy.nda", PDF, "nda.pdf",
                          expires_on=date(2026, 3, 1))
        db.session.commit()
        assert jobs.sweep() == {"removed": 1}
        db.session.commit()
    assert _documents(tenant, person) == []


# ---- API ---------------------------------------------------------------------------------------------------

def test_the_api_uploads_lists_downloads_and_deletes(app, tenant, make_user, make_token, make_subject, client):
    import base64

    from saas.testing.fixtures_api import bearer

    user, _password = make_user(role="admin", tenant=tenant)
    headers = bearer(make_token(user, tenant))
    person = make_subject(tenant, category="candidate")
    base = f"/api/v1/{tenant.slug}/subjects/{person.id}/documents"
    body = {"doc_type": "recruitment.cv", "filename": "cv.pdf", "content_base64": base64.b64encode(PDF).decode()}
    created = client.post(base, json=body, headers=headers)
    assert created.status_code == 201, created.get_json()
    document_id = created.get_json()["id"]
    assert [d["id"] for d in client.get(base, headers=headers).get_json()] == [document_id]
    got = client.get(f"{base}/{document_id}", headers=headers).get_json()
    assert base64.b64decode(got["content_base64"]) == PDF and got["content_type"] == "application/pdf"

    for refused in ({**body, "content_base64": base64.b64encode(ELF).decode()},       # an executable named .pdf
                    {**body, "content_base64": "not base64!"},
                    {**body, "doc_type": "employment.staff_file"}):                     # board only
        answer = client.post(base, json=refused, headers=headers)
        assert answer.status_code == 422, answer.get_json()
    assert len(_documents(tenant, person)) == 1

    assert client.delete(f"{base}/{document_id}", headers=headers).status_code == 204
    assert client.get(f"{base}/{document_id}", headers=headers).status_code == 404
    assert _documents(tenant, person) == []


def test_the_api_answers_404_for_another_tenants_document(app, tenant, make_tenant, make_user, make_token,
                                                           make_subject, client):
    import base64

    from saas.testing.fixtures_api import bearer

    person = make_subject(tenant, category="candidate")
    with in_tenant(tenant):
        from saas.modules.subjects.models import DataSubject
        document_id = operations.attach(db.session.get(DataSubject, person.id), "recruitment.cv", PDF, "cv.pdf").id
        db.session.commit()
    other = make_tenant(plugins=PLUGINS)
    user, _password = make_user(role="admin", tenant=other)
    headers = bearer(make_token(user, other))
    own = make_subject(other, category="candidate")
    for subject_id in (person.id, own.id):
        base = f"/api/v1/{other.slug}/subjects/{subject_id}/documents"
        assert client.get(f"{base}/{document_id}", headers=headers).status_code == 404
        assert client.delete(f"{base}/{document_id}", headers=headers).status_code == 404
    assert client.get(f"/api/v1/{other.slug}/subjects/{person.id}/documents", headers=headers).status_code == 404
    body = {"doc_type": "recruitment.cv", "content_base64": base64.b64encode(PDF).decode()}
    assert client.post(f"/api/v1/{other.slug}/subjects/{person.id}/documents", json=body,
                       headers=headers).status_code == 404
    assert len(_documents(tenant, person)) == 1


def test_a_refused_replacement_keeps_the_old_file(app, tenant, admin, make_subject):
    person = make_subject(tenant, category="candidate")
    _upload(admin, tenant, person, PDF, "cv.pdf")
    [document] = _documents(tenant, person)
    token = find_csrf_token(admin.get(_page(tenant, person)).get_data(as_text=True))
    answer = admin.post(f"{_page(tenant, person)}/{document.id}/replace", content_type="multipart/form-data",
                        data={"csrf_token": token, "file": (io.BytesIO(ELF), "cv.pdf")}, follow_redirects=True)
    assert "niet toegestaan" in answer.get_data(as_text=True)
    assert admin.get(f"{_page(tenant, person)}/{document.id}").data == PDF
    assert len(_files_on_disk(app, tenant)) == 1
