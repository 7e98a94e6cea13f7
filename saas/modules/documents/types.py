"""The document types a tenant may use: those its sector plugins declare, plus core's own `other`."""
from __future__ import annotations

from datetime import date

from dateutil.relativedelta import relativedelta

from saas.core.tenancy import require_tenant_id
from saas.extensions import db
from saas.modules.tenants.models import Tenant
from saas.plugins.definitions import DocumentType
from saas.plugins.manager import current_registry

HOOK = "saas_document_types"
OTHER = DocumentType(name="other", version=1, label_nl="Overig", label_en="Other", plugin="core",
                     description="Kept as long as the person; removed with the person.")


def of_tenant() -> list[DocumentType]:
    tenant = db.session.get(Tenant, require_tenant_id())
    declared = current_registry().of(HOOK, tenant.plugins or [])
    return sorted(declared, key=lambda t: t.name) + [OTHER]


def find(name: str) -> DocumentType | None:
    """A type the current tenant may use, by name; None for an unknown one or another sector's."""
    return next((t for t in of_tenant() if t.name == name), None)


def label(doc_type: DocumentType, locale: str) -> str:
    return doc_type.label_nl if locale == "nl" else doc_type.label_en


def due_on(doc_type: DocumentType, uploaded_on: date, expires_on: date | None) -> date | None:
    """The day the document itself is removed; None when it is kept with its person (or has no end date)."""
    anchor = {"uploaded_on": uploaded_on, "expires_on": expires_on}.get(doc_type.anchor)
    if anchor is None:
        return None
    return anchor + relativedelta(years=doc_type.years, months=doc_type.months, days=doc_type.days)
