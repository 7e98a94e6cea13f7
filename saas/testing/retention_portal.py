"""Shared set-up of the retention portal tests: a lead-generation tenant with the real `leadgen` plugin,
its settings and two `[retention."..."]` overrides, and helpers to read the pages."""
from __future__ import annotations

import html
import re
import uuid

import pytest
import sqlalchemy as sa

from plugins.leadgen.plugin import LeadgenSettings
from saas.core import tenancy
from saas.extensions import db

# One period override (10 instead of 12 months) and one policy switched off, as tenants/<slug>.toml would.
OVERRIDES = {
    "leadgen.prospect_unverified": {"months": 10},
    "leadgen.company_verification": {"enabled": False},
}


def leadgen_settings(**changes) -> dict:
    """The leadgen settings as `saas tenants sync` stores them (defaults filled in). Agents see an
    assignment's subjects without a completed processor agreement here: that is the agreements' business."""
    return LeadgenSettings().load({"agreement_per_assignment": False, **changes})


@pytest.fixture()
def leadgen_tenant(make_tenant):
    def _make(locale: str = "en", **fields):
        fields.setdefault("plugins", ["leadgen"])
        fields.setdefault("settings", {"leadgen": leadgen_settings()})
        fields.setdefault("retention", OVERRIDES)
        return make_tenant(locale=locale, **fields)

    return _make


@pytest.fixture()
def make_company(ctx):
    from saas.modules.companies.models import Company

    def _make(tenant, **fields):
        db.session.commit()
        tenancy.set_tenant(tenant.id)
        fields.setdefault("name", f"Bedrijf {uuid.uuid4().hex[:6]}")
        company = Company(**fields)
        db.session.add(company)
        db.session.commit()
        db.session.refresh(company)
        db.session.expunge(company)
        tenancy.set_tenant(None)
        return company

    return _make


@pytest.fixture()
def read_row(ctx):
    """read_row(tenant, Model, id) -> the row as the tenant sees it now (None when gone)."""

    def _read(tenant, model, row_id):
        db.session.commit()
        tenancy.set_tenant(tenant.id)
        db.session.expire_all()
        row = db.session.scalar(sa.select(model).where(model.id == row_id))
        if row is not None:
            db.session.expunge(row)
        db.session.commit()
        tenancy.set_tenant(None)
        return row

    return _read


def text_of(response) -> str:
    """The page as text with entities resolved (the seed sentences are quoted as they are written)."""
    return html.unescape(response.get_data(as_text=True))


def article(page: str, policy_name: str) -> str:
    """The card of one policy on the retention page."""
    start = page.index(f'id="policy-{policy_name}"')
    return page[start:page.index("</article>", start)]


_ROW = re.compile(r'<tr data-month="(\d{4}-\d{2})">(.*?)</tr>', re.S)
_CELL = re.compile(r'data-action="(\w+)">(\d+)<')


def forecast_rows(page: str) -> dict[str, dict[str, int]]:
    """{"2026-04": {"flag": 1, ..., "total": 1}, ...} from the forecast's data table."""
    return {month: {action: int(n) for action, n in _CELL.findall(cells)} for month, cells in _ROW.findall(page)}
