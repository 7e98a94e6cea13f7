"""Writes of rights requests: intake, authenticity, deadlines, answers. Never commits (the erasure path
does, by design: see `saas.modules.erasure`); the request's commit point does the rest.

Who may call what is the access policy's question (kind "rights_request"), asked by the views and the API.
The public form (no account) only calls `receive` and `confirm_code`.
"""
from __future__ import annotations

import csv
import hmac
import io
import json
import secrets
import uuid
from datetime import date, timedelta

from flask_babel import force_locale
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from saas.core import clock
from saas.core.crypto.keyring import keyring
from saas.core.errors import DomainError
from saas.core.tenancy import require_tenant_id
from saas.core.web import external_url
from saas.extensions import db
from saas.modules.audit import operations as audit
from saas.modules.consents import operations as consents
from saas.modules.consents.models import ConsentRecord
from saas.modules.erasure import labels as erasure_labels
from saas.modules.erasure import operations as erasure
from saas.modules.files import operations as files
from saas.modules.outbox import operations as outbox
from saas.modules.retention import suppression
from saas.modules.rights import deadlines, letters, queries
from saas.modules.rights.models import (
    ANSWERED, BY_EMAIL_CODE, BY_STAFF_CHECK, CHANNELS, KINDS, REFUSAL_GROUNDS, REFUSED, VERIFIED,
    PersonalLink, RightsDownload, RightsLetter, RightsRequest, RightsRequestPerson,
)
from saas.modules.subjects.models import DataSubject

CODE_DIGITS = 8
CODE_VALID = timedelta(days=7)
MAX_CODE_ATTEMPTS = 5
DOWNLOAD_VALID = timedelta(days=14)
TEXT_MAX = 2000
REASON_MAX = 500
# The fields a rectification may change (what the person can see in the access answer).
RECTIFIABLE = ("given_name", "family_name", "email", "phone", "job_title", "city", "address", "iban")
SUPPRESSION_REASON = {"objection": "objection", "do_not_contact": "do_not_contact", "erasure": "erasure"}

KIND_LABELS = {
    "access": _l("access to my data (art. 15)"), "rectification": _l("correction of my data (art. 16)"),
    "erasure": _l("erasure of my data (art. 17)"), "restriction": _l("restriction of processing (art. 18)"),
    "portability": _l("my data to take with me (art. 20)"), "objection": _l("objection (art. 21)"),
    "withdrawal": _l("withdrawal of consent (art. 7(3))"), "do_not_contact": _l("do not contact me again"),
}
GROUND_LABELS = {
    "art_12_5_unfounded": _l("manifestly unfounded request (art. 12(5) GDPR)"),
    "art_12_5_excessive": _l("excessive request, in particular because of its repetitive character (art. 12(5) GDPR)"),
    "art_17_3_b_legal_obligation": _l("a legal obligation to keep the data (art. 17(3)(b) GDPR)"),
    "art_17_3_e_legal_claims": _l("the establishment, exercise or defence of legal claims (art. 17(3)(e) GDPR)"),
}


class RightsError(DomainError):
    """A refused step on a rights request (wrong state, bad input)."""


def kind_label(kind: str) -> str:
    return str(KIND_LABELS.get(kind, kind))


# --- intake ------------------------------------------------------------------------------------------

def receive(kind: str, channel: str, *, email: str | None, phone: str | None = None, name: str | None = None,
            details: str | None = None, locale: str = "nl", received_on: date | None = None,
            send: bool = True) -> RightsRequest:
    """Register a request (public form, staff entry, API) with both deadlines, and mail a code to the
    address given. The same happens whether or not the tenant holds anything about that address: what the
    person sees and gets never reveals that before identity is established."""
    problems = _intake_problems(kind, channel, email, phone, name, details, locale)
    if received_on is not None and received_on > clock.today():
        problems["received_on"] = _("A request cannot be received in the future.")
    if problems:
        raise RightsError(_("Please correct the marked fields."), status=422, errors=problems)
    tenant = queries.current_tenant()
    received_on = received_on or clock.today()
    request = RightsRequest(
        kind=kind, channel=channel, status="received", locale=locale, received_on=received_on,
        legal_due_on=deadlines.legal_due(received_on),
        target_due_on=deadlines.target_due(received_on, tenant.rights_request_days), code_attempts=0, outcome={})
    request.email, request.phone = (email or "").strip() or None, (phone or "").strip() or None
    request.name, request.details = (name or "").strip() or None, (details or "").strip() or None
    db.session.add(request)
    db.session.flush()
    audit.record("rights.receive", "rights_request", request.id, detail={"kind": kind, "channel": channel})
    if request.email and send:
        send_code(request)
    return request


def _intake_problems(kind, channel, email, phone, name, details, locale) -> dict:
    problems = {}
    if kind not in KINDS:
        problems["kind"] = _("Choose one of: %(kinds)s.", kinds=", ".join(KINDS))
    if channel not in CHANNELS:
        problems["channel"] = _("Choose one of: %(channels)s.", channels=", ".join(CHANNELS))
    if not (email or "").strip() and not (phone or "").strip():
        problems["email"] = _("Give an e-mail address or a phone number.")
    if email and ("@" not in email or len(email) > 254 or any(c.isspace() for c in email.strip())):
        problems["email"] = _("This is not an e-mail address.")
    if phone and (len(phone) > 40 or sum(c.isdigit() for c in phone) < 6):
        problems["phone"] = _("This is not a phone number.")
    if name and len(name) > 200:
        problems["name"] = _("At most %(max)d characters.", max=200)
    if details and len(details) > TEXT_MAX:
        problems["details"] = _("At most %(max)d characters.", max=TEXT_MAX)
    if locale not in ("nl", "en"):
        problems["locale"] = _("Choose nl or en.")
    return problems


# --- authenticity ------------------------------------------------------------------------------------

def _code_hash(request: RightsRequest, code: str) -> bytes:
    """A keyed hash (the tenant's blind-index key): a copy of the database does not give the codes away."""
    return keyring().blind_index(request.tenant_id, "rights_code", f"{request.id}|{code}")


def send_code(request: RightsRequest) -> None:
    """Mail a one-time code to the address on the request (never to another one). Used again replaces it."""
    code = "".join(secrets.choice("0123456789") for _ in range(CODE_DIGITS))
    request.code_hash = _code_hash(request, code)
    request.code_expires_at = clock.now() + CODE_VALID
    request.code_attempts = 0
    link = external_url("rights_public.confirm", slug=queries.current_tenant().slug, request_id=request.id)
    send_letter(request, "code", code=code, link=link, expires=_day(request.code_expires_at.date()),
                remember=False)


def confirm_code(request: RightsRequest, typed: str) -> bool:
    """The code from the mail proves the person controls that address. Identity is then established for the
    records that hold exactly this address (blind index); records found only by phone or name wait for a
    staff check. Wrong codes count; after `MAX_CODE_ATTEMPTS` the code is spent."""
    if request.status != "received" or request.code_hash is None:
        return False
    if queries.expired(request.code_expires_at):
        return False
    request.code_attempts = (request.code_attempts or 0) + 1
    typed = (typed or "").strip()
    if request.code_attempts > MAX_CODE_ATTEMPTS or not (
            len(typed) == CODE_DIGITS and typed.isdigit() and hmac.compare_digest(_code_hash(request, typed),
                                                                                 request.code_hash)):
        audit.record("rights.code", "rights_request", request.id, outcome="denied")
        return False
    request.code_hash = None
    matches = queries.matching_subject_ids(request.email_bidx, None)
    _establish(request, BY_EMAIL_CODE, matches, note=None, checked_by=None)
    return True


def verify_by_staff(request: RightsRequest, note: str, checked_by: uuid.UUID | None) -> None:
    """A member checked identity another way (called back on the number on file, a letter with a copy of an
    ID with the photo and number blacked out...): `note` says how. Records by e-mail and phone are linked."""
    if request.status != "received":
        raise RightsError(_("Identity of this request was established before."), status=409)
    note = (note or "").strip()
    if not note or len(note) > REASON_MAX:
        raise RightsError(_("Say how identity was checked."), status=422,
                          errors={"note": _("Say how identity was checked.")})
    matches = queries.matching_subject_ids(request.email_bidx, request.phone_bidx)
    _establish(request, BY_STAFF_CHECK, matches, note=note, checked_by=checked_by)


def _establish(request: RightsRequest, method: str, matches: dict, *, note, checked_by) -> None:
    request.status, request.identity_method = VERIFIED, method
    request.identity_checked_at, request.identity_checked_by = clock.now(), checked_by
    request.identity_note = note
    for person_id, how in matches.items():
        _link(request, person_id, how)
    db.session.flush()
    audit.record("rights.identity", "rights_request", request.id,
                 detail={"method": method, "records": len(matches)})
    if request.email:
        send_letter(request, "received", received_on=_day(request.received_on),
                    target_due=_day(request.target_due_on), legal_due=_day(request.effective_legal_due_on))


def _link(request: RightsRequest, person_id: uuid.UUID, how: str) -> None:
    exists = any(link.person_id == person_id for link in queries.linked_people(request))
    if not exists:
        db.session.add(RightsRequestPerson(request_id=request.id, person_id=person_id, matched_on=how))
        db.session.flush()


def link_person(request: RightsRequest, person_id) -> None:
    """Staff found another record of the person (by name and a second attribute) after identity was
    established: it is part of the answer too."""
    if request.status != VERIFIED:
        raise RightsError(_("Establish identity first."), status=409)
    subject = db.session.get(DataSubject, _uuid(person_id))
    if subject is None:
        raise RightsError(_("No such record."), status=404)
    _link(request, subject.id, "staff")
    audit.record("rights.link", "rights_request", request.id, detail={"person_id": str(subject.id)})


def _uuid(value):
    try:
        return uuid.UUID(str(value))
    except ValueError:
        raise RightsError(_("No such record."), status=404) from None


# --- deadlines -----------------------------------------------------------------------------------------

def extend(request: RightsRequest, reason: str) -> None:
    """Art. 12(3): two more months, only told to the person with the reasons within the first month."""
    reason = (reason or "").strip()
    if not request.is_open or request.extended_due_on is not None:
        raise RightsError(_("This request cannot be extended."), status=409)
    if not deadlines.may_extend(request.received_on, clock.today()):
        raise RightsError(_("The first month has passed: the law allows no extension any more."), status=409)
    if not reason or len(reason) > REASON_MAX:
        raise RightsError(_("Give the reasons for the extension; they are sent to the person."), status=422,
                          errors={"reason": _("Give the reasons for the extension; they are sent to the person.")})
    request.extended_due_on = deadlines.extended_due(request.received_on)
    request.extension_reason, request.extended_at = reason, clock.now()
    audit.record("rights.extend", "rights_request", request.id, detail={"until": request.extended_due_on.isoformat()})
    send_letter(request, "extension", received_on=_day(request.received_on),
                extended_due=_day(request.extended_due_on), reason=reason)


# --- answers -------------------------------------------------------------------------------------------

def answer(request: RightsRequest, *, changes: dict | None = None) -> dict:
    """Carry out what the request asks, for every record linked to it, and send the letter. Returns the
    outcome (ids, field names, counts). Erasure commits through the one erasure path."""
    if request.status != VERIFIED:
        raise RightsError(_("Establish identity before answering."), status=409)
    subjects = queries.linked_subjects(request)
    if not subjects and request.kind not in ("objection", "do_not_contact"):
        outcome = {"records": 0}
        send_letter(request, "no_data")
    else:
        outcome = _ANSWERS[request.kind](request, subjects, changes or {})
    _close(request, ANSWERED, outcome)
    return outcome


def _close(request: RightsRequest, status: str, outcome: dict) -> None:
    request.status, request.answered_at, request.outcome = status, clock.now(), outcome
    audit.record("rights.answer", "rights_request", request.id, detail={"status": status, **{
        k: v for k, v in outcome.items() if k in ("records", "fields", "kept", "ground")}})


def _answer_access(request, subjects, _changes) -> dict:
    report = queries.access_report(request)
    data = json.dumps(report.data, ensure_ascii=False, indent=2, sort_keys=True).encode()
    pdf = _report_pdf(request, report.data)
    _deliver(request, "access", [("answer.pdf", "application/pdf", pdf), ("answer.json", "application/json", data)],
             len(subjects))
    return {"records": len(subjects)}


def _answer_portability(request, subjects, _changes) -> dict:
    rows = [{"record_id": str(s.id), "category": s.category,
             **{name: getattr(s, name) or "" for name in queries.PERSON_FIELDS if name != "notes"}} for s in subjects]
    data = json.dumps({"controller": queries.current_tenant().name, "records": rows}, ensure_ascii=False,
                      indent=2).encode()
    text = io.StringIO()
    writer = csv.DictWriter(text, fieldnames=list(rows[0]))
    writer.writeheader()
    writer.writerows(rows)
    audit.record("rights.report", "rights_request", request.id, detail={"records": len(rows), "format": "portability"})
    _deliver(request, "portability", [("data.json", "application/json", data),
                                      ("data.csv", "text/csv", text.getvalue().encode())], len(subjects))
    return {"records": len(subjects)}


def _answer_rectification(request, subjects, changes) -> dict:
    unknown = sorted(set(changes) - set(RECTIFIABLE))
    if not changes or unknown:
        raise RightsError(_("Give the corrected fields (%(fields)s).", fields=", ".join(RECTIFIABLE)), status=422,
                          errors={"changes": _("Give the corrected fields (%(fields)s).", fields=", ".join(RECTIFIABLE))})
    for subject in subjects:
        if subject.restricted_at is not None:
            continue   # only what a legal duty keeps is left: not corrected in place
        for name, value in changes.items():
            setattr(subject, name, (str(value).strip() or None) if value is not None else None)
        audit.record("subject.update", "data_subject", subject.id,
                     detail={"fields": sorted(changes), "reason": "rights_request", "request_id": str(request.id)})
    db.session.flush()
    fields = sorted(changes)
    send_letter(request, "rectification", records=len(subjects), fields=erasure_labels.field_list(fields))
    return {"records": len(subjects), "fields": fields}


def _answer_erasure(request, subjects, _changes) -> dict:
    """Through the one erasure path, one record at a time (it commits): what a legal hold keeps stays,
    restricted; the letter names those fields and the law."""
    request_id, locale = request.id, request.locale
    told = queries.client_addresses({s.client_org_id for s in subjects})
    held_by = {s.id: s.client_org_id for s in subjects}
    kept, purged, restricted = [], 0, 0
    for subject in subjects:
        outcome = erasure.erase_subject(subject, reason="rights_request")
        if outcome.status == erasure.PURGED:
            purged += 1
        else:
            restricted += 1
            kept.extend(outcome.kept)
    request = db.session.get(RightsRequest, request_id)   # the erasure committed: read it again
    with force_locale(locale):
        kept_fields = [{"fields": erasure_labels.field_list(k.fields), "reason": k.legal_basis,
                        "until": _day(k.until) if k.until else None} for k in kept]
    send_letter(request, "erasure", records=len(subjects), kept_fields=kept_fields)
    clients_told = _tell_clients(told, held_by)
    return {"records": len(subjects), "purged": purged, "restricted": restricted, "clients_told": clients_told,
            "kept": sorted({name for k in kept for name in k.fields}),
            "law": ["GDPR art. 17(3)(b)", "AWR art. 52"] if kept else []}


def _tell_clients(addresses: dict, held_by: dict) -> int:
    """Seed 004 s.7: the client organisation whose database held the person is told of the erasure, with the
    request to leave the person out of future assignments too (art. 19). Record ids only, no personal data."""
    for org_id, emails in addresses.items():
        ids = sorted(str(subject_id) for subject_id, held in held_by.items() if held == org_id)
        body = ("A person in your database asked us to erase their data (art. 17 GDPR). We erased record(s) "
                f"{', '.join(ids)}. Please remove this person from your own files as well and do not include them "
                "in future assignments.\n\n"
                "Een persoon uit uw bestand heeft ons gevraagd zijn of haar gegevens te wissen (art. 17 AVG). Wij "
                f"hebben registratie(s) {', '.join(ids)} gewist. Verwijder deze persoon ook uit uw eigen bestanden en "
                "neem hem of haar niet op in toekomstige opdrachten.\n")
        for email in emails:
            outbox.queue_mail(email, "Erasure request / Verzoek tot verwijdering", body, template="rights.client_erasure")
    return len(addresses)


def _answer_restriction(request, subjects, _changes) -> dict:
    for subject in subjects:
        if subject.restricted_at is None:
            subject.restricted_at = clock.now()
            subject.restriction_reason = "Restricted on request (art. 18 GDPR)"
            audit.record("subject.restrict", "data_subject", subject.id, detail={"request_id": str(request.id)})
    send_letter(request, "restriction", records=len(subjects))
    return {"records": len(subjects)}


def _answer_suppression(request, subjects, _changes) -> dict:
    """Objection to direct marketing is absolute (art. 21(3)); "do not contact me" likewise: the person's
    blind indexes go on the suppression list, which imports and new records are checked against."""
    reason = SUPPRESSION_REASON[request.kind]
    people = [(s.email_bidx, s.phone_bidx, reason) for s in subjects]
    people.append((request.email_bidx, request.phone_bidx, reason))
    added = suppression.suppress_many(people)
    consents_withdrawn = _withdraw_consents(subjects)
    send_letter(request, request.kind)
    return {"records": len(subjects), "suppressed": added, "consents_withdrawn": consents_withdrawn}


def _answer_withdrawal(request, subjects, _changes) -> dict:
    count = _withdraw_consents(subjects)
    send_letter(request, "withdrawal", count=count)
    return {"records": len(subjects), "consents_withdrawn": count}


def _withdraw_consents(subjects) -> int:
    import sqlalchemy as sa

    ids = [s.id for s in subjects]
    if not ids:
        return 0
    active = list(db.session.scalars(sa.select(ConsentRecord).where(
        ConsentRecord.subject_id.in_(ids), ConsentRecord.withdrawn_at.is_(None))))
    for record in active:
        consents.withdraw(record)
    return len(active)


_ANSWERS = {"access": _answer_access, "portability": _answer_portability, "rectification": _answer_rectification,
            "erasure": _answer_erasure, "restriction": _answer_restriction, "objection": _answer_suppression,
            "do_not_contact": _answer_suppression, "withdrawal": _answer_withdrawal}


def refuse(request: RightsRequest, ground: str, reason: str) -> None:
    """Refuse only on the grounds the law gives (art. 12(5), art. 17(3)), with the reason in the letter."""
    reason = (reason or "").strip()
    if not request.is_open:
        raise RightsError(_("This request was answered before."), status=409)
    if ground not in REFUSAL_GROUNDS:
        raise RightsError(_("A refusal rests on art. 12(5) or art. 17(3) only."), status=422,
                          errors={"ground": _("A refusal rests on art. 12(5) or art. 17(3) only.")})
    if ground.startswith("art_17") and request.kind != "erasure":
        raise RightsError(_("Art. 17(3) applies to erasure only."), status=422,
                          errors={"ground": _("Art. 17(3) applies to erasure only.")})
    if not reason or len(reason) > REASON_MAX:
        raise RightsError(_("Give the reason; it is sent to the person."), status=422,
                          errors={"reason": _("Give the reason; it is sent to the person.")})
    with force_locale(request.locale):
        ground_text = str(GROUND_LABELS[ground])
    send_letter(request, "refusal", ground=ground_text, reason=reason)
    _close(request, REFUSED, {"ground": ground})


# --- delivery ------------------------------------------------------------------------------------------

def _report_pdf(request: RightsRequest, data: dict) -> bytes:
    from flask import render_template

    from saas.modules.seals.pdf import html_to_pdf

    with force_locale(request.locale):
        html = render_template("rights/report_pdf.html", data=data, locale=request.locale)
    return html_to_pdf(html, tenant_name=data["controller"])


def _deliver(request: RightsRequest, letter: str, parts: list[tuple[str, str, bytes]], records: int) -> None:
    """The files stored encrypted, an expiring link in the letter, the code in a separate mail: the answer
    is never an attachment."""
    stored = [files.save(content, content_type, "rights_answer", filename=name) for name, content_type, content in parts]
    db.session.flush()
    token, code = secrets.token_urlsafe(32), "".join(secrets.choice("0123456789") for _ in range(CODE_DIGITS))
    download = RightsDownload(request_id=request.id, token_hash=download_hash(token), code_hash=b"",
                              expires_at=clock.now() + DOWNLOAD_VALID, attempts=0,
                              files=[{"file_id": str(s.id), "name": name} for s, (name, _t, _c) in zip(stored, parts)])
    db.session.add(download)
    db.session.flush()
    download.code_hash = download_code_hash(download, code)
    link = external_url("rights_public.download", slug=queries.current_tenant().slug, token=token)
    send_letter(request, letter, records=records, link=link, expires=_day(download.expires_at.date()))
    send_letter(request, "download_code", code=code, remember=False)


def download_hash(token: str) -> bytes:
    import hashlib

    return hashlib.sha256(token.encode()).digest()


def download_code_hash(download: RightsDownload, code: str) -> bytes:
    return keyring().blind_index(download.tenant_id or require_tenant_id(), "rights_code", f"{download.id}|{code}")


def check_download_code(download: RightsDownload, typed: str) -> bool:
    download.attempts = (download.attempts or 0) + 1
    typed = (typed or "").strip()
    ok = (download.attempts <= MAX_CODE_ATTEMPTS * 2 and len(typed) == CODE_DIGITS and typed.isdigit()
          and hmac.compare_digest(download_code_hash(download, typed), download.code_hash))
    if ok:
        download.opened_at = download.opened_at or clock.now()
    audit.record("rights.download", "rights_download", download.id, outcome="ok" if ok else "denied")
    return ok


def send_letter(request: RightsRequest, name: str, *, remember: bool = True, **values) -> RightsLetter | None:
    """Render a letter in the person's language, keep it encrypted (not the secret-bearing code mails:
    `remember=False`) and send it by the outbox to the address on the request. Without an address the
    letter is kept for staff to send by post."""
    tenant = queries.current_tenant()
    with force_locale(request.locale):
        body = letters.render(name, request.locale, name_line=request.name, organisation=tenant.name,
                              kind_label=kind_label(request.kind), **values)
    subject_line = f"{letters.subject_line(name, request.locale)} ({tenant.name})"
    mail = None
    if request.email:
        mail = outbox.queue_mail(request.email, subject_line, body, template=f"rights.{name}")
    if not remember:
        return None
    letter = RightsLetter(request_id=request.id, template=name, template_version=letters.VERSION,
                          locale=request.locale, mail_id=mail.id if mail else None)
    letter.subject_line, letter.body = subject_line, body
    db.session.add(letter)
    return letter


def _day(value: date) -> str:
    return value.strftime("%d-%m-%Y")


# --- reminders -----------------------------------------------------------------------------------------

def send_reminders(today: date | None = None) -> int:
    """One mail to the tenant's admins per request and deadline (target, legal) that is near or passed.
    Ids and dates only: no personal data in the reminder."""
    today = today or clock.today()
    admins = queries.admin_addresses()
    sent = 0
    for request in queries.due_for_reminder(today):
        which = []
        if request.reminded_target_on is None and deadlines.remind_target_on(request.target_due_on) <= today:
            request.reminded_target_on = today
            which.append(("target", request.target_due_on))
        if request.reminded_legal_on is None and deadlines.remind_legal_on(request.effective_legal_due_on) <= today:
            request.reminded_legal_on = today
            which.append(("legal", request.effective_legal_due_on))
        link = external_url("rights.show", tenant=queries.current_tenant().slug, request_id=request.id)
        lines = [f"{'Own target' if w == 'target' else 'Legal time limit (art. 12(3) GDPR)'}: {d.isoformat()}"
                 for w, d in which]
        body = (f"A rights request ({request.kind}, received {request.received_on.isoformat()}) is due soon or "
                f"overdue.\n" + "\n".join(lines) + f"\n\n{link}\n")
        for address in admins:
            outbox.queue_mail(address, "Rights request due", body, template="rights.reminder")
        audit.record("rights.remind", "rights_request", request.id, detail={"deadlines": [w for w, _ in which]})
        sent += 1
    return sent


# --- the personal page (mailed link + code) -------------------------------------------------------------

PAGE_VALID = timedelta(hours=24)
PAGE_ACTIONS = ("access", "erasure", "do_not_contact", "rectification")


def mail_personal_link(email: str, locale: str) -> PersonalLink:
    """A link and a code to the address typed, whether or not we hold anything about it (the page itself
    then shows only records holding exactly that address)."""
    if "@" not in (email or "") or len(email) > 254 or locale not in ("nl", "en"):
        raise RightsError(_("This is not an e-mail address."), status=422,
                          errors={"email": _("This is not an e-mail address.")})
    token, code = secrets.token_urlsafe(32), "".join(secrets.choice("0123456789") for _ in range(CODE_DIGITS))
    link = PersonalLink(token_hash=download_hash(token), code_hash=b"", expires_at=clock.now() + PAGE_VALID,
                        attempts=0, locale=locale)
    link.email = email.strip()
    db.session.add(link)
    db.session.flush()
    link.code_hash = keyring().blind_index(link.tenant_id, "rights_code", f"{link.id}|{code}")
    tenant = queries.current_tenant()
    url = external_url("rights_public.page", slug=tenant.slug, token=token)
    with force_locale(locale):
        body = letters.render("page_link", locale, name_line=None, organisation=tenant.name, link=url, code=code,
                              expires=clock.local(link.expires_at).strftime("%d-%m-%Y %H:%M"), kind_label="")
    outbox.queue_mail(link.email, f"{letters.subject_line('page_link', locale)} ({tenant.name})", body,
                      template="rights.page_link")
    audit.record("rights.page.mail", "rights_personal_link", link.id)
    return link


def open_personal_page(link: PersonalLink, typed: str) -> bool:
    link.attempts = (link.attempts or 0) + 1
    typed = (typed or "").strip()
    ok = (link.attempts <= MAX_CODE_ATTEMPTS and len(typed) == CODE_DIGITS and typed.isdigit()
          and not queries.expired(link.expires_at)
          and hmac.compare_digest(keyring().blind_index(link.tenant_id, "rights_code", f"{link.id}|{typed}"),
                                  link.code_hash))
    if ok:
        link.opened_at = link.opened_at or clock.now()
    audit.record("rights.page.open", "rights_personal_link", link.id, outcome="ok" if ok else "denied")
    return ok


def request_from_page(link: PersonalLink, kind: str, details: str | None = None) -> RightsRequest:
    """A request made on the personal page: identity is the page's code (sent to this address), so it is
    established at once; access, erasure and do-not-contact are carried out at once, a correction waits
    for staff to check it (seed 004 s.7: "bij bewezen onjuistheid")."""
    if kind not in PAGE_ACTIONS:
        raise RightsError(_("Choose one of: %(kinds)s.", kinds=", ".join(PAGE_ACTIONS)), status=422)
    request = receive(kind, "web", email=link.email, details=details, locale=link.locale, send=False)
    _establish(request, BY_EMAIL_CODE, queries.matching_subject_ids(request.email_bidx, None), note=None,
               checked_by=None)
    audit.record("rights.page.request", "rights_personal_link", link.id, detail={"kind": kind,
                                                                                 "request_id": str(request.id)})
    if kind != "rectification":
        answer(request)
    return request


def withdraw_from_page(link: PersonalLink, consent_id) -> bool:
    """Withdraw one consent of a record holding the page's address."""
    import sqlalchemy as sa

    record = db.session.get(ConsentRecord, _uuid(consent_id))
    if record is None or record.withdrawn_at is not None:
        return False
    holder = db.session.scalar(sa.select(DataSubject.id).where(DataSubject.id == record.subject_id,
                                                               DataSubject.email_bidx == link.email_bidx))
    if holder is None or link.email_bidx is None:
        return False
    consents.withdraw(record)
    audit.record("rights.page.withdraw", "rights_personal_link", link.id, detail={"consent_id": str(record.id)})
    return True
