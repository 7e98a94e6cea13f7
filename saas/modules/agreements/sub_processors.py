"""Sub-processor changes under art. 28(2) GDPR: in a draft the annex is edited; in a completed agreement
with general authorisation a change is announced to the controller, who may object within the notice
period by the link in the mail."""
from __future__ import annotations

import hashlib
import secrets
from datetime import datetime, time, timedelta, timezone

from flask_babel import force_locale
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from saas.core import clock
from saas.core.errors import DomainError
from saas.core.web import external_url
from saas.extensions import db
from saas.modules.agreements import common, drafting, queries, rendering
from saas.modules.agreements.events import record_event
from saas.modules.agreements.models import Agreement, AgreementTemplate, SubProcessor
from saas.modules.audit import operations as audit
from saas.modules.outbox import operations as outbox


def _announcement_allowed(agreement: Agreement) -> None:
    if agreement.status != "completed":
        raise DomainError(_("Sub-processors of an agreement in progress are changed by editing the draft or by a new "
                        "version."))
    if agreement.tenant_role != "processor":
        raise DomainError(_("Here your organisation is the controller: the processor announces its sub-processor "
                        "changes to you."))
    if (agreement.fields or {}).get("subprocessor_authorisation") != "general":
        raise DomainError(_("This agreement gives specific authorisation only: a new sub-processor needs a new version "
                        "signed by the controller."))


def objection_deadline(notice_days: int) -> datetime:
    """The end (23:59:59 in Amsterdam) of the last day of the notice period, as UTC."""
    last_day = clock.today() + timedelta(days=notice_days)
    end = datetime.combine(last_day, time(23, 59, 59), tzinfo=clock.AMSTERDAM)
    return end.astimezone(timezone.utc)


def add_sub_processor(agreement: Agreement, name: str, country: str, purpose: str) -> SubProcessor:
    """In a draft: added to the annex. In a completed agreement under general authorisation: announced
    to the controller, who may object until the notice period ends."""
    rows, error = drafting.parse_sub_processors(f"{name} | {country} | {purpose}")
    if error or not rows:
        raise DomainError(error or _("Enter name, country and purpose."))
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
        raise DomainError(_("This sub-processor belongs to another agreement."))
    if agreement.status == "draft":
        db.session.delete(sub)
        audit.record("agreement.sub_processor_remove", "agreement", agreement.id)
        return
    _announcement_allowed(agreement)
    if queries.sub_processor_state(sub) not in ("existing", "effective"):
        raise DomainError(_("Only a sub-processor in effect can be removed."))
    sub.change = "removed"
    sub.objected_at = sub.objection_reason = None
    _announce(agreement, sub)


def _announce(agreement: Agreement, sub: SubProcessor) -> None:
    raw = secrets.token_urlsafe(32)
    notice_days = int((agreement.fields or {}).get("objection_notice_days") or 30)
    sub.announced_at, sub.objection_until = clock.now(), objection_deadline(notice_days)
    sub.objection_token_hash = hashlib.sha256(raw.encode()).digest()
    db.session.flush()
    tenant = common.current_tenant()
    template = db.session.get(AgreementTemplate, agreement.template_id)
    link = external_url("agreements_public.objection", tenant_slug=tenant.slug, token=raw)
    mails = 0
    for signer in queries.counterparty_signers(agreement):
        if not signer.email:
            continue
        with force_locale(template.language):
            body = rendering.render_platform("agreements/mail/sub_processor_change.txt", agreement=agreement, sub=sub,
                                             signer=signer,
                                   tenant=tenant, link=link, deadline=common.local_text(sub.objection_until))
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
    text = common.reason_text(reason)
    if sub.objected_at is not None:
        raise DomainError(_("An objection to this change was already recorded."))
    if sub.objection_until is None or clock.now() > queries.aware(sub.objection_until):
        raise DomainError(_("The objection period for this change has ended."))
    sub.objected_at, sub.objection_reason = clock.now(), text
    agreement = db.session.get(Agreement, sub.agreement_id)
    record_event(agreement, "subprocessor_objected", detail={"sub_processor_id": str(sub.id), "reason": text})
    audit.record("agreement.sub_processor_objection", "agreement", agreement.id, actor_kind="controller",
                 detail={"sub_processor_id": str(sub.id)})
    common.mail_countersigner(agreement, "agreement_objection", _l("Objection to a sub-processor change (%(number)s)"),
                        "agreements/mail/objection.txt", sub=sub)
