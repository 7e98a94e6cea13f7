"""Reads of data subjects, limited to what the current member may see.

Every read of personal data writes an audit line (ids and counts only) in the current transaction;
the caller commits, as for writes. Who reads: `g.membership` inside a request (a request without a
member sees nothing); outside a request (jobs, commands) the system reads the whole tenant.
Who sees and changes which person is decided by the access policy (`saas.access`): client users
see only their own client organisation's people, agents only the usable people of their open assignments,
the board only HR files.
"""
from __future__ import annotations

import uuid

import sqlalchemy as sa
from flask import abort, g, has_request_context

from saas.core.tenancy import require_tenant_id
from saas.core.web import get_or_404
from saas.core.paging import Page
from saas.extensions import db
from saas.modules.accounts.models import Membership
from saas.access import policy as access
from saas.access import scopes
from saas.modules.audit import operations as audit
from saas.modules.clients.models import ClientOrganisation
from saas.modules.companies.models import Company
from saas.modules.erasure import queries as erasure_queries
from saas.modules.subjects.models import DataSubject
from saas.modules.tenants.models import Tenant
from saas.plugins.manager import current_registry

# Audit names of the writes -> the policy's actions on a person.
_WRITES = {"subject.create": "create", "subject.update": "edit", "subject.delete": "erase"}


def viewer() -> Membership | None:
    """The member reading now, or None for system code outside a request."""
    if not has_request_context():
        return None
    membership = getattr(g, "membership", None)
    if membership is None:
        abort(404)
    return membership


def refuse(action: str, object_id=None, *, status: int = 404, message: str | None = None):
    """Audit a refused access (outcome "denied") and stop the request."""
    audit.record_refusal(action, "data_subject", object_id)
    abort(status, description=message)


def require_write(action: str, object_id=None) -> None:
    """The policy's yes for a write on people (`action`: its audit name), or 404 with an audited refusal."""
    member = viewer()
    if member is not None and not access.allowed(member.role, _WRITES.get(action, "edit"), "person"):
        refuse(action, object_id)


def list_subjects(page: int, per_page: int, category: str | None = None, *, needs_verification: bool = False,
                  company_id: uuid.UUID | None = None) -> Page:
    """One page of subjects, newest first; the read is audited as one line with count and page.
    `needs_verification`: only the subjects flagged for verification (an agent sees those of its
    assignments only in this list, to verify them)."""
    conditions = scopes.subject_conditions(viewer(), verifying=needs_verification)
    if category:
        conditions.append(DataSubject.category == category)
    if needs_verification:
        conditions.append(DataSubject.needs_verification_since.is_not(None))
    if company_id is not None:
        conditions.append(DataSubject.company_id == company_id)
    total = db.session.scalar(sa.select(sa.func.count(DataSubject.id)).where(*conditions))
    items = list(db.session.scalars(
        sa.select(DataSubject).where(*conditions)
        .order_by(DataSubject.created_at.desc(), DataSubject.id)
        .limit(per_page).offset((page - 1) * per_page)
    ))
    gone = erasure_queries.gone_ids([subject.id for subject in items])   # fetches the others' keys
    if gone:   # key gone, rows left (a killed purge, a restore): erased, so not listed nor counted
        items = [subject for subject in items if subject.id not in gone]
        total -= len(gone)
    audit.record("subject.list", "data_subject", None,
                 detail={"count": len(items), "total": total, "page": page, "per_page": per_page})
    return Page(items, total, page, per_page)


def find_subject(subject_id, action: str = "subject.read", *, verifying: bool = False) -> DataSubject:
    """The subject if the current member may see it; otherwise 404 (a subject of the tenant this member may
    not see is audited as a refusal). Not audited as a read: the caller records what it does with it.
    `verifying`: for the verification page, where an agent may open a flagged subject of its assignments."""
    subject = get_or_404(DataSubject, subject_id)
    if erasure_queries.is_gone(subject.id):
        abort(404)   # a person whose key is gone is erased: not found, never an error
    if not scopes.can_see_subject(viewer(), subject, verifying=verifying):
        refuse(action, subject.id)
    return subject


def get_subject(subject_id) -> DataSubject:
    """One subject for display: the read is audited with the subject's id."""
    subject = find_subject(subject_id, "subject.read")
    audit.record("subject.read", "data_subject", subject.id)
    return subject


def allowed_categories() -> list[str]:
    """The categories of the current tenant's sector plugins (core has none of its own)."""
    tenant = db.session.get(Tenant, require_tenant_id())
    return current_registry().categories(tenant.plugins or [])


def client_org_exists(org_id: uuid.UUID) -> bool:
    return db.session.get(ClientOrganisation, org_id) is not None


def company_exists(company_id: uuid.UUID) -> bool:
    return db.session.get(Company, company_id) is not None


def companies() -> list[Company]:
    """Companies a subject can work at that the current member may see, by name (business data: nothing to
    audit)."""
    return list(db.session.scalars(sa.select(Company).where(*scopes.company_conditions(viewer()))
                                   .order_by(Company.name, Company.id)))


def company_name(company_id) -> str | None:
    """The company's name if the current member may see the company (a client: only through records of
    its own organisation); else None, so a filter by id reveals nothing."""
    company = db.session.get(Company, company_id) if company_id is not None else None
    if company is None or not scopes.can_see_company(viewer(), company):
        return None
    return company.name
