"""Helpers for the signing tests: an agreement ready to sign, built with the real models, files module
and `signing.operations.invite`, and the signer's steps through the public pages.

    made = create_agreement(tenant.id, signers=2)      # status "sent", invitations queued
    verify(client, made.tokens[0], tenant.id)          # landing page, code mailed, code entered
"""
from __future__ import annotations

import copy
import http.cookiejar
import re
import urllib.error
import urllib.parse
import urllib.request
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timedelta

import sqlalchemy as sa

from saas.core import clock, tenancy
from saas.extensions import db
from saas.modules.agreements import lifecycle
from saas.modules.agreements.models import Agreement, AgreementTemplate, Signer, SigningEvent
from saas.modules.files import operations as files
from saas.modules.outbox.models import OutboxMail
from saas.modules.signing import operations
from saas.modules.signing.models import OneTimeCode
from saas.testing.fixtures_web import find_csrf_token

# A small but well-formed one-page PDF (what the signer sees; the seal tests use real rendered ones).
PDF = (
    b"%PDF-1.4\n1 0 obj<</Type/Catalog/Pages 2 0 R>>endobj\n"
    b"2 0 obj<</Type/Pages/Kids[3 0 R]/Count 1>>endobj\n"
    b"3 0 obj<</Type/Page/Parent 2 0 R/MediaBox[0 0 595 842]>>endobj\n"
    b"trailer<</Root 1 0 R>>\n%%EOF\n"
)
_CODE = re.compile(r"^\s+(\d{6})\s*$", re.MULTILINE)


@dataclass
class Made:
    tenant_id: int
    agreement_id: uuid.UUID
    number: str
    sha256: str
    signer_ids: list[uuid.UUID]
    emails: list[str]
    tokens: list[str] = field(default_factory=list)


def create_agreement(tenant_id: int, *, signers: int = 1, expires_at: datetime | None = None,
                     pdf: bytes = PDF, counterparty: str = "Bakkerij Jansen B.V.") -> Made:
    """An agreement of `tenant_id` with its document stored, moved to "sent", every counterparty signer
    invited; committed. The test's tenant context is None afterwards."""
    db.session.commit()
    tenancy.set_tenant(tenant_id)
    template = AgreementTemplate(key=f"vo-{uuid.uuid4().hex[:12]}", language="nl", version=1,
                                 title="Verwerkersovereenkomst", body="{{ counterparty }}", status="published",
                                 published_at=clock.now())
    db.session.add(template)
    stored = files.save(pdf, "application/pdf", "agreement")
    agreement = Agreement(number=f"VO-{uuid.uuid4().hex[:8].upper()}", template_id=template.id, tenant_role="processor",
                          counterparty_name=counterparty, fields={}, status="draft",
                          expires_at=expires_at or clock.now() + timedelta(days=14),
                          document_file_id=stored.id, document_sha256=stored.sha256)
    db.session.add(agreement)
    emails = [f"tekenaar{i}-{uuid.uuid4().hex[:6]}@bakkerij.example" for i in range(signers)]
    rows = []
    for i, email in enumerate(emails):
        signer = Signer(agreement_id=agreement.id, side="counterparty", status="invited")
        signer.email, signer.name = email, f"Tekenaar {i}"
        rows.append(signer)
    db.session.add_all(rows)
    db.session.flush()
    lifecycle.move(agreement, "sent")
    tokens = [operations.invite(signer) for signer in rows]
    made = Made(tenant_id, agreement.id, agreement.number, agreement.document_sha256, [s.id for s in rows], emails,
                tokens)
    db.session.commit()
    tenancy.set_tenant(None)
    return made


def in_tenant(tenant_id: int):
    """Start a fresh transaction as this tenant and forget what the session held."""
    db.session.commit()
    tenancy.set_tenant(tenant_id)
    db.session.expire_all()


def agreement_of(made: Made) -> Agreement:
    in_tenant(made.tenant_id)
    return db.session.get(Agreement, made.agreement_id)


def signer_of(made: Made, index: int = 0) -> Signer:
    in_tenant(made.tenant_id)
    return db.session.get(Signer, made.signer_ids[index])


def events_of(made: Made) -> list[tuple[str, uuid.UUID | None]]:
    in_tenant(made.tenant_id)
    rows = db.session.scalars(sa.select(SigningEvent).where(SigningEvent.agreement_id == made.agreement_id)
                              .order_by(SigningEvent.at))
    return [(e.kind, e.signer_id) for e in rows]


def event_rows(made: Made, kind: str) -> list[SigningEvent]:
    in_tenant(made.tenant_id)
    return list(db.session.scalars(sa.select(SigningEvent).where(SigningEvent.agreement_id == made.agreement_id,
                                                                 SigningEvent.kind == kind)))


def mailed_code(made: Made, index: int = 0) -> str:
    """The digits in the newest code mail of a signer, read from the (encrypted) outbox."""
    in_tenant(made.tenant_id)
    code = db.session.scalar(sa.select(OneTimeCode).where(OneTimeCode.signer_id == made.signer_ids[index])
                             .order_by(OneTimeCode.created_at.desc(), OneTimeCode.expires_at.desc()).limit(1))
    mail = db.session.get(OutboxMail, code.mail_id)
    found = _CODE.search(mail.body)
    assert found, "no code in the code mail"
    value = found.group(1)
    tenancy.set_tenant(None)
    return value


def request_code(client, token: str):
    page = client.get(f"/sign/{token}")
    assert page.status_code == 200, page.status_code
    return client.post(f"/sign/{token}/code/send", data={"csrf_token": find_csrf_token(page.get_data(as_text=True))})


def enter_code(client, token: str, code: str):
    page = client.get(f"/sign/{token}/code")
    return client.post(f"/sign/{token}/code", data={"code": code,
                                                    "csrf_token": find_csrf_token(page.get_data(as_text=True))})


def verify(client, made: Made, index: int = 0):
    """Open the link, have a code mailed, enter it: the browser may now see the document."""
    token = made.tokens[index]
    assert request_code(client, token).status_code == 302
    response = enter_code(client, token, mailed_code(made, index))
    assert response.status_code == 302, response.status_code
    assert response.headers["Location"].endswith(f"/sign/{token}/review")
    return response


def sign_form(client, token: str, **overrides) -> dict:
    page = client.get(f"/sign/{token}/review")
    assert page.status_code == 200, page.status_code
    html = page.get_data(as_text=True)
    sha = re.search(r'name="document_sha256" type="hidden" value="([0-9a-f]{64})"', html)
    data = {"csrf_token": find_csrf_token(html), "name": "Petra Jansen", "function": "Directeur",
            "authority": "y", "document_sha256": sha.group(1) if sha else ""}
    data.update(overrides)
    return data


def sign(client, token: str, **overrides):
    return client.post(f"/sign/{token}/sign", data=sign_form(client, token, **overrides))


class _Reply:
    def __init__(self, status: int, headers, body: bytes):
        self.status_code, self.headers, self.content = status, headers, body
        self.text = body.decode("utf-8", "replace")


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None


class Browser:
    """A cookie-keeping HTTP client (standard library) that does not follow redirects."""

    def __init__(self, jar: http.cookiejar.CookieJar | None = None):
        self.jar = jar or http.cookiejar.CookieJar()
        self.opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(self.jar), _NoRedirect())

    def request(self, method: str, url: str, data: dict | None = None) -> _Reply:
        body = urllib.parse.urlencode(data).encode() if data is not None else None
        try:
            with self.opener.open(urllib.request.Request(url, data=body, method=method), timeout=60) as response:
                return _Reply(response.status, response.headers, response.read())
        except urllib.error.HTTPError as error:
            return _Reply(error.code, error.headers, error.read())

    def get(self, url: str) -> _Reply:
        return self.request("GET", url)

    def post(self, url: str, data: dict) -> _Reply:
        return self.request("POST", url, data)

    def copy(self) -> "Browser":
        jar = http.cookiejar.CookieJar()
        for cookie in self.jar:
            jar.set_cookie(copy.copy(cookie))
        return Browser(jar)


class LiveSigner:
    """A signer's browser against the live server (real HTTP, its own cookies)."""

    def __init__(self, base_url: str, made: Made, index: int = 0, browser: Browser | None = None):
        self.base, self.made, self.index = base_url, made, index
        self.token = made.tokens[index]
        self.http = browser or Browser()

    def url(self, path: str = "") -> str:
        return f"{self.base}/sign/{self.token}{path}"

    def csrf(self, path: str = "") -> str:
        response = self.http.get(self.url(path))
        assert response.status_code == 200, (path, response.status_code)
        return find_csrf_token(response.text)

    def verify(self) -> None:
        sent = self.http.post(self.url("/code/send"), {"csrf_token": self.csrf()})
        assert sent.status_code == 302, sent.status_code
        code = mailed_code(self.made, self.index)
        entered = self.http.post(self.url("/code"), {"csrf_token": self.csrf("/code"), "code": code})
        assert entered.status_code == 302 and entered.headers["Location"].endswith("/review"), entered.status_code

    def sign_data(self, **overrides) -> dict:
        response = self.http.get(self.url("/review"))
        assert response.status_code == 200, response.status_code
        sha = re.search(r'name="document_sha256" type="hidden" value="([0-9a-f]{64})"', response.text).group(1)
        data = {"csrf_token": find_csrf_token(response.text), "name": f"Tekenaar {self.index}",
                "function": "Directeur", "authority": "y", "document_sha256": sha}
        data.update(overrides)
        return data

    def post(self, path: str, data: dict) -> _Reply:
        return self.http.post(self.url(path), data)

    def second_tab(self) -> "LiveSigner":
        """Another tab of the same browser: the same cookies, its own connection."""
        return LiveSigner(self.base, self.made, self.index, self.http.copy())
