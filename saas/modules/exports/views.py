"""Downloads of a client's database in the portal: the whole database of a client organisation or one
assignment, as CSV, XLSX or JSON. Who may: the client (its own), the supervisor of its assignments and the
administrator (`client_database` in the access policy); anyone else, or another client's id, gets 404."""
from __future__ import annotations

from flask import request
from flask_babel import gettext as _

from saas import access
from saas.core.errors import DomainError
from saas.core.web import tenant_blueprint
from saas.modules.assignments import queries as assignments_queries
from saas.modules.exports import operations, queries
from saas.modules.exports.formats import FORMATS

bp = tenant_blueprint("exports", __name__, template_folder="templates")


def _format() -> str:
    fmt = request.args.get("format", "xlsx")
    if fmt not in FORMATS:
        raise DomainError(_("Choose the format csv, xlsx or json."), reason="unknown_format")
    return fmt


@bp.get("/clients/<client_org_id>/export")
@access.requires("export", "client_database")
def database(client_org_id):
    organisation = queries.find_database(client_org_id, "export")
    return operations.download(organisation, _format())


@bp.get("/assignments/<assignment_id>/export")
@access.requires("export", "assignment")
def assignment(assignment_id):
    """One assignment's part of the database, also when it is no longer active (seed 004 s.4.3)."""
    found = assignments_queries.find_assignment(assignment_id, "export")
    organisation = queries.find_database(found.client_org_id, "export")
    return operations.download(organisation, _format(), found)
