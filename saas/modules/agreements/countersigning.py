"""Countersigning and after: our side signs what the other party signed, the final PDF is sealed (the
"seal" job) and mailed to every signer (the "distribute" job). Also the signature page and the trail
printed in the sealed PDF."""
from __future__ import annotations

from flask_babel import force_locale
from flask_babel import gettext as _

from saas.core import clock
from saas.core.errors import DomainError
from saas.extensions import db
from saas.modules.agreements import common, drafting, labels, lifecycle, queries, queueing, rendering
from saas.modules.agreements.events import record_event
from saas.modules.agreements.models import Agreement, AgreementTemplate
from saas.modules.audit import operations as audit
from saas.modules.outbox import operations as outbox
from saas.modules.tenants.models import Tenant


def countersign(agreement: Agreement, user, function: str, authority_confirmed: bool, sha256_seen: str) -> None:
    """Our side signs the document the other party signed (the same SHA-256), then it gets sealed."""
    signer = queries.tenant_signer(agreement)
    if agreement.status != "signed":
        raise DomainError(_("Only an agreement signed by the other party can be countersigned."))
    if signer is None or signer.user_id != user.id:
        raise DomainError(_("Only the countersigner named in this agreement can countersign it."))
    if (sha256_seen or "").strip().lower() != agreement.document_sha256:
        raise DomainError(_("The document changed since you opened this page: look at it again."))
    function = " ".join((function or "").split())
    errors = {}
    if not function or len(function) > common.NAME_MAX:
        errors["function"] = _("Enter your function.")
    if authority_confirmed is not True:
        errors["authority"] = _("Confirm that you may sign for your organisation.")
    if errors:
        raise DomainError(_("Please correct the marked fields."), errors=errors)
    if not common.claim(agreement, Agreement.status == "signed"):
        raise DomainError(_("This agreement changed meanwhile; nothing was signed."))
    now = clock.now()
    signer.name, signer.function = user.display_name, function
    signer.status, signer.signed_at, signer.authority_confirmed = "signed", now, True
    lifecycle.move(agreement, "countersigned", signer=signer, detail={"authority_confirmed": True})
    audit.record("agreement.countersign", "agreement", agreement.id, detail={"signer_id": str(signer.id)})
    queueing.after_commit("seal", agreement)


def signature_page(agreement: Agreement, tenant: Tenant, title: str) -> dict:
    """What the signature page prints: the parties in their roles, who signed for each and when."""
    signers = []
    for signer in queries.signers_of(agreement):
        ours = signer.side == "tenant"
        theirs = "controller" if agreement.tenant_role == "processor" else "processor"
        role = agreement.tenant_role if ours else theirs
        signers.append({
            "role": role, "side_label": str(labels.ROLE_LABELS[role]),
            "party": tenant.name if ours else agreement.counterparty_name,
            "name": signer.name or "", "function": signer.function or "",
            "signed_at_utc": common.utc_text(signer.signed_at), "signed_at_local": common.local_text(signer.signed_at),
            "authority_confirmed": signer.authority_confirmed,
            "method": _("Logged-in administrator of the organisation") if ours
            else _("Invitation link, one-time code by email, typed name"),
        })
    signers.sort(key=lambda s: s["role"])   # controller first
    return {"title": f"{title} {agreement.number}", "number": agreement.number, "version": agreement.version,
            "document_sha256": agreement.document_sha256, "tenant": tenant.name, "signers": signers}


def trail(agreement: Agreement) -> list[dict]:
    """The agreement's events as printed in the sealed PDF and shown in the portal: who acted is named
    with the party they act for (both parties read the PDF)."""
    parties = {"tenant": common.current_tenant().name, "counterparty": agreement.counterparty_name}
    signers = {s.id: s for s in queries.signers_of(agreement)}
    rows = []
    for event in queries.events_of(agreement):
        signer = signers.get(event.signer_id)
        if signer is not None:
            by = f"{signer.name or ''} ({parties[signer.side]})".strip()
        else:
            by = parties["tenant"] if event.actor_user_id else _("Platform")
        rows.append({
            "kind": event.kind, "label": labels.event_label(event.kind, signer is not None),
            "at_utc": common.utc_text(event.at), "at_local": common.local_text(event.at), "by": by,
            "ip": event.ip, "user_agent": event.user_agent, "document_sha256": event.document_sha256,
            "note": (event.detail or {}).get("reason"),
        })
    return rows


def seal(agreement: Agreement) -> bool:
    """The final PDF (the signed document, a signature page, the audit trail; the signed PDF attached)
    sealed with the tenant's seal; the agreement is then completed (the "seal" job). A sealed agreement
    is never sealed again."""
    from saas.modules.files import operations as files
    from saas.modules.files import queries as stored_files
    from saas.modules.seals import operations as seals
    from saas.modules.seals import pdf

    if not common.claim(agreement, Agreement.status == "countersigned", Agreement.sealed_file_id.is_(None)):
        return False
    tenant = common.current_tenant()
    template = db.session.get(AgreementTemplate, agreement.template_id)
    signed_pdf = stored_files.read(stored_files.get(agreement.document_file_id))
    if seals.sha256_hex(signed_pdf) != agreement.document_sha256:
        raise RuntimeError(f"agreement {agreement.id}: the stored document does not match its SHA-256")
    html = stored_files.read(stored_files.get(agreement.document_html_file_id)).decode()
    with force_locale(template.language):
        page = signature_page(agreement, tenant, template.title)
        events = trail(agreement)
        final_html = rendering.sealed_html(html, page, events, template.language)
        reason = _("Processor agreement %(number)s signed by all parties", number=agreement.number)
    final = pdf.html_to_pdf(final_html, attachments=[
        pdf.PdfAttachment(f"{agreement.number}-signed.pdf", signed_pdf,
                          f"SHA-256 {agreement.document_sha256}", relationship="Source")])
    sealed = seals.seal_pdf(tenant.id, final, reason=reason, location=(tenant.contact or {}).get("address", ""))
    stored = files.save(sealed, "application/pdf", "agreement-sealed", filename=f"{agreement.number}-sealed.pdf")
    agreement.sealed_file_id, agreement.sealed_sha256 = stored.id, seals.sha256_hex(sealed)
    agreement.completed_at = clock.now()
    lifecycle.move(agreement, "completed", event="sealed")
    drafting.finish_supersession(agreement)
    audit.record("agreement.seal", "agreement", agreement.id, detail={"sha256": agreement.sealed_sha256})
    queueing.after_commit("distribute", agreement)
    return True


def distribute(agreement: Agreement) -> int:
    """Mail the sealed PDF to every signer of both sides, once (the "distribute" job)."""
    if not common.claim(agreement, Agreement.status.in_(("completed", "superseded")), Agreement.sealed_file_id.is_not(None),
                 Agreement.distributed_at.is_(None), distributed_at=clock.now()):
        return 0
    template = db.session.get(AgreementTemplate, agreement.template_id)
    sent = 0
    for signer in queries.signers_of(agreement):
        if not signer.email:
            continue
        with force_locale(template.language):
            body = rendering.render_platform("agreements/mail/sealed.txt", agreement=agreement, signer=signer,
                                             tenant=common.current_tenant())
            subject = _("Signed processor agreement %(number)s", number=agreement.number)
        outbox.queue_mail(signer.email, subject, body, template="agreement_sealed",
                          attachments=[(agreement.sealed_file_id, f"{agreement.number}.pdf")])
        sent += 1
    record_event(agreement, "distributed", detail={"mails": sent})
    audit.record("agreement.distribute", "agreement", agreement.id, detail={"mails": sent})
    return sent
