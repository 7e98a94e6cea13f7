"""End to end in a real browser (headless Debian Chromium) against a real HTTP server, real RQ workers and a
real SMTP server on loopback:

an admin creates and sends a processor agreement in the portal; the send job renders the PDF and the mail
job delivers the invitation over SMTP; the signer opens the link from that mail, has a code mailed, enters
it, sees the exact PDF and signs; the admin countersigns; the seal job seals the final PDF; the sealed PDF
downloaded from the portal validates with pyHanko against the platform CA, `pdfsig` reports a valid
signature over the total document, and a one-byte change or an appended update is reported invalid.
"""
from __future__ import annotations

import hashlib
import io
import re
import subprocess
import uuid
from concurrent.futures import ThreadPoolExecutor
from types import SimpleNamespace
from urllib.parse import urlsplit

import pytest

from saas.core import tenancy
from saas.extensions import db
from saas.modules.agreements.models import Agreement
from saas.testing.agreements import FIELDS  # the art. 28(3) merge fields the admin types in
from saas.testing.fixtures_jobs import wait_for

pytestmark = pytest.mark.browser

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
    "--disable-component-update", "--disable-sync", "--no-first-run",
]
PDFSIG = "/usr/bin/pdfsig"
SIGNER_EMAIL = "p.jansen@bakkerij-jansen.example"
SCREENSHOT = "/tmp/saas-signing-review.png"


@pytest.fixture()
def world(ctx, make_tenant, make_user):
    """A tenant (Dutch) with an admin who countersigns, the shipped templates published, empty queues."""
    from saas.jobs.queues import queue
    from saas.modules.agreements import template_versions

    for name in ("agreements", "mail"):
        queue(name).empty()
    tenant = make_tenant(name="Leadhunter Proef", plugins=["leadgen"])
    admin, password = make_user(role="admin", tenant=tenant, name="Anna de Vries")
    tenancy.set_tenant(tenant.id)
    templates = {t.language: t.id for t in template_versions.seed_default_templates(admin.id)}
    db.session.commit()
    tenancy.set_tenant(None)
    yield SimpleNamespace(app=ctx, tenant_id=tenant.id, slug=tenant.slug, name=tenant.name, email=admin.email,
                          password=password, templates=templates)
    for name in ("agreements", "mail"):
        queue(name).empty()


def _in_tenant(tenant_id):
    db.session.commit()
    tenancy.set_tenant(tenant_id)
    db.session.expire_all()


@pytest.fixture()
def browser():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


def _page(browser, problems: list):
    context = browser.new_context(locale="nl-NL", viewport={"width": 1280, "height": 900})
    page = context.new_page()
    page.set_default_timeout(20000)
    page.on("console", lambda msg: problems.append(msg.text) if msg.type == "error" else None)
    page.on("pageerror", lambda exc: problems.append(str(exc)))
    return page


def _mail_to(smtp_server, address: str, subject_part: str, seen: int = 0):
    """The first message to `address` whose subject holds `subject_part`, after the `seen` earlier ones."""
    def found():
        matching = [m for m in smtp_server.messages if m["To"] == address and subject_part in m["Subject"]]
        return matching[seen] if len(matching) > seen else None
    return wait_for(found, f"a mail to {address} about {subject_part}")


def _text(message) -> str:
    body = message.get_body(preferencelist=("plain",))
    return body.get_content()


def _pdfsig(path) -> str:
    result = subprocess.run([PDFSIG, str(path)], capture_output=True, text=True, timeout=60)
    return result.stdout + result.stderr


def _last_signature(report: str) -> str:
    return report.rsplit("Signature #", 1)[-1]


def test_create_send_sign_countersign_seal_and_verify(world, browser, live_server, smtp_server,
                                                     run_worker, worker_env, tmp_path):
    slug = world.slug
    # The workers deliver mail over SMTP to the loopback server and put this server's address in links.
    worker_env.update({"SMTP_URL": smtp_server.url, "SAAS_BASE_URL": live_server})
    work = lambda: run_worker(queues=["agreements", "mail"], timeout=180)  # noqa: E731
    problems: list[str] = []

    # --- the admin creates and sends the agreement --------------------------------------------------
    admin = _page(browser, problems)
    admin.goto(f"{live_server}/login")
    admin.fill('input[name="email"]', world.email)
    admin.fill('input[name="password"]', world.password)
    admin.locator('form[action="/login"] button[type="submit"]').click()
    admin.wait_for_url(f"{live_server}/{slug}/")
    admin.goto(f"{live_server}/{slug}/agreements/new")
    form = admin.locator("#agreement-form")
    form.locator('select[name="template_id"]').select_option(str(world.templates["nl"]))
    form.locator('select[name="tenant_role"]').select_option("processor")
    form.locator('input[name="counterparty_name"]').fill("Bakkerij Jansen B.V.")
    form.locator('input[name="counterparty_kvk"]').fill("87654321")
    form.locator('input[name="signer_name"]').fill("Petra Jansen")
    form.locator('input[name="signer_email"]').fill(SIGNER_EMAIL)
    form.locator('input[name="signer_function"]').fill("directeur")
    for name, value in FIELDS.items():
        control = form.locator(f'[name="{name}"]')
        if control.evaluate("e => e.tagName") == "SELECT":
            control.select_option(value)
        else:
            control.fill(value)
    admin.locator("#agreement-save").click()
    admin.wait_for_url(re.compile(rf"{live_server}/{slug}/agreements/[0-9a-f-]{{36}}$"))
    agreement_url = admin.url
    agreement_id = agreement_url.rsplit("/", 1)[1]
    admin.locator("#send-submit").click()
    admin.wait_for_url(agreement_url)

    work()   # the send job renders and freezes the PDF and invites; the mail job sends the invitation
    _in_tenant(world.tenant_id)
    agreement_uuid = uuid.UUID(agreement_id)
    agreement = db.session.get(Agreement, agreement_uuid)
    number, document_sha256 = agreement.number, agreement.document_sha256
    assert agreement.status == "sent"
    _in_tenant(None)

    # --- the signer: the link from the mail, a code by mail, the document, the signature -------------
    invitation = _mail_to(smtp_server, SIGNER_EMAIL, number)
    link = re.search(rf"{re.escape(live_server)}/sign/[A-Za-z0-9_-]{{48}}", _text(invitation)).group(0)
    signer = _page(browser, problems)
    signer.goto(link)
    signer.locator("#send-code-form button[type=submit]").click()
    signer.wait_for_url(f"{link}/code")
    work()   # the code mail
    code_mail = _mail_to(smtp_server, SIGNER_EMAIL, number, seen=1)
    code = re.search(r"^\s+(\d{6})\s*$", _text(code_mail), re.MULTILINE).group(1)
    signer.fill('#code-form input[name="code"]', code)
    signer.locator("#code-form button[type=submit]").click()
    signer.wait_for_url(f"{link}/review")

    assert signer.locator("#document-sha256").inner_text().strip() == document_sha256
    frame_src = signer.locator("#document-frame").get_attribute("src")
    assert frame_src == urlsplit(link).path + "/document.pdf"
    shown = signer.context.request.get(f"{live_server}{frame_src}")
    assert shown.status == 200 and shown.headers["content-type"] == "application/pdf"
    assert hashlib.sha256(shown.body()).hexdigest() == document_sha256
    # The browser's PDF viewer opened the document inside the page (the frame was not blocked by a policy).
    for _ in range(100):
        if any(frame.url.startswith("chrome-extension://") for frame in signer.frames):
            break
        signer.wait_for_timeout(100)
    assert any(frame.url.startswith("chrome-extension://") for frame in signer.frames), [f.url for f in signer.frames]
    signer.wait_for_timeout(1500)   # let the viewer paint, for the screenshot
    signer.screenshot(path=SCREENSHOT, full_page=True)

    sign_form = signer.locator("#sign-form")
    sign_form.locator('input[name="name"]').fill("Petra Jansen")
    sign_form.locator('input[name="function"]').fill("directeur")
    sign_form.locator('input[name="authority"]').check()
    sign_form.locator("button[type=submit]").click()
    signer.wait_for_url(f"{link}/done")
    assert signer.locator("#signing-done").get_attribute("data-status") == "signed"

    # --- the admin countersigns; the seal job seals, the sealed PDF is mailed ----------------------------
    admin.goto(agreement_url)
    admin.locator("#countersign-link").click()
    admin.locator('#countersign-form input[name="function"]').fill("bestuurder")
    admin.locator("#countersign-form #authority").check()
    admin.locator("#countersign-submit").click()
    admin.wait_for_url(agreement_url)
    work()   # seal, distribute, mail
    admin.goto(agreement_url)
    assert admin.locator("#agreement-status").get_attribute("data-status") == "completed"
    sealed_href = admin.locator("#download-sealed").get_attribute("href")
    sealed = admin.context.request.get(f"{live_server}{sealed_href}").body()
    sealed_path = tmp_path / f"{number}-sealed.pdf"
    sealed_path.write_bytes(sealed)

    # --- the sealed PDF checks out ----------------------------------------------------------------------
    _in_tenant(world.tenant_id)
    assert hashlib.sha256(sealed).hexdigest() == db.session.get(Agreement, agreement_uuid).sealed_sha256
    # pyHanko validates with asyncio.run: not in this thread, where Playwright's event loop is running.
    with ThreadPoolExecutor(1) as thread:
        thread.submit(_in_app, world, _check_with_pyhanko, sealed, world.name).result()
        thread.submit(_in_app, world, _check_tampering, sealed).result()
    _in_tenant(None)
    report = _pdfsig(sealed_path)
    last = _last_signature(report)
    assert "Signature is Valid." in last, report
    assert "Total document signed" in last, report
    # Everyone got the sealed PDF by mail, the same bytes.
    sealed_mail = _mail_to(smtp_server, SIGNER_EMAIL, number, seen=2)
    [attachment] = list(sealed_mail.iter_attachments())
    assert attachment.get_content() == sealed
    assert problems == [], problems
    tenancy.set_tenant(None)


def _in_app(world, check, *args):
    with world.app.app_context():
        tenancy.set_tenant(world.tenant_id)
        try:
            check(*args)
        finally:
            db.session.remove()
            tenancy.set_tenant(None)


def _check_with_pyhanko(sealed: bytes, tenant_name: str) -> None:
    """The platform CA as the only trust root; the seal covers the whole file and is intact and trusted.
    Also the seals module's own verify_pdf."""
    from pyhanko.pdf_utils.reader import PdfFileReader
    from pyhanko.sign.validation import validate_pdf_signature
    from pyhanko_certvalidator import ValidationContext
    from asn1crypto import pem, x509 as asn1_x509

    from saas.modules.seals import pki
    from saas.modules.seals.verify import verify_pdf

    _, _, der = pem.unarmor(pki.platform_ca_pem())
    context = ValidationContext(trust_roots=[asn1_x509.Certificate.load(der)])
    signatures = PdfFileReader(io.BytesIO(sealed)).embedded_signatures
    assert signatures
    status = validate_pdf_signature(signatures[-1], context)
    assert status.intact and status.valid and status.trusted, status.pretty_print_details()
    assert status.coverage.name == "ENTIRE_FILE"
    result = verify_pdf(sealed)
    assert result.valid, result
    assert result.covers_whole_document and result.tenant == tenant_name


def _check_tampering(sealed: bytes) -> None:
    """One byte changed inside the signed range, or content appended after sealing: invalid."""
    from saas.modules.seals.verify import verify_pdf

    middle = len(sealed) // 3
    flipped = sealed[:middle] + bytes([sealed[middle] ^ 0x01]) + sealed[middle + 1:]
    assert not verify_pdf(flipped).valid
    assert not verify_pdf(sealed + b"\n% appended after sealing\n").valid
