"""Reading agreements, templates, signers, trails and sub-processors of the current tenant. Nothing here
writes; every query runs inside the tenant (the ORM filter and row-level security)."""
from __future__ import annotations

import uuid
from datetime import datetime, timezone

import sqlalchemy as sa

from saas.core import clock
from saas.core.paging import Page
from saas.extensions import db
from saas.modules.agreements.models import (
    AGREEMENT_STATES, Agreement, AgreementTemplate, Signer, SigningEvent, SubProcessor,
)
from saas.modules.assignments.models import Assignment

OPEN_STATES = ("sent", "viewed", "signed", "countersigned")
LIVE_STATES = ("draft", *OPEN_STATES, "completed")      # an agreement that still covers (or will cover)
FILTERS = ("open", *AGREEMENT_STATES)


def aware(moment: datetime | None) -> datetime | None:
    """SQLite hands stored UTC times back without their zone."""
    if moment is None or moment.tzinfo is not None:
        return moment
    return moment.replace(tzinfo=timezone.utc)


# ---- templates ---------------------------------------------------------------------------------

def templates() -> list[AgreementTemplate]:
    query = sa.select(AgreementTemplate).order_by(AgreementTemplate.key, AgreementTemplate.language,
                                                  AgreementTemplate.version.desc())
    return list(db.session.scalars(query))


def template_versions(key: str, language: str) -> list[AgreementTemplate]:
    query = (sa.select(AgreementTemplate).where(AgreementTemplate.key == key, AgreementTemplate.language == language)
             .order_by(AgreementTemplate.version.desc()))
    return list(db.session.scalars(query))


def published_templates() -> list[AgreementTemplate]:
    query = (sa.select(AgreementTemplate).where(AgreementTemplate.status == "published")
             .order_by(AgreementTemplate.key, AgreementTemplate.language))
    return list(db.session.scalars(query))


def latest_published(key: str, language: str) -> AgreementTemplate | None:
    return next((t for t in template_versions(key, language) if t.status == "published"), None)


def open_draft(key: str, language: str) -> AgreementTemplate | None:
    return next((t for t in template_versions(key, language) if t.status == "draft"), None)


def tenant_clauses(tenant, language: str) -> list[dict]:
    """The sector clauses of the tenant's plugins, in the agreement's language."""
    from saas.plugins.manager import current_registry

    clauses = current_registry().of("saas_agreement_clauses", tenant.plugins or [])
    return [{"name": c.name, "title": c.title_nl if language == "nl" else c.title_en,
             "text": c.text_nl if language == "nl" else c.text_en}
            for c in sorted(clauses, key=lambda c: c.name)]


# ---- agreements --------------------------------------------------------------------------------

def list_agreements(page: int, per_page: int, status: str | None = None) -> Page[Agreement]:
    query = sa.select(Agreement)
    if status == "open":
        query = query.where(Agreement.status.in_(OPEN_STATES))
    elif status:
        query = query.where(Agreement.status == status)
    total = db.session.scalar(sa.select(sa.func.count()).select_from(query.subquery()))
    rows = db.session.scalars(query.order_by(Agreement.created_at.desc(), Agreement.number.desc())
                              .limit(per_page).offset((page - 1) * per_page))
    return Page(list(rows), total, page, per_page)


def all_agreements() -> list[Agreement]:
    return list(db.session.scalars(sa.select(Agreement).order_by(Agreement.created_at)))


def signers_of(agreement: Agreement) -> list[Signer]:
    query = sa.select(Signer).where(Signer.agreement_id == agreement.id).order_by(Signer.side, Signer.created_at)
    return list(db.session.scalars(query))


def counterparty_signers(agreement: Agreement) -> list[Signer]:
    return [s for s in signers_of(agreement) if s.side == "counterparty"]


def tenant_signer(agreement: Agreement) -> Signer | None:
    return next((s for s in signers_of(agreement) if s.side == "tenant"), None)


def events_of(agreement: Agreement) -> list[SigningEvent]:
    query = (sa.select(SigningEvent).where(SigningEvent.agreement_id == agreement.id)
             .order_by(SigningEvent.at, SigningEvent.id))
    return list(db.session.scalars(query))


def next_number(year: int) -> str:
    """VO-<year>-<n>: one more than the highest first-version number of that year."""
    prefix = f"VO-{year}-"
    numbers = db.session.scalars(sa.select(Agreement.number).where(Agreement.number.like(f"{prefix}%")))
    highest = max((int(n[len(prefix):len(prefix) + 4]) for n in numbers if n[len(prefix):len(prefix) + 4].isdigit()),
                  default=0)
    return f"{prefix}{highest + 1:04d}"


def due_for_reminder(now: datetime) -> list[Agreement]:
    """Open for signing, not expired, reminders on, and the last mail `reminder_days` or more ago."""
    query = sa.select(Agreement).where(Agreement.status.in_(("sent", "viewed")), Agreement.reminder_days > 0,
                                       Agreement.expires_at > now)
    due = []
    for agreement in db.session.scalars(query):
        last = aware(agreement.last_reminder_at or agreement.sent_at)
        if last is not None and (now - last).total_seconds() >= agreement.reminder_days * 86400:
            due.append(agreement)
    return due


def overdue(now: datetime) -> list[Agreement]:
    query = sa.select(Agreement).where(Agreement.status.in_(("sent", "viewed")), Agreement.expires_at <= now)
    return list(db.session.scalars(query))


# ---- assignments -------------------------------------------------------------------------------

def assignments() -> list[Assignment]:
    return list(db.session.scalars(sa.select(Assignment).order_by(Assignment.title)))


def assignment_of(agreement: Agreement) -> Assignment | None:
    return db.session.scalar(sa.select(Assignment).where(Assignment.agreement_id == agreement.id))


def assignment_titles(agreement_ids) -> dict[uuid.UUID, str]:
    ids = list(agreement_ids)
    if not ids:
        return {}
    query = sa.select(Assignment.agreement_id, Assignment.title).where(Assignment.agreement_id.in_(ids))
    rows = db.session.execute(query)
    return {agreement_id: title for agreement_id, title in rows}


def covers_assignment(assignment: Assignment) -> bool:
    """Whether the assignment's processor agreement is completed (signed, countersigned and sealed):
    until then agents get no access to its data (Leadhunter, one agreement per assignment)."""
    if assignment.agreement_id is None:
        return False
    agreement = db.session.get(Agreement, assignment.agreement_id)
    return agreement is not None and agreement.status == "completed"


# ---- sub-processors ----------------------------------------------------------------------------

def sub_processors_of(agreement: Agreement) -> list[SubProcessor]:
    query = sa.select(SubProcessor).where(SubProcessor.agreement_id == agreement.id).order_by(SubProcessor.created_at)
    return list(db.session.scalars(query))


def sub_processor_state(sub: SubProcessor, now: datetime | None = None) -> str:
    """existing | announced | objected | effective | removal_announced | removed"""
    now = now or clock.now()
    if sub.change == "existing" or sub.announced_at is None:
        return "existing"
    if sub.objected_at is not None:
        return "objected"
    window_open = now <= aware(sub.objection_until)
    if sub.change == "added":
        return "announced" if window_open else "effective"
    return "removal_announced" if window_open else "removed"


def in_annex(sub: SubProcessor, now: datetime | None = None) -> bool:
    """Whether a sub-processor belongs in the annex of a new version of the agreement: not one whose
    addition is still open or was objected to, nor one whose removal took effect."""
    state = sub_processor_state(sub, now)
    if state == "objected":
        return sub.change == "removed"
    return state in ("existing", "effective", "removal_announced")


def open_objection_deadlines(agreement_ids) -> dict[uuid.UUID, datetime]:
    """The earliest open objection deadline per agreement (for the list's deadline column)."""
    ids = list(agreement_ids)
    if not ids:
        return {}
    now = clock.now()
    query = (sa.select(SubProcessor.agreement_id, sa.func.min(SubProcessor.objection_until))
             .where(SubProcessor.agreement_id.in_(ids), SubProcessor.objection_until >= now,
                    SubProcessor.objected_at.is_(None))
             .group_by(SubProcessor.agreement_id))
    return {agreement_id: aware(until) for agreement_id, until in db.session.execute(query)}


def sub_processor_by_token_hash(token_hash: bytes) -> SubProcessor | None:
    return db.session.scalar(sa.select(SubProcessor).where(SubProcessor.objection_token_hash == token_hash))


# ---- people of the tenant ----------------------------------------------------------------------

def tenant_admins() -> list:
    """The members who sign agreements for the tenant (the access policy's "sign" on agreements)."""
    from saas.access import policy
    from saas.modules.accounts.models import Membership

    query = sa.select(Membership).where(Membership.role.in_(sorted(policy.roles_for("sign", "agreement"))))
    return sorted((m.user for m in db.session.scalars(query) if m.user.active), key=lambda u: u.display_name.lower())
