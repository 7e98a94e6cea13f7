"""The tenant dashboard at /<tenant>/: counts that fit the member's role, and links onward."""
from __future__ import annotations

from flask import g, render_template

from saas.core.web import tenant_blueprint
from saas import access
from saas.access import policy, scopes
from saas.modules.dashboard import queries
from saas.modules.rights import queries as rights_queries
from saas.modules.subjects.forms import category_label

bp = tenant_blueprint("dashboard", __name__, template_folder="templates")


@bp.app_template_filter("category_plural")
def category_plural(category: str) -> str:
    """Plural for the counts, as the sector plugin names it (its singular label when it gives none)."""
    return category_label(category, plural=True)


def _overview(membership) -> dict:
    """Staff who manage the tenant see its totals; a client sees its own organisation's database only, the
    board the HR files; an agent sees no totals (need-to-know). All decided by the access policy."""
    overview: dict = {}
    if policy.sees_whole_tenant(membership):
        overview["members"] = queries.members_by_role()
        overview["client_organisations"] = queries.client_organisation_count()
    if not scopes.uses_only_usable(membership):
        overview["subjects"] = queries.subjects_by_category(scopes.subject_conditions(membership))
    if access.can(membership, "list", "audit"):
        overview["audit_today"] = queries.audit_entries_today()
    if access.can(membership, "list", "rights_request"):
        # Overdue rights requests go at the top of the page (issue 12): past the tenant's target or the law's.
        overview["rights"] = rights_queries.overdue_count()
        overview["rights_overdue"] = rights_queries.overdue_requests()
    return overview


@bp.get("/")
@access.requires("view", "dashboard")
def index():
    overview = _overview(g.membership)
    subjects = overview.get("subjects")
    return render_template(
        "dashboard/index.html", overview=overview, categories=sorted(subjects or {}, key=category_plural),
        subjects_total=sum(subjects.values()) if subjects is not None else None,
        members_total=sum(overview["members"].values()) if "members" in overview else None,
    )
