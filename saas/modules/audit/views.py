"""/<tenant>/audit: the tenant's audit log for its admins, newest first."""
from __future__ import annotations

from flask import render_template, request

from saas.core.web import tenant_blueprint
from saas import access
from saas.modules.audit import queries

bp = tenant_blueprint("audit", __name__, template_folder="templates")
PER_PAGE = 50


@bp.get("/audit")
@access.requires("list", "audit")
def index():
    page = max(1, request.args.get("page", 1, type=int))
    return render_template("audit/index.html", entries=queries.recent_entries(page, PER_PAGE))
