"""Races against the live server (threads, real HTTP): two signers finishing at once, two tabs of one
signer, parallel code guesses. Exactly one transition, and the trail says what happened."""
from __future__ import annotations

import threading

import sqlalchemy as sa

from saas.extensions import db
from saas.modules.signing.models import OneTimeCode, SigningToken
from saas.testing.signing import LiveSigner, agreement_of, create_agreement, events_of, in_tenant, mailed_code


def _together(*calls):
    """Run the calls in threads released at the same moment; their results in order."""
    barrier = threading.Barrier(len(calls))
    results = [None] * len(calls)

    def run(i, call):
        barrier.wait()
        results[i] = call()

    threads = [threading.Thread(target=run, args=(i, call)) for i, call in enumerate(calls)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    return results


def test_two_signers_signing_at_once_make_exactly_one_transition(ctx, make_tenant, live_server):
    tenant = make_tenant()
    for _round in range(3):
        made = create_agreement(tenant.id, signers=2)
        first, second = LiveSigner(live_server, made, 0), LiveSigner(live_server, made, 1)
        first.verify()
        second.verify()
        forms = first.sign_data(), second.sign_data()
        responses = _together(lambda: first.post("/sign", forms[0]), lambda: second.post("/sign", forms[1]))
        assert [r.status_code for r in responses] == [302, 302]
        assert agreement_of(made).status == "signed"
        events = events_of(made)
        kinds = [kind for kind, _ in events]
        assert kinds.count("all_signed") == 1
        assert sorted(str(s) for kind, s in events if kind == "signed") == sorted(str(s) for s in made.signer_ids)
        # The transition comes after both signatures in the trail.
        assert kinds.index("all_signed") > max(i for i, kind in enumerate(kinds) if kind == "signed")


def test_two_tabs_of_one_signer_sign_once(ctx, make_tenant, live_server):
    made = create_agreement(make_tenant().id, signers=2)
    tab = LiveSigner(live_server, made, 0)
    tab.verify()
    other = tab.second_tab()
    forms = tab.sign_data(), other.sign_data(name="Iemand Anders")
    responses = _together(lambda: tab.post("/sign", forms[0]), lambda: other.post("/sign", forms[1]))
    assert sorted(r.status_code for r in responses) == [302, 410]
    kinds = [kind for kind, _ in events_of(made)]
    assert kinds.count("signed") == 1 and "all_signed" not in kinds
    in_tenant(made.tenant_id)
    used = db.session.scalars(sa.select(SigningToken.used_at).where(SigningToken.signer_id == made.signer_ids[0])).all()
    assert len(used) == 1 and used[0] is not None
    assert agreement_of(made).status == "viewed"


def test_parallel_code_guesses_get_five_tries_in_all(ctx, make_tenant, live_server):
    made = create_agreement(make_tenant().id)
    browser = LiveSigner(live_server, made)
    assert browser.http.post(browser.url("/code/send"), {"csrf_token": browser.csrf()}).status_code == 302
    right = mailed_code(made)
    wrong = f"{(int(right) + 1) % 10 ** 6:06d}"
    csrf = browser.csrf("/code")
    tabs = [browser.second_tab() for _ in range(8)]
    responses = _together(*[lambda tab=tab: tab.post("/code", {"csrf_token": csrf, "code": wrong}) for tab in tabs])
    assert all(r.status_code == 400 for r in responses)
    in_tenant(made.tenant_id)
    code = db.session.scalar(sa.select(OneTimeCode).where(OneTimeCode.signer_id == made.signer_ids[0]))
    assert code.attempts == 5
    assert [kind for kind, _ in events_of(made)].count("code_failed") == 5
    late = browser.post("/code", {"csrf_token": csrf, "code": right})
    assert late.status_code == 400 and "code_verified" not in [kind for kind, _ in events_of(made)]
