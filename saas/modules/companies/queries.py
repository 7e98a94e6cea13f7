"""Reads of companies (general business data, not personal: nothing here is encrypted or audited as a read).
Who sees which company is the access policy's (`saas.access.scopes.company_conditions`): a client
user only through records of its own organisation."""
from __future__ import annotations

import sqlalchemy as sa

from saas.core.paging import Page
from saas.core.web import get_or_404
from saas.extensions import db
from saas.access import policy as access
from saas.access import scopes
from saas.modules.companies.models import Company
from saas.modules.subjects import queries as subjects_queries
from saas.modules.subjects.models import DataSubject


def list_companies(page: int, per_page: int, *, needs_verification: bool = False, search: str | None = None) -> Page:
    """One page of companies by name; `search` matches a part of the name, the city or the KvK number."""
    conditions = scopes.company_conditions(subjects_queries.viewer())
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


def find_company(company_id, action: str = "view", *, audit_as: str | None = None) -> Company:
    """The company if the current member may do `action` (a policy action) with it; otherwise 404 (a refusal
    within the tenant is audited)."""
    company = get_or_404(Company, company_id)
    access.require(action, company, audit_as=audit_as)
    return company


def find_by_kvk(kvk_number: str) -> Company | None:
    return db.session.scalar(sa.select(Company).where(Company.kvk_number == kvk_number))


def subject_count(company: Company) -> int:
    """How many data subjects working at the company the current member may see (a count: nothing read)."""
    conditions = scopes.subject_conditions(subjects_queries.viewer())
    return db.session.scalar(sa.select(sa.func.count(DataSubject.id))
                             .where(DataSubject.company_id == company.id, *conditions))
