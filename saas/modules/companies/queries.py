"""Reads of companies (general business data, not personal: nothing here is encrypted or audited as a read).
Client users see only their own client organisation's companies."""
from __future__ import annotations

import sqlalchemy as sa

from saas.core.paging import Page
from saas.core.web import get_or_404
from saas.extensions import db
from saas.modules.assignments import queries as need_to_know
from saas.modules.companies.models import Company
from saas.modules.subjects import queries as subjects_queries
from saas.modules.subjects.models import DataSubject


def _conditions(membership) -> list:
    if membership is not None and membership.role == "client":
        return [Company.client_org_id == membership.client_org_id]
    return []


def list_companies(page: int, per_page: int, *, needs_verification: bool = False, search: str | None = None) -> Page:
    """One page of companies by name; `search` matches a part of the name, the city or the KvK number."""
    conditions = _conditions(subjects_queries.viewer())
    if needs_verification:
        conditions.append(Company.needs_verification_since.is_not(None))
    if search:
        term = search.strip().lower()   # matched literally: % and _ are escaped, not wildcards
        conditions.append(sa.or_(sa.func.lower(Company.name).contains(term, autoescape=True),
                                 sa.func.lower(Company.city).contains(term, autoescape=True),
                                 Company.kvk_number.contains(term, autoescape=True)))
    total = db.session.scalar(sa.select(sa.func.count(Company.id)).where(*conditions))
    items = list(db.session.scalars(sa.select(Company).where(*conditions).order_by(Company.name, Company.id)
                                    .limit(per_page).offset((page - 1) * per_page)))
    return Page(items, total, page, per_page)


def find_company(company_id, action: str = "company.read") -> Company:
    """The company if the current member may see it; otherwise 404 (a refusal within the tenant is audited)."""
    company = get_or_404(Company, company_id)
    conditions = _conditions(subjects_queries.viewer())
    if conditions and db.session.scalar(sa.select(Company.id).where(Company.id == company.id, *conditions)) is None:
        subjects_queries.refuse(action, company.id)
    return company


def find_by_kvk(kvk_number: str) -> Company | None:
    return db.session.scalar(sa.select(Company).where(Company.kvk_number == kvk_number))


def subject_count(company: Company) -> int:
    """How many data subjects working at the company the current member may see (a count: nothing read)."""
    conditions = need_to_know.subject_conditions(subjects_queries.viewer())
    return db.session.scalar(sa.select(sa.func.count(DataSubject.id))
                             .where(DataSubject.company_id == company.id, *conditions))
