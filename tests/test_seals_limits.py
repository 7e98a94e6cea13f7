"""/verify and the verify CLIs under attack: a small PDF with thousands of signature fields (built here, each
field pointing at a real seal's CMS, so every one costs a full validation) is refused quickly with a clear
message; time, objects and busy slots are limits too; and under gunicorn, /login answers while such files
are being checked."""
from __future__ import annotations

import fcntl
import io
import os
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
import requests
from pyhanko.pdf_utils.reader import PdfFileReader

from saas.core import tenancy
from saas.extensions import db
from saas.modules.agreements.cli import agreements_group
from saas.modules.seals.cli import seals
from saas.modules.seals.operations import seal_pdf
from saas.modules.seals.pdf import html_to_pdf
from saas.modules.seals.verify import Refused, VerifyLimits, verify_pdf
from saas.testing.fixtures_web import find_csrf_token

FIELDS = 3000
HTML = "<html lang='nl'><head><title>VO</title></head><body><p>Verwerkersovereenkomst</p></body></html>"


def many_signature_fields(count: int, cms_hex: bytes) -> bytes:
    """A one-page PDF whose form has `count` signature fields, all filled with the same signature value."""
    objects = {
        1: b"<< /Type /Catalog /Pages 2 0 R /AcroForm << /Fields ["
           + b" ".join(b"%d 0 R" % (10 + i) for i in range(count)) + b"] /SigFlags 3 >> >>",
        2: b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        3: b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Annots ["
           + b" ".join(b"%d 0 R" % (10 + i) for i in range(count)) + b"] >>",
        4: b"<< /Type /Sig /Filter /Adobe.PPKLite /SubFilter /adbe.pkcs7.detached /ByteRange [0 10 20 30] "
           b"/Contents <" + cms_hex + b"> >>",
    }
    for i in range(count):
        objects[10 + i] = b"<< /FT /Sig /T (s%d) /V 4 0 R /Type /Annot /Subtype /Widget /Rect [0 0 0 0] /P 3 0 R >>" % i
    out = io.BytesIO()
    out.write(b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n")
    offsets = {}
    for number in sorted(objects):
        offsets[number] = out.tell()
        out.write(b"%d 0 obj\n%s\nendobj\n" % (number, objects[number]))
    size = max(objects) + 1
    xref = out.tell()
    out.write(b"xref\n0 %d\n0000000000 65535 f \n" % size)
    for number in range(1, size):
        out.write(b"%010d 00000 n \n" % offsets[number] if number in offsets else b"0000000000 65535 f \n")
    out.write(b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (size, xref))
    return out.getvalue()


@pytest.fixture()
def sealed(ctx, make_tenant):
    tenant = make_tenant(name="Leadhunter B.V.")
    db.session.commit()
    tenancy.set_tenant(tenant.id)
    data = seal_pdf(tenant.id, html_to_pdf(HTML), reason="Voltooid")
    db.session.commit()
    tenancy.set_tenant(None)
    return data


@pytest.fixture()
def attack(sealed) -> bytes:
    cms = PdfFileReader(io.BytesIO(sealed)).embedded_signatures[-1].pkcs7_content
    data = many_signature_fields(FIELDS, cms.hex().encode())
    assert len(data) < 3 * 1024 * 1024
    return data


def upload(client, data: bytes, language: str = "en"):
    token = find_csrf_token(client.get("/verify").get_data(as_text=True))
    return client.post("/verify", data={"csrf_token": token, "document": (io.BytesIO(data), "vo.pdf")},
                       content_type="multipart/form-data", headers={"Accept-Language": language})


def test_thousands_of_signature_fields_are_refused_quickly_with_a_message(client, attack):
    started = time.monotonic()
    response = upload(client, attack)
    assert time.monotonic() - started < 10
    assert response.status_code == 422
    assert "This PDF has more than 10 signature fields" in response.get_data(as_text=True)
    dutch = upload(client, attack, language="nl")
    assert dutch.status_code == 422 and "Deze pdf heeft meer dan 10 handtekeningvelden" in dutch.get_data(as_text=True)


def test_the_in_process_check_has_the_same_limits(ctx, attack, sealed):
    with pytest.raises(Refused) as refused:
        verify_pdf(attack)
    assert refused.value.code == "too_many_signature_fields"
    with pytest.raises(Refused) as refused:
        verify_pdf(sealed, limits=VerifyLimits(max_objects=5))
    assert refused.value.code == "too_many_objects"
    assert verify_pdf(sealed).valid


def test_a_sealed_document_is_still_valid_through_the_separate_process(client, sealed):
    response = upload(client, sealed)
    assert response.status_code == 200
    assert "The seal is valid and covers the whole document" in response.get_data(as_text=True)


def test_too_many_objects_and_too_much_time_are_refused(client, app, attack, sealed, monkeypatch):
    monkeypatch.setitem(app.config, "SAAS_VERIFY_MAX_OBJECTS", 10)
    response = upload(client, sealed)
    assert response.status_code == 422 and "more than 10 objects" in response.get_data(as_text=True)
    monkeypatch.setitem(app.config, "SAAS_VERIFY_MAX_OBJECTS", 100_000)
    monkeypatch.setitem(app.config, "SAAS_VERIFY_MAX_SIGNATURE_FIELDS", 100_000)
    monkeypatch.setitem(app.config, "SAAS_VERIFY_SECONDS", 2)
    started = time.monotonic()
    response = upload(client, attack)
    assert response.status_code == 422
    assert "took longer than 2 seconds" in response.get_data(as_text=True)
    assert time.monotonic() - started < 2 + 10 + 5   # the limit, the child's start-up allowance, slack


def test_when_every_slot_is_taken_the_answer_is_busy_at_once(client, app, sealed, monkeypatch):
    monkeypatch.setitem(app.config, "SAAS_VERIFY_SLOTS", 1)
    folder = Path(app.instance_path) / "verify-slots"
    folder.mkdir(parents=True, exist_ok=True)
    with open(folder / "slot-0.lock", "a+b") as held:
        fcntl.flock(held, fcntl.LOCK_EX)
        response = upload(client, sealed)
        fcntl.flock(held, fcntl.LOCK_UN)
    assert response.status_code == 503 and int(response.headers["Retry-After"]) > 0
    assert "Try again in a minute" in response.get_data(as_text=True)
    assert upload(client, sealed).status_code == 200


def test_the_clis_use_the_same_limits(app, ctx, attack, tmp_path):
    path = tmp_path / "attack.pdf"
    path.write_bytes(attack)
    for group, args in ((agreements_group, ["verify", str(path)]), (seals, ["verify", str(path)])):
        started = time.monotonic()
        result = app.test_cli_runner().invoke(group, args)
        assert time.monotonic() - started < 10
        assert result.exit_code == 1
        assert "NOT CHECKED: the PDF has more than 10 signature fields" in result.output


# ---- under gunicorn, as in production ----------------------------------------------------------------

def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture()
def gunicorn(settings, app, tmp_path):
    """Two sync workers on the test databases, with the field limit lifted so the crafted files are really
    validated (limited only by time: 4 s) and one checking slot."""
    (tmp_path / "wsgi_limits.py").write_text(
        "from saas import create_app\n"
        "app = create_app()\n"
        "app.config.update(SAAS_VERIFY_MAX_SIGNATURE_FIELDS=100000, SAAS_VERIFY_SECONDS=4, SAAS_VERIFY_SLOTS=1,\n"
        "                  SAAS_VERIFY_RATE_LIMIT='1000 per minute')\n")
    env = {**os.environ, "SAAS_INSTANCE_PATH": str(settings.instance_path), "DATABASE_URL": settings.database_url,
           "DATABASE_OWNER_URL": settings.database_owner_url, "KEYS_DATABASE_URL": settings.keys_database_url,
           "KEYS_DATABASE_OWNER_URL": settings.keys_database_owner_url, "REDIS_URL": settings.redis_url,
           "SAAS_MASTER_KEY_FILE": settings.master_key_file, "SAAS_ENV": "development"}
    env.pop("SAAS_MASTER_KEY", None)
    port = _free_port()
    gunicorn_bin = str(Path(sys.executable).parent / "gunicorn")
    log = (tmp_path / "gunicorn.log").open("wb")
    process = subprocess.Popen([gunicorn_bin, "--workers", "2", "--worker-class", "sync", "--timeout", "120",
                                "--bind", f"127.0.0.1:{port}", "--chdir", str(tmp_path), "wsgi_limits:app"],
                               env=env, stdout=subprocess.DEVNULL, stderr=log)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                if requests.get(base + "/login", timeout=15).status_code == 200:
                    break
            except requests.RequestException:
                pass
            assert time.monotonic() < deadline, (tmp_path / "gunicorn.log").read_text()[-3000:]
            time.sleep(0.3)
        yield base
    finally:
        process.terminate()
        try:
            process.wait(30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(30)
        log.close()


def test_login_stays_responsive_while_crafted_files_are_checked(gunicorn, attack):
    session = requests.Session()
    token = find_csrf_token(session.get(gunicorn + "/verify", timeout=10).text)
    answers: list[int] = []

    def check():
        response = session.post(gunicorn + "/verify", data={"csrf_token": token},
                                files={"document": ("vo.pdf", attack, "application/pdf")}, timeout=120)
        answers.append(response.status_code)

    threads = [threading.Thread(target=check) for _ in range(4)]
    for thread in threads:
        thread.start()
        time.sleep(0.2)
    login_times = []
    for _ in range(3):
        started = time.monotonic()
        assert requests.get(gunicorn + "/login", timeout=30).status_code == 200
        login_times.append(time.monotonic() - started)
        time.sleep(0.5)
    for thread in threads:
        thread.join(120)
    assert max(login_times) < 3, login_times
    # one file was checked (and stopped at its time limit), the others were told to come back
    assert sorted(answers) == [422, 503, 503, 503], answers
