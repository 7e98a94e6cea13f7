"""Writes of companies. Callers commit. Companies are business data: never deleted by retention, only
flagged for verification (seed 004); verifying is `saas.modules.retention.operations.verify_record`."""
from __future__ import annotations

import sqlalchemy as sa
from flask_babel import lazy_gettext as _l

from saas.core import clock
from saas.extensions import db
from saas.access import scopes
from saas.modules.audit import operations as audit
from saas.modules.companies import queries
from saas.modules.companies.models import Company
from saas.modules.subjects import queries as subjects_queries
from saas.modules.subjects.models import DataSubject
from saas.modules.subjects.schemas import Rejected


class CompanyRejected(Rejected):
    """A company's values break a rule."""


def _check(values: dict, company: Company | None = None) -> None:
    errors = {}
    if (company is None or values.get("client_org_id", company.client_org_id) != company.client_org_id) and \
            not scopes.client_org_in_scope(subjects_queries.viewer(), values.get("client_org_id")):
        # A supervisor files companies only under the clients they supervise for, or none (seed 004, section 3).
        errors["client_org_id"] = [_l("You can only keep companies of a client organisation whose assignment you "
                                      "supervise, or of no client organisation.")]
    kvk = values.get("kvk_number")
    if kvk:
        other = queries.find_by_kvk(kvk)
        if other is not None and other is not company:
            errors["kvk_number"] = [_l("A company with this KvK number exists already.")]
    verified = values.get("last_verified_on")
    if verified is not None and verified > clock.today():
        errors["last_verified_on"] = [_l("This date lies in the future.")]
    if errors:
        raise CompanyRejected(errors)


def _clean(data: dict) -> dict:
    return {k: (" ".join(v.split()) or None) if isinstance(v, str) else v for k, v in data.items()}


def create_company(data: dict) -> Company:
    data = _clean(data)
    _check(data)
    company = Company(**data)
    db.session.add(company)
    db.session.flush()
    audit.record("company.create", "company", company.id)
    return company


def update_company(company: Company, data: dict) -> Company:
    data = _clean(data)
    _check({"kvk_number": company.kvk_number, "last_verified_on": company.last_verified_on, **data}, company)
    for name, value in data.items():
        setattr(company, name, value)
    db.session.flush()
    audit.record("company.update", "company", company.id, detail={"fields": sorted(data)})
    return company


def delete_company(company: Company) -> None:
    """Remove a company; the people who worked there stay, without the link."""
    unlinked = db.session.execute(
        sa.update(DataSubject).where(DataSubject.company_id == company.id).values(company_id=None)
        .execution_options(synchronize_session="fetch")).rowcount
    company_id = company.id
    db.session.delete(company)
    db.session.flush()
    audit.record("company.delete", "company", company_id, detail={"subjects_unlinked": unlinked})
