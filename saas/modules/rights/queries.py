"""Reads of rights requests, and finding everything the tenant holds about the person who asked.

The search reads the whole tenant (every client organisation's database, every assignment): the answer to
a request is the controller's duty, not one member's view. Only admins reach it (access policy,
kind "rights_request"). Every read of personal data is audited with ids and counts.
"""
from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date, datetime, timezone

import sqlalchemy as sa
from flask import abort

from saas.core import clock
from saas.core.crypto.keyring import keyring
from saas.core.web import get_or_404
from saas.extensions import db
from saas.modules.accounts.models import Membership, User
from saas.modules.assignments.models import Assignment, AssignmentSubject, CallNote
from saas.modules.audit import operations as audit
from saas.modules.clients.models import ClientOrganisation
from saas.modules.consents.models import ConsentRecord
from saas.modules.erasure import queries as erasure_queries
from saas.modules.files.models import StoredFile
from saas.modules.retention import queries as retention_queries
from saas.modules.retention.models import RetentionDecision
from saas.modules.retention.policies import due_on, effective_policies
from saas.modules.rights import deadlines
from saas.modules.rights.models import (
    OPEN_STATUSES, PersonalLink, RightsDownload, RightsLetter, RightsRequest, RightsRequestPerson,
)
from saas.modules.subjects.models import DataSubject
from saas.modules.tenants.models import Tenant
from saas.core.tenancy import require_tenant_id

# The fields of a person shown in an answer, in the order of the subject form.
PERSON_FIELDS = ("given_name", "family_name", "email", "phone", "job_title", "city", "address", "iban", "notes")


def current_tenant() -> Tenant:
    return db.session.get(Tenant, require_tenant_id())


def find_request(request_id) -> RightsRequest:
    """The request of the current tenant, or 404 (another tenant's id is not found, never forbidden)."""
    return get_or_404(RightsRequest, request_id)


def list_requests(status: str | None = None, limit: int = 200) -> list[RightsRequest]:
    """Open requests first, the earliest deadline first; then the answered ones, newest first."""
    query = sa.select(RightsRequest)
    if status == "open":
        query = query.where(RightsRequest.status.in_(OPEN_STATUSES))
    elif status:
        query = query.where(RightsRequest.status == status)
    rows = list(db.session.scalars(query.order_by(RightsRequest.received_on.desc(), RightsRequest.id).limit(limit)))
    rows.sort(key=lambda r: (not r.is_open, first_due(r) if r.is_open else date.max))
    audit.record("rights.list", "rights_request", None, detail={"count": len(rows)})
    return rows


def first_due(request: RightsRequest) -> date:
    return min(request.target_due_on, request.effective_legal_due_on)


def overdue_count(today: date | None = None) -> dict[str, int]:
    """Open requests past the tenant's target and past the legal date (ids only: nothing decrypted)."""
    today = today or clock.today()
    legal = sa.func.coalesce(RightsRequest.extended_due_on, RightsRequest.legal_due_on)
    base = sa.select(sa.func.count(RightsRequest.id)).where(RightsRequest.status.in_(OPEN_STATUSES))
    return {"target": db.session.scalar(base.where(RightsRequest.target_due_on < today)),
            "legal": db.session.scalar(base.where(legal < today)),
            "open": db.session.scalar(base)}


def overdue_requests(today: date | None = None, limit: int = 10) -> list[RightsRequest]:
    today = today or clock.today()
    legal = sa.func.coalesce(RightsRequest.extended_due_on, RightsRequest.legal_due_on)
    return list(db.session.scalars(
        sa.select(RightsRequest).where(RightsRequest.status.in_(OPEN_STATUSES),
                                       sa.or_(RightsRequest.target_due_on < today, legal < today))
        .order_by(RightsRequest.target_due_on, RightsRequest.id).limit(limit)))


def due_for_reminder(today: date) -> list[RightsRequest]:
    """Open requests whose target or legal date is near (or passed) and whose reminder was not sent."""
    rows = db.session.scalars(sa.select(RightsRequest).where(RightsRequest.status.in_(OPEN_STATUSES)))
    return [r for r in rows
            if (r.reminded_target_on is None and deadlines.remind_target_on(r.target_due_on) <= today)
            or (r.reminded_legal_on is None and deadlines.remind_legal_on(r.effective_legal_due_on) <= today)]


def client_addresses(client_org_ids) -> dict[uuid.UUID, list[str]]:
    """The login addresses of each client organisation's users (staff of the controller, not data subjects)."""
    found: dict[uuid.UUID, list[str]] = {}
    ids = [i for i in client_org_ids if i is not None]
    if not ids:
        return found
    for org_id, email in db.session.execute(
            sa.select(Membership.client_org_id, User.email).join(User, Membership.user_id == User.id)
            .where(Membership.role == "client", Membership.client_org_id.in_(ids)).order_by(User.email)):
        found.setdefault(org_id, []).append(email)
    return found


def admin_addresses() -> list[str]:
    """The login addresses of the tenant's admins (staff, not data subjects), for reminders."""
    return list(db.session.scalars(sa.select(User.email).join(Membership, Membership.user_id == User.id)
                                   .where(Membership.role == "admin").order_by(User.email)))


# --- finding the person ------------------------------------------------------------------------------

def matching_subject_ids(email_bidx: bytes | None, phone_bidx: bytes | None) -> dict[uuid.UUID, str]:
    """Every subject of the tenant with this e-mail or phone blind index: {id: "email" | "phone"}.
    Blind indexes are compared as plain columns: nothing is decrypted. The erased are left out."""
    found: dict[uuid.UUID, str] = {}
    for column, value, how in ((DataSubject.phone_bidx, phone_bidx, "phone"),
                               (DataSubject.email_bidx, email_bidx, "email")):
        if value is not None:
            for subject_id in db.session.scalars(sa.select(DataSubject.id).where(column == value)):
                found[subject_id] = how
    erased = erasure_queries.erased_ids(found)
    return {k: v for k, v in found.items() if k not in erased}


def candidates_by_name(family_name: str, second: str, limit: int = 20) -> list[DataSubject]:
    """Records of the tenant with this family name and a second attribute that matches (given name, city,
    phone or e-mail): for the person whose records the blind indexes did not find. Names have no blind
    index, so the tenant's records are read and decrypted in batches: rare (a rights request), audited."""
    from saas.core.crypto.fields import normalise_phone, normalise_text

    wanted, other = normalise_text(family_name or ""), normalise_text(second or "")
    if not wanted or not other:
        return []
    found, after, read = [], None, 0
    while len(found) < limit:
        query = sa.select(DataSubject).order_by(DataSubject.id).limit(500)
        if after is not None:
            query = query.where(DataSubject.id > after)
        batch = list(db.session.scalars(query))
        if not batch:
            break
        after = batch[-1].id
        keyring().prefetch([s.id for s in batch])
        read += len(batch)
        for subject in batch:
            if normalise_text(subject.family_name or "") != wanted:
                continue
            values = {normalise_text(v) for v in (subject.given_name, subject.city, subject.email) if v}
            if subject.phone:
                values.add(normalise_phone(subject.phone))
            if other in values or normalise_phone(second) in values:
                found.append(subject)
    erased = erasure_queries.erased_ids([s.id for s in found])
    found = [s for s in found if s.id not in erased][:limit]
    audit.record("rights.search", "rights_request", None, detail={"read": read, "found": len(found)})
    return found


def linked_people(request: RightsRequest) -> list[RightsRequestPerson]:
    return list(db.session.scalars(sa.select(RightsRequestPerson)
                                   .where(RightsRequestPerson.request_id == request.id)
                                   .order_by(RightsRequestPerson.person_id)))


def linked_subjects(request: RightsRequest) -> list[DataSubject]:
    """The tenant's records of the person (those not erased since)."""
    ids = [link.person_id for link in linked_people(request)]
    if not ids:
        return []
    erased = erasure_queries.erased_ids(ids)
    subjects = list(db.session.scalars(sa.select(DataSubject).where(DataSubject.id.in_(
        [i for i in ids if i not in erased])).order_by(DataSubject.created_at, DataSubject.id)))
    keyring().prefetch([s.id for s in subjects])
    return subjects


def letters(request: RightsRequest) -> list[RightsLetter]:
    return list(db.session.scalars(sa.select(RightsLetter).where(RightsLetter.request_id == request.id)
                                   .order_by(RightsLetter.created_at, RightsLetter.id)))


def find_download(token_hash: bytes) -> RightsDownload | None:
    return db.session.scalar(sa.select(RightsDownload).where(RightsDownload.token_hash == token_hash))


def tenant_of_slug(slug: str) -> Tenant | None:
    if len(slug) > 64:
        return None
    return db.session.scalar(sa.select(Tenant).where(Tenant.slug == slug))


def aware(moment: datetime | None) -> datetime | None:
    """SQLite gives stored times back without their zone; they are UTC."""
    if moment is None or moment.tzinfo is not None:
        return moment
    return moment.replace(tzinfo=timezone.utc)


def expired(moment: datetime | None) -> bool:
    return moment is None or clock.now() >= aware(moment)


def require_open(request: RightsRequest) -> None:
    if not request.is_open:
        abort(409)


# --- the person's data, for access and portability ---------------------------------------------------

@dataclass(frozen=True)
class Report:
    """Everything art. 15(1) and (2) lists, for all records of one person; plain data for JSON and PDF."""

    data: dict


def client_names() -> dict[uuid.UUID, str]:
    """Client organisations by id (business data): whose database a record is in."""
    return _client_names()


def _client_names() -> dict[uuid.UUID, str]:
    return dict(db.session.execute(sa.select(ClientOrganisation.id, ClientOrganisation.name)).all())


def _retention(subject: DataSubject, tenant: Tenant) -> list[dict]:
    """What the live rules say about this record: each enabled rule of its category, its period, the date."""
    view = retention_queries.record_view(subject)
    rules = []
    for policy in effective_policies(tenant):
        if not policy.enabled or policy.definition.category != subject.category:
            continue
        due = due_on(policy, view)
        rules.append({"rule": policy.name, "action": policy.action, "period": policy.period.parts(),
                      "counted_from": policy.anchor, "due_on": due.isoformat() if due else None})
    return rules


def _rows_of(subject_ids: list[uuid.UUID], clients: dict) -> dict[uuid.UUID, dict]:
    extra: dict[uuid.UUID, dict] = {i: {"consents": [], "assignments": [], "call_notes": [], "files": [],
                                        "decisions": []} for i in subject_ids}
    for record in db.session.scalars(sa.select(ConsentRecord).where(ConsentRecord.subject_id.in_(subject_ids))
                                     .order_by(ConsentRecord.given_at)):
        extra[record.subject_id]["consents"].append({
            "purpose": record.purpose, "legal_basis": record.legal_basis, "channel": record.channel,
            "given_at": record.given_at.isoformat(), "expires_on": _iso(record.expires_on),
            "withdrawn_at": _iso(record.withdrawn_at)})
    for subject_id, title, client_org_id, active in db.session.execute(
            sa.select(AssignmentSubject.subject_id, Assignment.title, Assignment.client_org_id, Assignment.active)
            .join(Assignment, Assignment.id == AssignmentSubject.assignment_id)
            .where(AssignmentSubject.subject_id.in_(subject_ids))):
        extra[subject_id]["assignments"].append({"assignment": title, "client": clients.get(client_org_id),
                                                 "active": active})
    for note in db.session.scalars(sa.select(CallNote).where(CallNote.subject_id.in_(subject_ids))
                                   .order_by(CallNote.created_at)):
        extra[note.subject_id]["call_notes"].append({"at": note.created_at.isoformat(), "note": note.body})
    for stored in db.session.scalars(sa.select(StoredFile).where(StoredFile.subject_id.in_(subject_ids))):
        extra[stored.subject_id]["files"].append({"purpose": stored.purpose, "name": stored.filename,
                                                  "size": stored.size, "stored_at": stored.created_at.isoformat()})
    for decision in db.session.scalars(sa.select(RetentionDecision).where(
            RetentionDecision.record_id.in_(subject_ids)).order_by(RetentionDecision.decided_at)):
        extra[decision.record_id]["decisions"].append({
            "rule": decision.policy, "action": decision.action, "on": decision.due_on.isoformat(),
            "automated": decision.sweep_run_id is not None})
    return extra


def _iso(value) -> str | None:
    return value.isoformat() if value is not None else None


def access_report(request: RightsRequest) -> Report:
    """The person's records with everything art. 15 asks; audited as one read with the ids."""
    tenant = current_tenant()
    subjects = linked_subjects(request)
    clients = _client_names()
    extra = _rows_of([s.id for s in subjects], clients)
    records = []
    for subject in subjects:
        records.append({
            "record_id": str(subject.id),
            "category": subject.category,
            "fields": {name: getattr(subject, name) for name in PERSON_FIELDS if getattr(subject, name)},
            "database": clients.get(subject.client_org_id) or tenant.name,
            "source": _source(subject, clients, tenant),
            "recorded_on": subject.created_at.date().isoformat() if subject.created_at else None,
            "restricted": subject.restricted_at is not None,
            "restriction_reason": subject.restriction_reason,
            "retention": _retention(subject, tenant),
            **extra[subject.id],
        })
    recipients = sorted({r["database"] for r in records if r["database"] != tenant.name}
                        | {a["client"] for r in records for a in r["assignments"] if a["client"]})
    purposes = sorted({c["purpose"] for r in records for c in r["consents"]})
    data = {
        "controller": tenant.name,
        "request": {"id": str(request.id), "received_on": request.received_on.isoformat(), "kind": request.kind},
        "generated_at": clock.now().isoformat(),
        "records": records,
        "categories_of_data": sorted({name for r in records for name in r["fields"]}),
        "categories_of_person": sorted({r["category"] for r in records}),
        "purposes": purposes,
        "legal_bases": sorted({c["legal_basis"] for r in records for c in r["consents"]}),
        "recipients": recipients,
        "automated_decision_making": False,
        "rights": ["access (art. 15)", "rectification (art. 16)", "erasure (art. 17)", "restriction (art. 18)",
                   "portability (art. 20)", "objection (art. 21)", "withdraw consent (art. 7(3))",
                   "complaint to the Autoriteit Persoonsgegevens (art. 77)"],
    }
    audit.record("rights.report", "rights_request", request.id, detail={"records": len(records)})
    return Report(data)


def _source(subject: DataSubject, clients: dict, tenant: Tenant) -> str:
    """Where the record came from: the client organisation whose database it is (it uploaded it), or the
    tenant itself, with the record's own source label (import, web, ...) when it has one."""
    owner = clients.get(subject.client_org_id)
    who = f"client organisation {owner}" if owner else tenant.name
    return f"{who} ({subject.source})" if subject.source else who


# --- reports -------------------------------------------------------------------------------------------

REPORT_COLUMNS = ("month", "kind", "received", "answered", "refused", "open", "median_days",
                  "within_legal", "within_target")


def report(since: date | None = None) -> list[dict]:
    """Requests per month of receipt and kind: how many, how many answered or refused, the median number of
    days to the answer, and the share closed within the legal and within the tenant's own deadline (a
    request still open past a deadline counts as late). Dates only: nothing is decrypted."""
    query = sa.select(RightsRequest.received_on, RightsRequest.kind, RightsRequest.status,
                      RightsRequest.answered_at, RightsRequest.legal_due_on, RightsRequest.extended_due_on,
                      RightsRequest.target_due_on)
    if since is not None:
        query = query.where(RightsRequest.received_on >= since)
    today = clock.today()
    groups: dict[tuple[str, str], list] = {}
    for row in db.session.execute(query):
        groups.setdefault((row.received_on.strftime("%Y-%m"), row.kind), []).append(row)
    lines = []
    for (month, kind), rows in sorted(groups.items()):
        closed = [r for r in rows if r.answered_at is not None]
        days = sorted((clock.local(aware(r.answered_at)).date() - r.received_on).days for r in closed)
        decided = [r for r in rows if r.answered_at is not None or (r.extended_due_on or r.legal_due_on) < today
                   or r.target_due_on < today]

        def within(r, due) -> bool:
            return r.answered_at is not None and clock.local(aware(r.answered_at)).date() <= due

        lines.append({
            "month": month, "kind": kind, "received": len(rows),
            "answered": sum(r.status == "answered" for r in rows), "refused": sum(r.status == "refused" for r in rows),
            "open": sum(r.answered_at is None for r in rows),
            "median_days": _median(days),
            "within_legal": _share([within(r, r.extended_due_on or r.legal_due_on) for r in decided]),
            "within_target": _share([within(r, r.target_due_on) for r in decided]),
        })
    return lines


def _median(values: list[int]) -> float | None:
    if not values:
        return None
    middle = len(values) // 2
    return float(values[middle]) if len(values) % 2 else (values[middle - 1] + values[middle]) / 2


def _share(flags: list[bool]) -> float | None:
    return round(sum(flags) / len(flags), 3) if flags else None


# --- the personal page ---------------------------------------------------------------------------------

def find_personal_link(token_hash: bytes) -> PersonalLink | None:
    return db.session.scalar(sa.select(PersonalLink).where(PersonalLink.token_hash == token_hash))


def page_overview(link: PersonalLink) -> list[dict]:
    """The records holding exactly the page's address: whose database, what kind, active consents.
    Audited with the count."""
    if link.email_bidx is None:
        return []
    clients = _client_names()
    tenant = current_tenant()
    ids = matching_subject_ids(link.email_bidx, None)
    subjects = list(db.session.scalars(sa.select(DataSubject).where(DataSubject.id.in_(list(ids)))
                                       .order_by(DataSubject.created_at))) if ids else []
    consents = {}
    if subjects:
        for record in db.session.scalars(sa.select(ConsentRecord).where(
                ConsentRecord.subject_id.in_([s.id for s in subjects]), ConsentRecord.withdrawn_at.is_(None))):
            consents.setdefault(record.subject_id, []).append(record)
    audit.record("rights.page.read", "rights_personal_link", link.id, detail={"records": len(subjects)})
    return [{"database": clients.get(s.client_org_id) or tenant.name, "category": s.category,
             "restricted": s.restricted_at is not None, "consents": consents.get(s.id, [])} for s in subjects]
