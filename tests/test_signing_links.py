"""Bad paths of signing links: forged, expired, revoked, reused links, a closed agreement, a changed
document, mail scanners, and tokens kept out of the logs."""
from __future__ import annotations

import base64
import logging
import secrets
import urllib.request
from datetime import timedelta

import pytest
import sqlalchemy as sa

from saas.core import clock, tenancy
from saas.core.errors import DomainError
from saas.extensions import db
from saas.modules.agreements import lifecycle
from saas.modules.audit.models import AuditEntry
from saas.modules.signing import operations, queries
from saas.modules.signing.models import SigningToken
from saas.testing.fixtures_jobs import wait_for
from saas.testing.fixtures_web import find_csrf_token
from saas.testing.signing import (agreement_of, create_agreement, events_of, in_tenant, request_code, sign,
                                   sign_form, signer_of, verify)


def _token_for_tenant(tenant_id: int) -> str:
    return base64.urlsafe_b64encode(secrets.token_bytes(32) + tenant_id.to_bytes(4, "big")).decode()


def _written(made) -> tuple[int, int, int]:
    """Counts that must not move when a page refuses: events, audit lines, tokens."""
    in_tenant(made.tenant_id)
    counts = tuple(db.session.scalar(sa.select(sa.func.count()).select_from(model))
                   for model in (SigningToken, AuditEntry))
    result = (len(events_of(made)), *counts)
    tenancy.set_tenant(None)
    return result


# Fixed ids: the random tokens would give each xdist worker a different test name.
@pytest.mark.parametrize("forged", ["kort", "x" * 48, "../../etc/passwd", "%00" * 16, _token_for_tenant(2 ** 32 - 1),
                                    _token_for_tenant(0)],
                         ids=["short", "48-chars", "path", "nul-bytes", "highest-tenant-id", "tenant-id-0"])
def test_malformed_links_answer_404(ctx, make_tenant, client, forged):
    made = create_agreement(make_tenant().id)
    before = _written(made)
    response = client.get(f"/sign/{forged}")
    assert response.status_code == (400 if "%00" in forged else 404)   # NUL bytes: refused before any route
    assert _written(made) == before


def test_a_forged_token_for_a_real_tenant_answers_404_and_writes_nothing(ctx, make_tenant, client):
    made = create_agreement(make_tenant().id)
    page = client.get(f"/sign/{made.tokens[0]}").get_data(as_text=True)
    csrf = find_csrf_token(page)
    before = _written(made)
    forged = _token_for_tenant(made.tenant_id)
    for path in ("", "/code", "/review", "/document.pdf", "/done"):
        assert client.get(f"/sign/{forged}{path}").status_code == 404, path
    for path in ("/code/send", "/code", "/sign", "/decline"):
        response = client.post(f"/sign/{forged}{path}", data={"csrf_token": csrf, "code": "123456"})
        assert response.status_code == 404, path
    body = client.get(f"/sign/{forged}").get_data(as_text=True)
    assert "This link is not valid" in body or "niet geldig" in body
    assert made.number not in body
    assert _written(made) == before


def test_a_token_with_another_tenants_id_finds_nothing(ctx, make_tenant, client):
    owner, other = make_tenant(name="Eigenaar BV"), make_tenant(name="Ander BV")
    made = create_agreement(owner.id)
    other_made = create_agreement(other.id, counterparty="Geheim Klant BV")
    raw = base64.urlsafe_b64decode(made.tokens[0])
    moved = base64.urlsafe_b64encode(raw[:32] + other.id.to_bytes(4, "big")).decode()
    response = client.get(f"/sign/{moved}")
    assert response.status_code == 404
    body = response.get_data(as_text=True)
    assert "Ander BV" not in body and "Geheim Klant BV" not in body and other_made.number not in body
    assert client.get(f"/sign/{made.tokens[0]}").status_code == 200


def test_expiry_edges_of_a_link(ctx, make_tenant, client):
    made = create_agreement(make_tenant().id)
    expires_at = queries.aware(agreement_of(made).expires_at)
    tenancy.set_tenant(None)
    token = made.tokens[0]
    try:
        clock.set_now(expires_at - timedelta(seconds=1))
        assert client.get(f"/sign/{token}").status_code == 200
        before = _written(made)
        clock.set_now(expires_at)
        expired = client.get(f"/sign/{token}")
        assert expired.status_code == 410
        assert "expired" in expired.get_data(as_text=True) or "verlopen" in expired.get_data(as_text=True)
        clock.set_now(expires_at + timedelta(seconds=1))
        assert client.get(f"/sign/{token}").status_code == 410
        assert _written(made) == before
    finally:
        clock.set_now(None)


def test_a_link_that_expires_between_code_and_signature_cannot_sign(ctx, make_tenant, client):
    made = create_agreement(make_tenant().id)
    token = made.tokens[0]
    verify(client, made)
    data = sign_form(client, token)
    expires_at = queries.aware(agreement_of(made).expires_at)
    tenancy.set_tenant(None)
    try:
        clock.set_now(expires_at)
        assert client.post(f"/sign/{token}/sign", data=data).status_code == 410
    finally:
        clock.set_now(None)
    assert signer_of(made).status == "viewed"
    assert "signed" not in [kind for kind, _ in events_of(made)]


def test_a_used_link_cannot_sign_again(ctx, make_tenant, new_client):
    made = create_agreement(make_tenant().id, signers=2)
    token = made.tokens[0]
    tab_one, tab_two = new_client(), new_client()
    verify(tab_one, made)
    try:
        clock.set_now(clock.now() + operations.CODE_RESEND_AFTER)
        verify(tab_two, made)     # the same signer in a second browser, with a code of its own
    finally:
        clock.set_now(None)
    second_form = sign_form(tab_two, token)
    assert sign(tab_one, token).status_code == 302
    before = _written(made)
    again = tab_two.post(f"/sign/{token}/sign", data=second_form)
    assert again.status_code == 410
    assert _written(made) == before
    assert tab_two.get(f"/sign/{token}").status_code == 410
    kinds = [kind for kind, _ in events_of(made)]
    assert kinds.count("signed") == 1


def test_a_revoked_link_and_a_fresh_reminder(ctx, make_tenant, client, new_client):
    made = create_agreement(make_tenant().id)
    in_tenant(made.tenant_id)
    fresh = operations.remind(signer_of(made))
    db.session.commit()
    assert client.get(f"/sign/{made.tokens[0]}").status_code == 200   # the older link still works
    assert new_client().get(f"/sign/{fresh}").status_code == 200

    in_tenant(made.tenant_id)
    assert operations.revoke_tokens(agreement_of(made)) == 2
    db.session.commit()
    before = _written(made)
    for token in (made.tokens[0], fresh):
        response = client.get(f"/sign/{token}")
        assert response.status_code == 410
        assert "withdrawn" in response.get_data(as_text=True) or "ingetrokken" in response.get_data(as_text=True)
    assert _written(made) == before


def test_signing_a_revoked_agreement_is_refused(ctx, make_tenant, client):
    made = create_agreement(make_tenant().id)
    token = made.tokens[0]
    verify(client, made)
    data = sign_form(client, token)
    agreement = agreement_of(made)
    lifecycle.move(agreement, "revoked")
    db.session.commit()
    before = _written(made)

    assert client.post(f"/sign/{token}/sign", data=data).status_code == 410
    assert client.get(f"/sign/{token}/review").status_code == 410
    assert client.get(f"/sign/{token}/document.pdf").status_code == 410
    assert _written(made) == before
    # The operation itself refuses too, whoever calls it.
    in_tenant(made.tenant_id)
    signer = signer_of(made)
    token_row = db.session.scalar(sa.select(SigningToken).where(SigningToken.signer_id == signer.id))
    with pytest.raises(DomainError) as refused:
        operations.sign(signer, "Petra Jansen", "Directeur", True, made.sha256, token=token_row)
    assert (refused.value.reason, refused.value.facts) == ("closed", {"state": "revoked"})
    db.session.rollback()
    assert signer_of(made).status == "viewed" and agreement_of(made).status == "revoked"


def test_a_document_hash_that_differs_from_the_one_shown_is_refused(ctx, make_tenant, client):
    made = create_agreement(make_tenant().id)
    token = made.tokens[0]
    verify(client, made)
    data = sign_form(client, token, document_sha256="0" * 64)
    before = _written(made)
    response = client.post(f"/sign/{token}/sign", data=data)
    assert response.status_code == 409
    assert "changed" in response.get_data(as_text=True) or "gewijzigd" in response.get_data(as_text=True)
    assert _written(made) == before
    assert signer_of(made).status == "viewed"
    # The sender replaced the document after the signer opened it: the hash the page showed is stale.
    data = sign_form(client, token)
    agreement = agreement_of(made)
    agreement.document_sha256 = "f" * 64
    db.session.commit()
    assert client.post(f"/sign/{token}/sign", data=data).status_code == 409
    assert client.get(f"/sign/{token}/document.pdf").status_code == 409   # never a document of another hash
    assert signer_of(made).status == "viewed"


def test_sign_needs_name_function_and_authority(ctx, make_tenant, client):
    made = create_agreement(make_tenant(locale="en").id)
    token = made.tokens[0]
    verify(client, made)
    for missing in ({"name": " "}, {"function": ""}, {"authority": ""}):
        data = sign_form(client, token, **missing)
        if missing.get("authority") == "":
            data.pop("authority")
        response = client.post(f"/sign/{token}/sign", data=data)
        assert response.status_code == 400, missing
    assert "I am authorised to sign on behalf of Bakkerij Jansen B.V." in response.get_data(as_text=True)
    assert signer_of(made).status == "viewed"


def test_a_mail_scanner_opening_the_link_twice_does_not_use_it(ctx, make_tenant, client, new_client):
    made = create_agreement(make_tenant().id)
    token = made.tokens[0]
    scanner = new_client()
    assert scanner.get(f"/sign/{token}").status_code == 200
    assert scanner.get(f"/sign/{token}").status_code == 200
    assert [k for k, _ in events_of(made)].count("opened") == 1
    verify(client, made)
    assert sign(client, token).status_code == 302
    assert agreement_of(made).status == "signed"


def test_document_and_forms_need_the_code_first(ctx, make_tenant, client):
    made = create_agreement(make_tenant().id)
    token = made.tokens[0]
    for path in ("/review", "/document.pdf", "/done"):
        response = client.get(f"/sign/{token}{path}")
        assert response.status_code == 302 and response.headers["Location"].endswith(f"/sign/{token}"), path
    request_code(client, token)
    csrf = find_csrf_token(client.get(f"/sign/{token}/code").get_data(as_text=True))
    unverified = client.post(f"/sign/{token}/sign", data={"csrf_token": csrf, "name": "X", "function": "Y",
                                                           "authority": "y", "document_sha256": made.sha256})
    assert unverified.status_code == 302
    assert signer_of(made).status == "invited"


def test_a_verified_session_expires(ctx, make_tenant, client):
    made = create_agreement(make_tenant().id)
    token = made.tokens[0]
    verify(client, made)
    try:
        clock.set_now(clock.now() + timedelta(minutes=30))
        assert client.get(f"/sign/{token}/review").status_code == 302
    finally:
        clock.set_now(None)


@pytest.fixture()
def werkzeug_log():
    """The migrations' logging.config.fileConfig disabled the loggers that existed then (this process
    only; the demo's web server is a process of its own): switch the request log back on."""
    logger = logging.getLogger("werkzeug")
    was = logger.disabled
    logger.disabled = False
    yield logger
    logger.disabled = was


def test_tokens_never_reach_the_request_log(ctx, make_tenant, live_server, caplog, werkzeug_log):
    made = create_agreement(make_tenant().id)
    token = made.tokens[0]
    with caplog.at_level(logging.INFO, logger="werkzeug"):
        with urllib.request.urlopen(f"{live_server}/sign/{token}") as response:
            assert response.status == 200
        # The server writes its log line after the response went out.
        wait_for(lambda: [r for r in caplog.records if r.name == "werkzeug" and "/sign/" in r.getMessage()],
                 "the request log line")
    lines = [r.getMessage() for r in caplog.records if r.name == "werkzeug"]
    assert any("GET /sign/[token] HTTP" in line for line in lines), lines
    assert token not in caplog.text


def test_posts_without_the_form_token_are_refused_before_anything_happens(ctx, make_tenant, client):
    made = create_agreement(make_tenant().id)
    before = _written(made)
    for path in ("/code/send", "/code", "/sign", "/decline"):
        response = client.post(f"/sign/{made.tokens[0]}{path}", data={"code": "123456", "reason": "nee"})
        assert response.status_code == 400, path
    assert _written(made) == before
