"""Online signing through the public pages: link, code, document, sign or decline; events and mails."""
from __future__ import annotations

import hashlib

import sqlalchemy as sa

from saas.core import tenancy
from saas.extensions import db
from saas.modules.audit.models import AuditEntry
from saas.modules.outbox.models import OutboxMail
from saas.modules.signing import queries
from saas.modules.signing.models import SigningToken
from saas.testing.fixtures_web import find_csrf_token
from saas.testing.signing import (PDF, agreement_of, create_agreement, event_rows, events_of, in_tenant, sign,
                                   signer_of, verify)


def test_invitation_mail_has_a_link_whose_token_is_stored_only_hashed(ctx, make_tenant, settings):
    tenant = make_tenant(locale="en")
    made = create_agreement(tenant.id)
    token = made.tokens[0]

    in_tenant(tenant.id)
    mail = db.session.scalar(sa.select(OutboxMail).where(OutboxMail.template == "agreement_invitation"))
    assert mail.recipient == made.emails[0]
    assert mail.subject_line == f"Please sign processor agreement {made.number}"
    assert f"\n{settings.base_url}/sign/{token}\n" in mail.body   # sent outside a request: the public base URL
    assert "Bakkerij Jansen B.V." in mail.body
    row = db.session.scalar(sa.select(SigningToken))
    assert row.token_hash == hashlib.sha256(token.encode()).digest()
    assert queries.tenant_id_of(token) == tenant.id
    assert row.expires_at is not None
    # The token is in no column of any table, nor in the audit trail or the event trail.
    for table in ("signing_token", "audit_entry", "agreement_event", "agreement_signer", "agreement"):
        dump = repr(db.session.execute(sa.text(f"SELECT * FROM {table}")).all())
        assert token not in dump, table
    assert [kind for kind, _ in events_of(made)] == ["sent", "sent"]   # the agreement, then the signer's mail


def test_the_whole_flow_signs_and_records_every_step(ctx, make_tenant, client):
    tenant = make_tenant(locale="nl")
    made = create_agreement(tenant.id)
    token = made.tokens[0]

    landing = client.get(f"/sign/{token}", headers={"User-Agent": "Testbrowser/1.0"})
    assert landing.status_code == 200
    html = landing.get_data(as_text=True)
    assert made.number in html and "Bakkerij Jansen B.V." in html
    assert made.emails[0] not in html and made.emails[0][0] + "***@bakkerij.example" in html
    assert landing.headers["Cache-Control"] == "no-store"

    verify(client, made)
    review = client.get(f"/sign/{token}/review")
    assert review.status_code == 200
    assert made.sha256 in review.get_data(as_text=True)
    document = client.get(f"/sign/{token}/document.pdf")
    assert document.status_code == 200 and document.data == PDF
    assert document.headers["Content-Type"] == "application/pdf"
    assert document.headers["Content-Disposition"].startswith("inline;")
    assert "frame-ancestors 'self'" in document.headers["Content-Security-Policy"]
    assert "frame-ancestors 'none'" in review.headers["Content-Security-Policy"]   # the page itself stays strict
    assert agreement_of(made).status == "viewed"

    response = sign(client, token, name="Petra  Jansen ", function="Directeur")
    assert response.status_code == 302 and response.headers["Location"].endswith(f"/sign/{token}/done")
    done = client.get(f"/sign/{token}/done")
    assert done.status_code == 200 and made.sha256 in done.get_data(as_text=True)

    agreement = agreement_of(made)
    signer = signer_of(made)
    assert agreement.status == "signed"
    assert (signer.status, signer.name, signer.function) == ("signed", "Petra Jansen", "Directeur")
    assert signer.authority_confirmed is True
    assert signer.signed_at is not None
    kinds = [kind for kind, _ in events_of(made)]
    assert kinds == ["sent", "sent", "opened", "code_sent", "code_verified", "viewed", "signed", "all_signed"]
    for event in event_rows(made, "signed"):
        assert event.document_sha256 == made.sha256
        assert event.ip and event.ip.startswith("10.")
        assert event.user_agent
        assert event.at is not None
    in_tenant(tenant.id)
    actions = db.session.scalars(sa.select(AuditEntry.action).where(AuditEntry.object_id == str(signer.id))).all()
    assert actions == ["agreement.sign"]
    # The link is used up now: the landing page says so, and nothing more is written.
    assert client.get(f"/sign/{token}").status_code == 410
    assert len(events_of(made)) == len(kinds)


def test_decline_with_a_reason(ctx, make_tenant, client):
    tenant = make_tenant(locale="en")
    made = create_agreement(tenant.id)
    token = made.tokens[0]
    verify(client, made)
    page = client.get(f"/sign/{token}/review").get_data(as_text=True)
    csrf = find_csrf_token(page)

    empty = client.post(f"/sign/{token}/decline", data={"csrf_token": csrf, "reason": "  "})
    assert empty.status_code == 400
    assert agreement_of(made).status == "viewed"

    response = client.post(f"/sign/{token}/decline", data={"csrf_token": csrf, "reason": "Wij werken niet meer samen."})
    assert response.status_code == 302
    agreement = agreement_of(made)
    assert (agreement.status, agreement.closed_reason) == ("declined", "Wij werken niet meer samen.")
    assert signer_of(made).status == "declined"
    assert [k for k, _ in events_of(made)][-1] == "declined"
    assert "You declined the agreement" in client.get(f"/sign/{token}/done").get_data(as_text=True)
    assert client.get(f"/sign/{token}").status_code == 410


def test_pages_in_english_and_dutch(ctx, make_tenant, new_client):
    made_en = create_agreement(make_tenant(locale="en").id)
    made_nl = create_agreement(make_tenant(locale="nl").id)
    english, dutch = new_client(), new_client()
    assert "Send me a code" in english.get(f"/sign/{made_en.tokens[0]}").get_data(as_text=True)
    # The tenant's language is the default; the switch in the header changes it.
    page = dutch.get(f"/sign/{made_nl.tokens[0]}")
    assert '<html lang="nl">' in page.get_data(as_text=True)
    csrf = find_csrf_token(page.get_data(as_text=True))
    switched = dutch.post("/locale", data={"csrf_token": csrf, "locale": "en", "next": f"/sign/{made_nl.tokens[0]}"})
    assert switched.headers["Location"].endswith(f"/sign/{made_nl.tokens[0]}")
    assert '<html lang="en">' in dutch.get(f"/sign/{made_nl.tokens[0]}").get_data(as_text=True)


def test_two_signers_both_sign_before_the_agreement_is_signed(ctx, make_tenant, new_client):
    tenant = make_tenant()
    made = create_agreement(tenant.id, signers=2)
    first, second = new_client(), new_client()
    verify(first, made, 0)
    assert sign(first, made.tokens[0]).status_code == 302
    assert agreement_of(made).status == "viewed"
    # The first signer's verified browser does not open the second signer's link.
    assert first.get(f"/sign/{made.tokens[1]}/review").status_code == 302
    verify(second, made, 1)
    assert sign(second, made.tokens[1], name="Kees de Boer").status_code == 302
    assert agreement_of(made).status == "signed"
    kinds = [kind for kind, _ in events_of(made)]
    assert kinds.count("signed") == 2 and kinds.count("all_signed") == 1
    tenancy.set_tenant(None)
