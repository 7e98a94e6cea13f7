"""The public page `/verify` (upload a sealed PDF) and `/verify/ca.pem`."""
import io
import re
from pathlib import Path

import pytest
import sqlalchemy as sa
from cryptography import x509
from cryptography.hazmat.primitives import hashes

from saas.core import tenancy
from saas.extensions import db
from saas.modules.audit.models import AuditEntry
from saas.modules.seals import pki
from saas.modules.seals.operations import seal_pdf
from saas.modules.seals.pdf import html_to_pdf
from saas.testing.fixtures_web import find_csrf_token

HTML = ('<html lang="nl"><head><title>Verwerkersovereenkomst</title></head><body><h1>Verwerkersovereenkomst</h1>'
        '<p>De verwerker wist of retourneert de persoonsgegevens na afloop.</p></body></html>')


@pytest.fixture()
def sealed_by(ctx, make_tenant):
    """(sealed bytes, the tenant that sealed them)."""
    tenant = make_tenant(name="KVGO Vereniging")
    db.session.commit()
    tenancy.set_tenant(tenant.id)
    data = seal_pdf(tenant.id, html_to_pdf(HTML), reason="Voltooid")
    db.session.commit()
    tenancy.set_tenant(None)
    return data, tenant


@pytest.fixture()
def sealed(sealed_by):
    return sealed_by[0]


def upload(client, data: bytes, filename="overeenkomst.pdf", token=None, headers=None):
    """POST the file as an English-speaking visitor (the texts asserted are the English ones)."""
    token = token if token is not None else find_csrf_token(client.get("/verify").get_data(as_text=True))
    return client.post("/verify", data={"csrf_token": token, "document": (io.BytesIO(data), filename)},
                       content_type="multipart/form-data", headers=headers or {"Accept-Language": "en"})


def test_the_page_is_public_with_a_form_and_the_ca_fingerprint(client, ctx):
    response = client.get("/verify")
    page = response.get_data(as_text=True)
    assert response.status_code == 200
    assert 'enctype="multipart/form-data"' in page and 'name="csrf_token"' in page and 'type="file"' in page
    fingerprint = pki.platform_ca_certificate().fingerprint(hashes.SHA256()).hex(":").upper()
    assert fingerprint in page and "/verify/ca.pem" in page


def test_a_sealed_pdf_is_valid_with_tenant_signer_and_time_in_both_zones(client, sealed):
    response = upload(client, sealed)
    page = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "card--danger" not in page and "The seal is valid and covers the whole document" in page
    assert "KVGO Vereniging" in page and "KVGO Vereniging – elektronisch zegel" in page
    assert re.search(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d UTC", page)
    assert re.search(r"\d\d:\d\d:\d\d \+0[12]00 \(Europe/Amsterdam\)", page)  # English: offset
    dutch = upload(client, sealed, headers={"Accept-Language": "nl"}).get_data(as_text=True)
    assert re.search(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d (CET|CEST) \(Europe/Amsterdam\)", dutch)


def test_a_changed_pdf_is_not_valid(client, sealed):
    tampered = sealed[:3000] + bytes([sealed[3000] ^ 1]) + sealed[3001:]
    page = upload(client, tampered).get_data(as_text=True)
    assert "card--danger" in page and "The document was changed after it was sealed." in page


def test_content_appended_after_sealing_is_not_valid(client, sealed):
    page = upload(client, sealed + b"%added\n").get_data(as_text=True)
    assert "card--danger" in page and "the seal does not cover the whole document" in page


def test_a_file_that_is_not_a_pdf_is_refused_with_a_message(client, ctx):
    response = upload(client, b"\x89PNG\r\n\x1a\n not a pdf", filename="scan.pdf")
    assert response.status_code == 400
    assert "Only PDF files can be checked." in response.get_data(as_text=True)


def test_a_form_without_a_file_says_so(client, ctx):
    token = find_csrf_token(client.get("/verify").get_data(as_text=True))
    response = client.post("/verify", data={"csrf_token": token}, content_type="multipart/form-data",
                           headers={"Accept-Language": "en"})
    assert response.status_code == 400 and "Choose a PDF file to check." in response.get_data(as_text=True)


def test_a_file_over_the_limit_gets_a_clear_message(client, app, ctx):
    # the check's own limit (10 MB) is below the app's upload limit; both answer the same sentence
    from saas.modules.seals.verify import VerifyLimits

    message = f"The file is too large: at most {VerifyLimits().max_bytes // (1024 * 1024)} MB can be checked."
    for size in (VerifyLimits().max_bytes, app.config["MAX_CONTENT_LENGTH"]):
        response = upload(client, b"%PDF-1.7\n" + b"0" * size)
        assert response.status_code == 413
        assert message in response.get_data(as_text=True)


def test_the_upload_needs_the_csrf_token(client, sealed):
    client.get("/verify")
    response = upload(client, sealed, token="forged")
    assert response.status_code == 400 and "The seal is valid" not in response.get_data(as_text=True)


def test_nothing_is_stored_or_audited(client, sealed_by, settings):
    sealed, tenant = sealed_by

    def state():
        files = {(str(p), p.stat().st_size, p.stat().st_mtime_ns)
                 for p in Path(settings.instance_path).rglob("*") if p.is_file()}
        db.session.commit()
        tenancy.set_tenant(tenant.id)
        entries = db.session.scalar(sa.select(sa.func.count()).select_from(AuditEntry))
        db.session.commit()
        tenancy.set_tenant(None)
        return files, entries

    before = state()
    assert before[1] >= 2  # the seal's own lines (issue, seal) are there to be counted
    assert upload(client, sealed).status_code == 200
    assert upload(client, sealed + b"%x").status_code == 200
    assert state() == before


def test_uploads_are_rate_limited_per_address(client, app, ctx):
    token = find_csrf_token(client.get("/verify").get_data(as_text=True))
    statuses = [upload(client, b"not a pdf", token=token).status_code for _ in range(11)]
    assert statuses[:10] == [400] * 10 and statuses[10] == 429


def test_the_ca_certificate_downloads_as_pem(client, ctx):
    response = client.get("/verify/ca.pem")
    assert response.status_code == 200 and response.mimetype == "application/x-pem-file"
    assert "attachment" in response.headers["Content-Disposition"]
    cert = x509.load_pem_x509_certificate(response.data)
    assert cert == pki.platform_ca_certificate()


def test_english_and_dutch_visitors_get_the_page(client, ctx):
    english = client.get("/verify", headers={"Accept-Language": "en"}).get_data(as_text=True)
    assert 'lang="en"' in english and "Check a sealed document" in english
    dutch = client.get("/verify", headers={"Accept-Language": "nl"}).get_data(as_text=True)
    assert 'lang="nl"' in dutch and "Check a sealed document" not in dutch


def test_a_logged_in_member_of_another_tenant_sees_only_what_the_file_says(client, sealed, make_user, login):
    """Public and tenant-free: being logged in to another tenant changes nothing and shows nothing of it."""
    user, password = make_user(role="admin")
    login(client, user.email, password)
    page = upload(client, sealed).get_data(as_text=True)
    assert "KVGO Vereniging" in page and "The seal is valid" in page
