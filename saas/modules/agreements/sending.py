"""Sending an agreement and closing it unsigned: the request to send, rendering and freezing the document
and inviting the signers (the "send" job), reminders, expiry and revoking."""
from __future__ import annotations

import uuid
from datetime import timedelta

import sqlalchemy as sa
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from saas.core import clock
from saas.core.errors import DomainError
from saas.extensions import db
from saas.modules.agreements import common, labels, lifecycle, merge_fields, queries, queueing, rendering
from saas.modules.agreements.models import Agreement, AgreementTemplate
from saas.modules.audit import operations as audit

DEFAULT_VALID_DAYS = 30
MAX_VALID_DAYS = 90


def request_send(agreement: Agreement, valid_days: int = DEFAULT_VALID_DAYS) -> None:
    """Ask the "agreements" queue to render the PDF, freeze it and invite the signers."""
    if agreement.status != "draft":
        raise DomainError(_("Only a draft can be sent."))
    if not 1 <= valid_days <= MAX_VALID_DAYS:
        raise DomainError(_("The link can be valid for 1 to %(limit)s days.", limit=MAX_VALID_DAYS),
                          errors={"valid_days": _("1 to %(limit)s days.", limit=MAX_VALID_DAYS)})
    template = db.session.get(AgreementTemplate, agreement.template_id)
    if template.status == "draft":
        raise DomainError(_("The template of this agreement is not published."))
    audit.record("agreement.send_request", "agreement", agreement.id, detail={"valid_days": valid_days})
    queueing.after_commit("send", agreement, valid_days=valid_days)


def document_context(agreement: Agreement) -> tuple[AgreementTemplate, dict]:
    """What the template prints for this agreement (plain values only: see rendering.py), dated today."""
    tenant = common.current_tenant()
    template = db.session.get(AgreementTemplate, agreement.template_id)
    assignment = queries.assignment_of(agreement)
    context = {
        **rendering.parties(agreement.tenant_role,
                            {"name": tenant.name, "address": (tenant.contact or {}).get("address")},
                            {"name": agreement.counterparty_name, "kvk": agreement.counterparty_kvk}),
        "agreement": {"number": agreement.number, "version": agreement.version, "language": template.language,
                      "date": rendering.long_date(clock.today(), template.language)},
        "fields": {**{f.name: "" for f in merge_fields.MERGE_FIELDS}, **merge_fields.defaults(),
                   **(agreement.fields or {})},
        "sub_processors": [{"name": s.name, "country": s.country, "purpose": s.purpose}
                           for s in queries.sub_processors_of(agreement) if queries.in_annex(s)],
        "clauses": queries.tenant_clauses(tenant, template.language),
        "assignment": {"title": assignment.title} if assignment is not None else None,
    }
    return template, context


def agreement_html(agreement: Agreement) -> str:
    template, context = document_context(agreement)
    return rendering.document_html(template.body, context, template.title)


def render_document(agreement: Agreement) -> None:
    """Render the exact PDF the parties will sign and store it (and its HTML) encrypted, with its SHA-256.
    A rendered document is never rendered again."""
    from saas.modules.files import operations as files
    from saas.modules.seals import operations as seals
    from saas.modules.seals import pdf

    if agreement.document_file_id is not None:
        return
    html = agreement_html(agreement)
    document = pdf.html_to_pdf(html)
    html_file = files.save(html.encode(), "text/html", "agreement-html", filename=f"{agreement.number}.html")
    pdf_file = files.save(document, "application/pdf", "agreement-document", filename=f"{agreement.number}.pdf")
    agreement.document_html_file_id, agreement.document_file_id = html_file.id, pdf_file.id
    agreement.document_sha256 = seals.sha256_hex(document)


def send(agreement: Agreement, valid_days: int) -> bool:
    """Render, freeze and invite (the "send" job). False when the agreement is no longer a draft."""
    from saas.modules.signing import operations as signing

    if not common.claim(agreement, Agreement.status == "draft"):
        return False
    render_document(agreement)
    now = clock.now()
    agreement.sent_at, agreement.expires_at = now, now + timedelta(days=valid_days)
    lifecycle.move(agreement, "sent", detail={"expires_at": agreement.expires_at.isoformat()})
    for signer in queries.counterparty_signers(agreement):
        signing.invite(signer)
    audit.record("agreement.send", "agreement", agreement.id, detail={"sha256": agreement.document_sha256})
    return True


def revoke(agreement: Agreement, reason: str, user_id: uuid.UUID | None) -> None:
    """Withdraw an agreement that is not completed: its links stop working."""
    from saas.modules.signing import operations as signing

    text = common.reason_text(reason)
    if not lifecycle.can_move(agreement, "revoked"):
        raise DomainError(_("This agreement cannot be revoked: it is %(status)s.",
                        status=labels.status_label(agreement.status).lower()))
    agreement.closed_reason = text
    lifecycle.move(agreement, "revoked", detail={"reason": text, "by": str(user_id) if user_id else None})
    signing.revoke_tokens(agreement)
    audit.record("agreement.revoke", "agreement", agreement.id)


def expire(agreement: Agreement) -> bool:
    """An agreement whose signing period passed unsigned (the "expiry" job); tells our countersigner."""
    from saas.modules.signing import operations as signing

    if not common.claim(agreement, Agreement.status.in_(lifecycle.OPEN_FOR_SIGNING), Agreement.expires_at <= clock.now()):
        return False
    lifecycle.move(agreement, "expired")
    signing.revoke_tokens(agreement)
    common.mail_countersigner(agreement, "agreement_expired", _l("Processor agreement %(number)s expired unsigned"),
                        "agreements/mail/expired.txt")
    audit.record("agreement.expire", "agreement", agreement.id)
    return True


def remind(agreement: Agreement) -> int:
    """Mail the signers who have not signed a fresh link (the "reminders" job); returns how many."""
    from saas.modules.signing import operations as signing

    now = clock.now()
    threshold = now - timedelta(days=agreement.reminder_days)
    if not common.claim(agreement, Agreement.status.in_(lifecycle.OPEN_FOR_SIGNING), Agreement.expires_at > now,
                 sa.or_(sa.and_(Agreement.last_reminder_at.is_(None), Agreement.sent_at <= threshold),
                        Agreement.last_reminder_at <= threshold),
                 last_reminder_at=now):
        return 0
    sent = 0
    for signer in queries.counterparty_signers(agreement):
        if signer.status in ("invited", "viewed"):
            signing.remind(signer)
            sent += 1
    return sent
