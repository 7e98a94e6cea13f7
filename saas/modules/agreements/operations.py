"""Writes of processor agreements and their templates. Callers commit; on `Refused` they roll back, so a
refused step leaves nothing written. Every status change goes through `lifecycle.move`, every write
leaves an audit line (ids only) and, for agreements, an event in the agreement's own trail.

Slow or outward steps (rendering the PDF and inviting, sealing, mailing the sealed PDF) run as jobs
(`jobs.py`), enqueued after the commit that asked for them.
"""
from __future__ import annotations

import hashlib
import re
import secrets
import uuid
from dataclasses import dataclass
from datetime import datetime, time, timedelta, timezone
from pathlib import Path

import sqlalchemy as sa
from flask_babel import force_locale
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from saas.core import clock
from saas.core.tenancy import require_tenant_id
from saas.core.web import external_url
from saas.extensions import db
from saas.modules.agreements import jobs, labels, lifecycle, merge_fields, queries, rendering
from saas.modules.agreements.events import record_event
from saas.modules.agreements.models import ROLES, Agreement, AgreementTemplate, Signer, SubProcessor
from saas.modules.assignments.models import Assignment
from saas.modules.audit import operations as audit
from saas.modules.outbox import operations as outbox
from saas.modules.tenants.models import Tenant

DEFAULT_KEY = "verwerkersovereenkomst"
DEFAULT_TITLES = {"nl": "Verwerkersovereenkomst", "en": "Data processing agreement"}
LANGUAGES = ("nl", "en")
TEXTS = Path(__file__).resolve().parent / "texts"
TITLE_MAX = 200
NAME_MAX = 200
REASON_MAX = 500
DEFAULT_VALID_DAYS = 30
MAX_VALID_DAYS = 90
MAX_REMINDER_DAYS = 30
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
_KVK = re.compile(r"^\d{8}$")
_COUNTRY = re.compile(r"^[A-Z]{2}$")


class Refused(ValueError):
    """A write that is not allowed or not valid; `errors` names the form fields at fault."""

    def __init__(self, message: str, errors: dict[str, str] | None = None):
        super().__init__(message)
        self.errors = errors or {}


class TemplateIncomplete(Refused):
    """Publishing refused: `result` lists the missing art. 28(3) elements and sector clauses."""

    def __init__(self, result: rendering.CheckResult):
        super().__init__(_("This template cannot be published. Missing: %(missing)s",
                           missing="; ".join(result.describe())))
        self.result = result


def current_tenant() -> Tenant:
    return db.session.get(Tenant, require_tenant_id())


# ---- templates ---------------------------------------------------------------------------------

def default_body(language: str) -> str:
    return (TEXTS / f"{DEFAULT_KEY}.{language}.html.j2").read_text(encoding="utf-8")


def seed_default_templates(user_id: uuid.UUID | None = None) -> list[AgreementTemplate]:
    """Install the shipped Dutch and English templates as published version 1, for each language the
    tenant has no template of yet (running it again changes nothing)."""
    created = []
    for language in LANGUAGES:
        if queries.template_versions(DEFAULT_KEY, language):
            continue
        template = AgreementTemplate(key=DEFAULT_KEY, language=language, version=1, title=DEFAULT_TITLES[language],
                                     body=default_body(language), status="draft")
        db.session.add(template)
        db.session.flush()
        publish_template(template, user_id)
        created.append(template)
    return created


def check_template(template: AgreementTemplate) -> rendering.CheckResult:
    clauses = queries.tenant_clauses(current_tenant(), template.language)
    return rendering.check_template(template.body, template.language, clauses)


def save_template(template: AgreementTemplate, title: str, body: str) -> None:
    if template.status != "draft":
        raise Refused(_("A published template never changes: make a new version to edit it."))
    title = " ".join((title or "").split())
    errors = {}
    if not title or len(title) > TITLE_MAX:
        errors["title"] = _("Enter a title of at most %(limit)s characters.", limit=TITLE_MAX)
    if not (body or "").strip() or len(body) > rendering.MAX_BODY:
        errors["body"] = _("Enter the text of at most %(limit)s characters.", limit=rendering.MAX_BODY)
    if errors:
        raise Refused(_("Please correct the marked fields."), errors)
    template.title, template.body = title, body
    audit.record("agreement_template.update", "agreement_template", template.id)


def new_template_version(template: AgreementTemplate) -> AgreementTemplate:
    """A draft copy to edit (the open draft of this key and language, if there already is one)."""
    existing = queries.open_draft(template.key, template.language)
    if existing is not None:
        return existing
    versions = queries.template_versions(template.key, template.language)
    draft = AgreementTemplate(key=template.key, language=template.language, version=versions[0].version + 1,
                              title=template.title, body=template.body, status="draft")
    db.session.add(draft)
    db.session.flush()
    audit.record("agreement_template.new_version", "agreement_template", draft.id,
                 detail={"from": str(template.id), "version": draft.version})
    return draft


def publish_template(template: AgreementTemplate, user_id: uuid.UUID | None) -> None:
    """Publish a draft if it covers every art. 28(3) element (else TemplateIncomplete, naming them);
    the version published before it of the same key and language is retired."""
    if template.status != "draft":
        raise Refused(_("Only a draft can be published."))
    result = check_template(template)
    if not result.ok:
        raise TemplateIncomplete(result)
    for other in queries.template_versions(template.key, template.language):
        if other.status == "published":
            other.status = "retired"
    template.status, template.published_at, template.published_by = "published", clock.now(), user_id
    audit.record("agreement_template.publish", "agreement_template", template.id,
                 detail={"version": template.version, "language": template.language})


# ---- creating and editing agreements -----------------------------------------------------------

@dataclass
class AgreementInput:
    """What the create/edit form (or a test) provides; `operations` checks all of it."""

    template_id: uuid.UUID | None
    tenant_role: str
    counterparty_name: str
    counterparty_kvk: str | None
    fields: dict
    signer_name: str
    signer_email: str
    signer_function: str | None
    countersigner_id: uuid.UUID | None
    assignment_id: uuid.UUID | None = None
    client_org_id: uuid.UUID | None = None
    reminder_days: int = 3
    sub_processors: str = ""        # the annex, one per line: "name | country | purpose"


def parse_sub_processors(text: str) -> tuple[list[tuple[str, str, str]], str | None]:
    """Lines "name | country | purpose" (country: two letters); returns the rows or an error."""
    rows = []
    for number, line in enumerate((text or "").splitlines(), start=1):
        if not line.strip():
            continue
        parts = [p.strip() for p in line.split("|")]
        if len(parts) != 3 or not parts[0] or not parts[2]:
            return [], _("Line %(n)s: write “name | country | purpose”.", n=number)
        name, country, purpose = parts[0], parts[1].upper(), parts[2]
        if not _COUNTRY.match(country):
            return [], _("Line %(n)s: the country is a two-letter code such as NL.", n=number)
        if len(name) > NAME_MAX or len(purpose) > 300:
            return [], _("Line %(n)s is too long.", n=number)
        rows.append((name, country, purpose))
    return rows, None


@dataclass
class _Checked:
    values: dict                    # the merge values
    template: AgreementTemplate
    countersigner: object           # a User with the admin role
    assignment: Assignment | None
    annex: list[tuple[str, str, str]]


def _check_input(data: AgreementInput, agreement: Agreement | None) -> _Checked:
    """Everything wrong with the input, by field, at once (Refused); or the checked values."""
    errors: dict[str, str] = {}
    template = db.session.get(AgreementTemplate, data.template_id) if data.template_id else None
    # a draft may keep the (since retired) template version it was made with
    keeps_its_own = agreement is not None and template is not None and template.id == agreement.template_id
    if template is None or (template.status != "published" and not keeps_its_own):
        errors["template_id"] = _("Choose a published template.")
    if data.tenant_role not in ROLES:
        errors["tenant_role"] = _("Choose whether your organisation is the controller or the processor.")
    if not data.counterparty_name.strip() or len(data.counterparty_name) > NAME_MAX:
        errors["counterparty_name"] = _("Enter the name of the other party.")
    if data.counterparty_kvk and not _KVK.match(data.counterparty_kvk):
        errors["counterparty_kvk"] = _("A KvK number has 8 digits.")
    values, field_errors = merge_fields.clean(data.fields)
    errors.update(field_errors)
    if not data.signer_name.strip() or len(data.signer_name) > NAME_MAX:
        errors["signer_name"] = _("Enter the name of the person who signs for the other party.")
    if not _EMAIL.match(data.signer_email.strip()) or len(data.signer_email) > 254:
        errors["signer_email"] = _("Enter a valid email address.")
    countersigner = next((u for u in queries.tenant_admins() if u.id == data.countersigner_id), None)
    if countersigner is None:
        errors["countersigner_id"] = _("Choose an administrator of your organisation.")
    if not 0 <= data.reminder_days <= MAX_REMINDER_DAYS:
        errors["reminder_days"] = _("Enter 0 (no reminders) to %(limit)s days.", limit=MAX_REMINDER_DAYS)
    annex, annex_error = parse_sub_processors(data.sub_processors)
    if annex_error:
        errors["sub_processors"] = annex_error
    assignment = _check_assignment(data.assignment_id, agreement, errors)
    if errors:
        raise Refused(_("Please correct the marked fields."), errors)
    return _Checked(values, template, countersigner, assignment, annex)


def _check_assignment(assignment_id, agreement: Agreement | None, errors: dict) -> Assignment | None:
    if assignment_id is None:
        return None
    assignment = db.session.get(Assignment, assignment_id)
    if assignment is None:
        errors["assignment_id"] = _("Choose an assignment of your organisation.")
        return None
    current = db.session.get(Agreement, assignment.agreement_id) if assignment.agreement_id else None
    taken = current is not None and current.status in queries.LIVE_STATES
    if taken and (agreement is None or current.id != agreement.id):
        errors["assignment_id"] = _("This assignment already has agreement %(number)s: make a new version of it "
                                    "instead.", number=current.number)
    return assignment


def create_agreement(data: AgreementInput, user_id: uuid.UUID | None) -> Agreement:
    """A draft agreement with its signers (the other party's signer and our countersigner) and its
    sub-processor annex; linked to its assignment when one is given."""
    checked = _check_input(data, None)
    agreement = Agreement(number=queries.next_number(clock.today().year), template_id=checked.template.id,
                          status="draft", version=1, created_by=user_id)
    _apply_terms(agreement, data, checked)
    db.session.add(agreement)
    db.session.flush()
    _apply_people(agreement, data, checked, {})
    db.session.flush()
    record_event(agreement, "created", actor_user_id=user_id)
    audit.record("agreement.create", "agreement", agreement.id,
                 detail={"template_id": str(checked.template.id),
                         "assignment_id": str(checked.assignment.id) if checked.assignment else None})
    return agreement


def update_draft(agreement: Agreement, data: AgreementInput) -> None:
    if agreement.status != "draft":
        raise Refused(_("Only a draft can be edited; make a new version instead."))
    checked = _check_input(data, agreement)
    previous = queries.assignment_of(agreement)
    if previous is not None and previous is not checked.assignment:
        previous.agreement_id = None
    _apply_terms(agreement, data, checked)
    _apply_people(agreement, data, checked, {s.side: s for s in queries.signers_of(agreement)})
    audit.record("agreement.update", "agreement", agreement.id)


def _apply_terms(agreement: Agreement, data: AgreementInput, checked: _Checked) -> None:
    agreement.template_id = checked.template.id
    agreement.tenant_role = data.tenant_role
    agreement.counterparty_name = " ".join(data.counterparty_name.split())
    agreement.counterparty_kvk = data.counterparty_kvk or None
    agreement.client_org_id = data.client_org_id
    agreement.fields = checked.values
    agreement.reminder_days = data.reminder_days


def _apply_people(agreement: Agreement, data: AgreementInput, checked: _Checked, signers: dict[str, Signer]) -> None:
    """Signers, the sub-processor annex and the assignment link (rows that refer to the agreement)."""
    other = signers.get("counterparty") or Signer(agreement_id=agreement.id, side="counterparty", status="invited")
    other.name, other.email = " ".join(data.signer_name.split()), data.signer_email.strip()
    other.function = " ".join((data.signer_function or "").split()) or None
    ours = signers.get("tenant") or Signer(agreement_id=agreement.id, side="tenant", status="invited")
    admin = checked.countersigner
    ours.user_id, ours.name, ours.email = admin.id, admin.display_name, admin.email
    db.session.add_all([other, ours])
    for sub in queries.sub_processors_of(agreement):
        db.session.delete(sub)
    for name, country, purpose in checked.annex:
        db.session.add(SubProcessor(agreement_id=agreement.id, name=name, country=country, purpose=purpose))
    if checked.assignment is not None:
        checked.assignment.agreement_id = agreement.id


# ---- sending -----------------------------------------------------------------------------------

def request_send(agreement: Agreement, valid_days: int = DEFAULT_VALID_DAYS) -> None:
    """Ask the "agreements" queue to render the PDF, freeze it and invite the signers."""
    if agreement.status != "draft":
        raise Refused(_("Only a draft can be sent."))
    if not 1 <= valid_days <= MAX_VALID_DAYS:
        raise Refused(_("The link can be valid for 1 to %(limit)s days.", limit=MAX_VALID_DAYS),
                      {"valid_days": _("1 to %(limit)s days.", limit=MAX_VALID_DAYS)})
    template = db.session.get(AgreementTemplate, agreement.template_id)
    if template.status == "draft":
        raise Refused(_("The template of this agreement is not published."))
    audit.record("agreement.send_request", "agreement", agreement.id, detail={"valid_days": valid_days})
    jobs.after_commit("send", agreement, valid_days=valid_days)


def document_context(agreement: Agreement) -> tuple[AgreementTemplate, dict]:
    """What the template prints for this agreement (plain values only: see rendering.py), dated today."""
    tenant = current_tenant()
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

    if not claim(agreement, Agreement.status == "draft"):
        return False
    render_document(agreement)
    now = clock.now()
    agreement.sent_at, agreement.expires_at = now, now + timedelta(days=valid_days)
    lifecycle.move(agreement, "sent", detail={"expires_at": agreement.expires_at.isoformat()})
    for signer in queries.counterparty_signers(agreement):
        signing.invite(signer)
    audit.record("agreement.send", "agreement", agreement.id, detail={"sha256": agreement.document_sha256})
    return True


def claim(agreement: Agreement, *conditions, **values) -> bool:
    """One conditional UPDATE as the first write of a job: of two runs, one wins; on PostgreSQL the row
    stays locked until commit, on SQLite the database write lock is taken. Refreshes the agreement."""
    won = db.session.execute(
        sa.update(Agreement).where(Agreement.id == agreement.id, *conditions)
        .values(updated_at=clock.now(), **values).execution_options(synchronize_session=False)
    ).rowcount == 1
    db.session.refresh(agreement)
    return won


# ---- closing -----------------------------------------------------------------------------------

def _reason(reason: str) -> str:
    text = " ".join((reason or "").split())
    if not text or len(text) > REASON_MAX:
        raise Refused(_("Give a reason of at most %(limit)s characters.", limit=REASON_MAX),
                      {"reason": _("Give a reason.")})
    return text


def revoke(agreement: Agreement, reason: str, user_id: uuid.UUID | None) -> None:
    """Withdraw an agreement that is not completed: its links stop working."""
    from saas.modules.signing import operations as signing

    text = _reason(reason)
    if not lifecycle.can_move(agreement, "revoked"):
        raise Refused(_("This agreement cannot be revoked: it is %(status)s.",
                        status=labels.status_label(agreement.status).lower()))
    agreement.closed_reason = text
    lifecycle.move(agreement, "revoked", detail={"reason": text, "by": str(user_id) if user_id else None})
    signing.revoke_tokens(agreement)
    audit.record("agreement.revoke", "agreement", agreement.id)


def expire(agreement: Agreement) -> bool:
    """An agreement whose signing period passed unsigned (the "expiry" job); tells our countersigner."""
    from saas.modules.signing import operations as signing

    if not claim(agreement, Agreement.status.in_(lifecycle.OPEN_FOR_SIGNING), Agreement.expires_at <= clock.now()):
        return False
    lifecycle.move(agreement, "expired")
    signing.revoke_tokens(agreement)
    _mail_countersigner(agreement, "agreement_expired", _l("Processor agreement %(number)s expired unsigned"),
                        "agreements/mail/expired.txt")
    audit.record("agreement.expire", "agreement", agreement.id)
    return True


def remind(agreement: Agreement) -> int:
    """Mail the signers who have not signed a fresh link (the "reminders" job); returns how many."""
    from saas.modules.signing import operations as signing

    now = clock.now()
    threshold = now - timedelta(days=agreement.reminder_days)
    if not claim(agreement, Agreement.status.in_(lifecycle.OPEN_FOR_SIGNING), Agreement.expires_at > now,
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


# ---- countersigning, sealing, distributing -----------------------------------------------------

def countersign(agreement: Agreement, user, function: str, authority_confirmed: bool, sha256_seen: str) -> None:
    """Our side signs the document the other party signed (the same SHA-256), then it gets sealed."""
    signer = queries.tenant_signer(agreement)
    if agreement.status != "signed":
        raise Refused(_("Only an agreement signed by the other party can be countersigned."))
    if signer is None or signer.user_id != user.id:
        raise Refused(_("Only the countersigner named in this agreement can countersign it."))
    if (sha256_seen or "").strip().lower() != agreement.document_sha256:
        raise Refused(_("The document changed since you opened this page: look at it again."))
    function = " ".join((function or "").split())
    errors = {}
    if not function or len(function) > NAME_MAX:
        errors["function"] = _("Enter your function.")
    if authority_confirmed is not True:
        errors["authority"] = _("Confirm that you may sign for your organisation.")
    if errors:
        raise Refused(_("Please correct the marked fields."), errors)
    if not claim(agreement, Agreement.status == "signed"):
        raise Refused(_("This agreement changed meanwhile; nothing was signed."))
    now = clock.now()
    signer.name, signer.function = user.display_name, function
    signer.status, signer.signed_at, signer.authority_confirmed = "signed", now, True
    lifecycle.move(agreement, "countersigned", signer=signer, detail={"authority_confirmed": True})
    audit.record("agreement.countersign", "agreement", agreement.id, detail={"signer_id": str(signer.id)})
    jobs.after_commit("seal", agreement)


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
            "signed_at_utc": utc_text(signer.signed_at), "signed_at_local": local_text(signer.signed_at),
            "authority_confirmed": signer.authority_confirmed,
            "method": _("Logged-in administrator of the organisation") if ours
            else _("Invitation link, one-time code by email, typed name"),
        })
    signers.sort(key=lambda s: s["role"])   # controller first
    return {"title": f"{title} {agreement.number}", "number": agreement.number, "version": agreement.version,
            "document_sha256": agreement.document_sha256, "tenant": tenant.name, "signers": signers}


def utc_text(moment: datetime | None) -> str:
    return queries.aware(moment).strftime("%Y-%m-%d %H:%M:%S UTC") if moment else ""


def local_text(moment: datetime | None) -> str:
    return clock.local(moment).strftime("%Y-%m-%d %H:%M:%S %Z (UTC%z)") if moment else ""


def trail(agreement: Agreement) -> list[dict]:
    """The agreement's events as printed in the sealed PDF and shown in the portal: who acted is named
    with the party they act for (both parties read the PDF)."""
    parties = {"tenant": current_tenant().name, "counterparty": agreement.counterparty_name}
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
            "at_utc": utc_text(event.at), "at_local": local_text(event.at), "by": by,
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

    if not claim(agreement, Agreement.status == "countersigned", Agreement.sealed_file_id.is_(None)):
        return False
    tenant = current_tenant()
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
    _finish_supersession(agreement)
    audit.record("agreement.seal", "agreement", agreement.id, detail={"sha256": agreement.sealed_sha256})
    jobs.after_commit("distribute", agreement)
    return True


def distribute(agreement: Agreement) -> int:
    """Mail the sealed PDF to every signer of both sides, once (the "distribute" job)."""
    if not claim(agreement, Agreement.status.in_(("completed", "superseded")), Agreement.sealed_file_id.is_not(None),
                 Agreement.distributed_at.is_(None), distributed_at=clock.now()):
        return 0
    template = db.session.get(AgreementTemplate, agreement.template_id)
    sent = 0
    for signer in queries.signers_of(agreement):
        if not signer.email:
            continue
        with force_locale(template.language):
            body = rendering.render_platform("agreements/mail/sealed.txt", agreement=agreement, signer=signer,
                                             tenant=current_tenant())
            subject = _("Signed processor agreement %(number)s", number=agreement.number)
        outbox.queue_mail(signer.email, subject, body, template="agreement_sealed",
                          attachments=[(agreement.sealed_file_id, f"{agreement.number}.pdf")])
        sent += 1
    record_event(agreement, "distributed", detail={"mails": sent})
    audit.record("agreement.distribute", "agreement", agreement.id, detail={"mails": sent})
    return sent


def _mail_countersigner(agreement: Agreement, kind: str, subject: str, template_name: str, **values) -> None:
    """A note to our countersigner (expired, objection), in the tenant's language."""
    signer = queries.tenant_signer(agreement)
    if signer is None or not signer.email:
        return
    tenant = current_tenant()
    link = external_url("agreements.show", tenant=tenant.slug, agreement_id=agreement.id)
    with force_locale(tenant.locale or "nl"):
        body = rendering.render_platform(template_name, agreement=agreement, link=link, **values)
        outbox.queue_mail(signer.email, str(subject) % {"number": agreement.number}, body, template=kind)


# ---- new versions ------------------------------------------------------------------------------

def new_version(old: Agreement, user_id: uuid.UUID | None) -> Agreement:
    """A draft copy of an agreement (fields, parties, signers, sub-processor annex) as its next version,
    on the newest published version of its template. An agreement not yet completed is superseded at
    once (its links stop working); a completed one stays in force until the new version is completed."""
    from saas.modules.signing import operations as signing

    if old.status in ("draft", "superseded"):
        raise Refused(_("A draft is edited, not versioned; a superseded agreement already has a newer version."))
    if old.status == "countersigned":
        raise Refused(_("This agreement is being sealed: make a new version once it is completed."))
    if db.session.scalar(sa.select(Agreement.id).where(Agreement.supersedes_id == old.id,
                                                       Agreement.status.in_(queries.LIVE_STATES))):
        raise Refused(_("A newer version of this agreement is already in progress."))
    old_template = db.session.get(AgreementTemplate, old.template_id)
    template = queries.latest_published(old_template.key, old_template.language)
    if template is None:
        raise Refused(_("There is no published template to make the new version from."))
    base = old.number.split("-v")[0]
    new = Agreement(number=f"{base}-v{old.version + 1}", template_id=template.id, tenant_role=old.tenant_role,
                    counterparty_name=old.counterparty_name, counterparty_kvk=old.counterparty_kvk,
                    client_org_id=old.client_org_id, fields=dict(old.fields or {}), status="draft",
                    version=old.version + 1, supersedes_id=old.id, reminder_days=old.reminder_days, created_by=user_id)
    db.session.add(new)
    db.session.flush()
    for signer in queries.signers_of(old):
        copy = Signer(agreement_id=new.id, side=signer.side, user_id=signer.user_id, status="invited")
        copy.name, copy.email, copy.function = signer.name, signer.email, signer.function
        db.session.add(copy)
    for sub in queries.sub_processors_of(old):
        if queries.in_annex(sub):
            db.session.add(SubProcessor(agreement_id=new.id, name=sub.name, country=sub.country, purpose=sub.purpose))
    db.session.flush()
    record_event(new, "created", actor_user_id=user_id, detail={"supersedes": str(old.id)})
    if old.status != "completed":
        if lifecycle.can_move(old, "superseded"):
            lifecycle.move(old, "superseded", detail={"by": str(new.id)})
            signing.revoke_tokens(old)
        _move_assignment(old, new)
    audit.record("agreement.new_version", "agreement", new.id, detail={"supersedes": str(old.id)})
    return new


def _move_assignment(old: Agreement, new: Agreement) -> None:
    assignment = queries.assignment_of(old)
    if assignment is not None:
        assignment.agreement_id = new.id


def _finish_supersession(agreement: Agreement) -> None:
    """A completed new version replaces the completed version it supersedes."""
    if agreement.supersedes_id is None:
        return
    old = db.session.get(Agreement, agreement.supersedes_id)
    if old is not None and old.status == "completed":
        lifecycle.move(old, "superseded", detail={"by": str(agreement.id)})
        _move_assignment(old, agreement)


# ---- sub-processor changes (art. 28(2)) --------------------------------------------------------

def _announcement_allowed(agreement: Agreement) -> None:
    if agreement.status != "completed":
        raise Refused(_("Sub-processors of an agreement in progress are changed by editing the draft or by a new "
                        "version."))
    if agreement.tenant_role != "processor":
        raise Refused(_("Here your organisation is the controller: the processor announces its sub-processor "
                        "changes to you."))
    if (agreement.fields or {}).get("subprocessor_authorisation") != "general":
        raise Refused(_("This agreement gives specific authorisation only: a new sub-processor needs a new version "
                        "signed by the controller."))


def objection_deadline(notice_days: int) -> datetime:
    """The end (23:59:59 in Amsterdam) of the last day of the notice period, as UTC."""
    last_day = clock.today() + timedelta(days=notice_days)
    end = datetime.combine(last_day, time(23, 59, 59), tzinfo=clock.AMSTERDAM)
    return end.astimezone(timezone.utc)


def add_sub_processor(agreement: Agreement, name: str, country: str, purpose: str) -> SubProcessor:
    """In a draft: added to the annex. In a completed agreement under general authorisation: announced
    to the controller, who may object until the notice period ends."""
    rows, error = parse_sub_processors(f"{name} | {country} | {purpose}")
    if error or not rows:
        raise Refused(error or _("Enter name, country and purpose."))
    name, country, purpose = rows[0]
    if agreement.status == "draft":
        sub = SubProcessor(agreement_id=agreement.id, name=name, country=country, purpose=purpose)
        db.session.add(sub)
        audit.record("agreement.sub_processor_add", "agreement", agreement.id)
        return sub
    _announcement_allowed(agreement)
    sub = SubProcessor(agreement_id=agreement.id, name=name, country=country, purpose=purpose, change="added")
    db.session.add(sub)
    _announce(agreement, sub)
    return sub


def remove_sub_processor(agreement: Agreement, sub: SubProcessor) -> None:
    if sub.agreement_id != agreement.id:
        raise Refused(_("This sub-processor belongs to another agreement."))
    if agreement.status == "draft":
        db.session.delete(sub)
        audit.record("agreement.sub_processor_remove", "agreement", agreement.id)
        return
    _announcement_allowed(agreement)
    if queries.sub_processor_state(sub) not in ("existing", "effective"):
        raise Refused(_("Only a sub-processor in effect can be removed."))
    sub.change = "removed"
    sub.objected_at = sub.objection_reason = None
    _announce(agreement, sub)


def _announce(agreement: Agreement, sub: SubProcessor) -> None:
    raw = secrets.token_urlsafe(32)
    notice_days = int((agreement.fields or {}).get("objection_notice_days") or 30)
    sub.announced_at, sub.objection_until = clock.now(), objection_deadline(notice_days)
    sub.objection_token_hash = hashlib.sha256(raw.encode()).digest()
    db.session.flush()
    tenant = current_tenant()
    template = db.session.get(AgreementTemplate, agreement.template_id)
    link = external_url("agreements_public.objection", tenant_slug=tenant.slug, token=raw)
    mails = 0
    for signer in queries.counterparty_signers(agreement):
        if not signer.email:
            continue
        with force_locale(template.language):
            body = rendering.render_platform("agreements/mail/sub_processor_change.txt", agreement=agreement, sub=sub,
                                             signer=signer,
                                   tenant=tenant, link=link, deadline=local_text(sub.objection_until))
            subject = _("Change of sub-processor under processor agreement %(number)s", number=agreement.number)
        outbox.queue_mail(signer.email, subject, body, template="agreement_sub_processor_change")
        mails += 1
    record_event(agreement, "subprocessor_announced",
                 detail={"sub_processor_id": str(sub.id), "change": sub.change,
                         "objection_until": sub.objection_until.isoformat(), "mails": mails})
    audit.record("agreement.sub_processor_announce", "agreement", agreement.id,
                 detail={"sub_processor_id": str(sub.id), "change": sub.change})


def object_to_change(sub: SubProcessor, reason: str) -> None:
    """The controller objects within the notice period (public link from the announcement mail)."""
    text = _reason(reason)
    if sub.objected_at is not None:
        raise Refused(_("An objection to this change was already recorded."))
    if sub.objection_until is None or clock.now() > queries.aware(sub.objection_until):
        raise Refused(_("The objection period for this change has ended."))
    sub.objected_at, sub.objection_reason = clock.now(), text
    agreement = db.session.get(Agreement, sub.agreement_id)
    record_event(agreement, "subprocessor_objected", detail={"sub_processor_id": str(sub.id), "reason": text})
    audit.record("agreement.sub_processor_objection", "agreement", agreement.id, actor_kind="controller",
                 detail={"sub_processor_id": str(sub.id)})
    _mail_countersigner(agreement, "agreement_objection", _l("Objection to a sub-processor change (%(number)s)"),
                        "agreements/mail/objection.txt", sub=sub)
