"""Reads of data subjects, limited to what the current member may see.

Every read of personal data writes an audit line (ids and counts only) in the current transaction;
the caller commits, as for writes. Who reads: `g.membership` inside a request (a request without a
member sees nothing); outside a request (jobs, commands) the system reads the whole tenant.
Client users see only their own client organisation's subjects.
"""
from __future__ import annotations

import uuid

import sqlalchemy as sa
from flask import abort, g, has_request_context

from saas.core.tenancy import require_tenant_id
from saas.core.crypto.keyring import keyring
from saas.core.web import get_or_404
from saas.core.paging import Page
from saas.extensions import db
from saas.modules.accounts.models import Membership
from saas.modules.audit import operations as audit
from saas.modules.clients.models import ClientOrganisation
from saas.modules.subjects.models import CATEGORIES, DataSubject
from saas.modules.tenants.models import Tenant
from saas.plugins.manager import current_registry

WRITER_ROLES = ("admin", "supervisor", "client")


def viewer() -> Membership | None:
    """The member reading now, or None for system code outside a request."""
    if not has_request_context():
        return None
    membership = getattr(g, "membership", None)
    if membership is None:
        abort(404)
    return membership


def _visible_to(member: Membership | None) -> list:
    if member is not None and member.role == "client":
        return [DataSubject.client_org_id == member.client_org_id]
    return []


def refuse(action: str, object_id=None, *, status: int = 404, message: str | None = None):
    """Audit a refused access (outcome "denied") and stop the request."""
    audit.record_refusal(action, "data_subject", object_id)
    abort(status, description=message)


def require_write(action: str, object_id=None) -> None:
    member = viewer()
    if member is not None and member.role not in WRITER_ROLES:
        refuse(action, object_id, status=403, message="your role may read data subjects but not change them")


def list_subjects(page: int, per_page: int, category: str | None = None) -> Page:
    """One page of subjects, newest first; the read is audited as one line with count and page."""
    conditions = _visible_to(viewer())
    if category:
        conditions.append(DataSubject.category == category)
    total = db.session.scalar(sa.select(sa.func.count(DataSubject.id)).where(*conditions))
    items = list(db.session.scalars(
        sa.select(DataSubject).where(*conditions)
        .order_by(DataSubject.created_at.desc(), DataSubject.id)
        .limit(per_page).offset((page - 1) * per_page)
    ))
    keyring().prefetch([subject.id for subject in items])
    audit.record("subject.list", "data_subject", None,
                 detail={"count": len(items), "total": total, "page": page, "per_page": per_page})
    return Page(items, total, page, per_page)


def find_subject(subject_id, action: str = "subject.read") -> DataSubject:
    """The subject if the current member may see it; otherwise 404 (another client's subject is
    audited as a refusal). Not audited as a read: the caller records what it does with it."""
    subject = get_or_404(DataSubject, subject_id)
    member = viewer()
    if member is not None and member.role == "client" and subject.client_org_id != member.client_org_id:
        refuse(action, subject.id)
    return subject


def get_subject(subject_id) -> DataSubject:
    """One subject for display: the read is audited with the subject's id."""
    subject = find_subject(subject_id, "subject.read")
    audit.record("subject.read", "data_subject", subject.id)
    return subject


def allowed_categories() -> list[str]:
    """The core categories plus those of the current tenant's sector plugins."""
    tenant = db.session.get(Tenant, require_tenant_id())
    registry = current_registry()
    from_plugins = [d.name for d in registry.of("saas_subject_categories", tenant.plugins or [])]
    return sorted(set(CATEGORIES) | set(from_plugins))


def client_org_exists(org_id: uuid.UUID) -> bool:
    return db.session.get(ClientOrganisation, org_id) is not None
