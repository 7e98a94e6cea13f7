"""One-time codes: five tries, ten minutes, a new code at most once a minute and ten a day, keyed hashes."""
from __future__ import annotations

import hashlib
import re
from datetime import timedelta

import sqlalchemy as sa

from saas.core import clock, tenancy
from saas.extensions import db
from saas.modules.outbox.models import OutboxMail
from saas.modules.signing import operations, queries
from saas.modules.signing.models import OneTimeCode
from saas.testing.signing import create_agreement, enter_code, events_of, in_tenant, mailed_code, request_code


def _wrong(code: str) -> str:
    return f"{(int(code) + 1) % 10 ** 6:06d}"


def _newest_code(made) -> OneTimeCode:
    in_tenant(made.tenant_id)
    return db.session.scalar(sa.select(OneTimeCode).order_by(OneTimeCode.created_at.desc()).limit(1))


def test_the_code_mail_goes_to_the_invited_address_only(ctx, make_tenant, client):
    made = create_agreement(make_tenant(locale="en").id)
    response = request_code(client, made.tokens[0])
    assert response.status_code == 302 and response.headers["Location"].endswith("/code")
    in_tenant(made.tenant_id)
    [mail] = db.session.scalars(sa.select(OutboxMail).where(OutboxMail.template == "agreement_code"))
    assert mail.recipient == made.emails[0]
    assert mail.subject_line == f"Your code for processor agreement {made.number}"
    assert "valid for 10 minutes" in mail.body
    assert made.tokens[0] not in mail.body
    code = _newest_code(made)
    assert code.mail_id == mail.id
    assert "code_sent" in [kind for kind, _ in events_of(made)]


def test_the_stored_code_hash_is_keyed(ctx, make_tenant, client):
    """Six digits are a million guesses: a plain SHA-256 of them would fall to a dump of the table."""
    made = create_agreement(make_tenant().id)
    request_code(client, made.tokens[0])
    value = mailed_code(made)
    code = _newest_code(made)
    assert len(code.code_hash) == 32
    assert code.code_hash == operations.code_hash(code, value)
    for guess in (value, f"{code.id}|{value}", f"{code.id}{value}"):
        assert hashlib.sha256(guess.encode()).digest() != code.code_hash
    # Nor is it any unkeyed SHA-256 over the digits alone.
    plain = {hashlib.sha256(f"{n:06d}".encode()).digest() for n in range(10 ** 6)}
    assert code.code_hash not in plain


def test_five_wrong_codes_lock_it_and_a_new_code_is_needed(ctx, make_tenant, client):
    made = create_agreement(make_tenant(locale="en").id)
    token = made.tokens[0]
    request_code(client, token)
    right = mailed_code(made)
    for tries_left in (4, 3, 2, 1):
        response = enter_code(client, token, _wrong(right))
        assert response.status_code == 400
        assert f"{tries_left} tr{'y' if tries_left == 1 else 'ies'} left." in response.get_data(as_text=True)
    fifth = enter_code(client, token, _wrong(right))
    assert fifth.status_code == 400
    assert "Too many wrong codes. Request a new code." in fifth.get_data(as_text=True)
    # The right code no longer helps: the code is dead.
    locked = enter_code(client, token, right)
    assert locked.status_code == 400 and "Too many wrong codes" in locked.get_data(as_text=True)
    assert client.get(f"/sign/{token}/review").status_code == 302
    assert _newest_code(made).attempts == 5
    kinds = [kind for kind, _ in events_of(made)]
    assert kinds.count("code_failed") == 5 and "code_verified" not in kinds

    try:
        clock.set_now(clock.now() + operations.CODE_RESEND_AFTER)
        assert request_code(client, token).status_code == 302
        new = mailed_code(made)
        tenancy.set_tenant(None)
        response = enter_code(client, token, new)
        assert response.status_code == 302 and response.headers["Location"].endswith("/review")
    finally:
        clock.set_now(None)


def test_code_expiry_edges(ctx, make_tenant, new_client):
    made = create_agreement(make_tenant(locale="en").id)
    token = made.tokens[0]
    start = clock.now().replace(microsecond=0)
    outcomes = {}
    try:
        for label, offset in (("before", -1), ("at", 0), ("after", 1)):
            browser = new_client()
            clock.set_now(start)
            request_code(browser, token)
            code = mailed_code(made)
            expires_at = queries.aware(_newest_code(made).expires_at)
            assert expires_at == start + operations.CODE_TTL
            tenancy.set_tenant(None)
            clock.set_now(expires_at + timedelta(seconds=offset))
            response = enter_code(browser, token, code)
            outcomes[label] = (response.status_code, "This code has expired" in response.get_data(as_text=True))
            start += timedelta(minutes=20)   # past the resend interval for the next round
    finally:
        clock.set_now(None)
    assert outcomes == {"before": (302, False), "at": (400, True), "after": (400, True)}


def test_a_new_code_replaces_the_old_one(ctx, make_tenant, client):
    made = create_agreement(make_tenant(locale="en").id)
    token = made.tokens[0]
    start = clock.now()
    try:
        clock.set_now(start)
        request_code(client, token)
        old = mailed_code(made)
        clock.set_now(start + timedelta(seconds=61))
        request_code(client, token)
        new = mailed_code(made)
        tenancy.set_tenant(None)
        if old != new:
            assert enter_code(client, token, old).status_code == 400
        assert enter_code(client, token, new).status_code == 302
    finally:
        clock.set_now(None)


def test_resending_is_limited(ctx, make_tenant, client):
    made = create_agreement(make_tenant(locale="en").id)
    token = made.tokens[0]
    start = clock.now()
    try:
        clock.set_now(start)
        assert request_code(client, token).status_code == 302
        clock.set_now(start + timedelta(seconds=30))
        too_soon = request_code(client, token)
        assert too_soon.status_code == 302
        page = client.get(f"/sign/{token}/code").get_data(as_text=True)
        assert re.search(r"Wait 30 seconds before asking again", page), page
        in_tenant(made.tenant_id)
        assert db.session.scalar(sa.select(sa.func.count()).select_from(OneTimeCode)) == 1
        tenancy.set_tenant(None)
        # Ten codes a day at most (each a minute apart), then not before the day is over.
        for n in range(1, 10):
            clock.set_now(start + timedelta(minutes=n))
            assert request_code(client, token).status_code == 302
        clock.set_now(start + timedelta(minutes=11))
        request_code(client, token)
        assert "Too many codes were requested today" in client.get(f"/sign/{token}/code").get_data(as_text=True)
        in_tenant(made.tenant_id)
        assert db.session.scalar(sa.select(sa.func.count()).select_from(OneTimeCode)) == 10
        tenancy.set_tenant(None)
        clock.set_now(start + timedelta(days=1, seconds=1))
        assert request_code(client, token).status_code == 302
        in_tenant(made.tenant_id)
        assert db.session.scalar(sa.select(sa.func.count()).select_from(OneTimeCode)) == 11
    finally:
        clock.set_now(None)


def test_codes_typed_with_spaces_are_accepted_and_letters_count_as_a_try(ctx, make_tenant, client):
    made = create_agreement(make_tenant(locale="en").id)
    token = made.tokens[0]
    request_code(client, token)
    code = mailed_code(made)
    response = enter_code(client, token, "abcdef")
    assert response.status_code == 400 and "4 tries left." in response.get_data(as_text=True)
    assert enter_code(client, token, f" {code[:3]} {code[3:]} ").status_code == 302
    assert _newest_code(made).verified_at is not None


def test_a_code_of_one_signer_does_not_open_another_signers_link(ctx, make_tenant, client):
    made = create_agreement(make_tenant(locale="en").id, signers=2)
    request_code(client, made.tokens[0])
    first_signers_code = mailed_code(made, 0)
    tenancy.set_tenant(None)
    request_code(client, made.tokens[1])
    response = enter_code(client, made.tokens[1], first_signers_code)
    if first_signers_code != mailed_code(made, 1):
        assert response.status_code == 400
