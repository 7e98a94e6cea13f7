"""/api/v1/<tenant>/clients/<id>/export and /api/v1/<tenant>/assignments/<id>/export: a client's database
(or one assignment of it) as CSV, XLSX or JSON, streamed and audited, with a token the client user makes in
the portal (`/<tenant>/tokens`)."""
from __future__ import annotations

from flask.views import MethodView

from saas import access
from saas.api import api_blueprint
from saas.modules.assignments import queries as assignments_queries
from saas.modules.exports import operations, queries
from saas.modules.exports.schemas import EXPORT_RESPONSES, ExportArgs

blp = api_blueprint("exports_api", __name__, description="Downloads of a client organisation's database at any "
                    "time (seed 004 s.3): the client its own, the supervisor of its assignments and the admin.")


@blp.route("/clients/<client_org_id>/export")
class DatabaseExport(MethodView):
    @access.requires("export", "client_database")
    @blp.arguments(ExportArgs, location="query")
    @blp.doc(responses=EXPORT_RESPONSES)
    def get(self, args, client_org_id):
        """The whole database of a client organisation."""
        return operations.download(queries.find_database(client_org_id, "export"), args["format"])


@blp.route("/assignments/<assignment_id>/export")
class AssignmentExport(MethodView):
    @access.requires("export", "assignment")
    @blp.arguments(ExportArgs, location="query")
    @blp.doc(responses=EXPORT_RESPONSES)
    def get(self, args, assignment_id):
        """One assignment's part of the database, also when it is no longer active."""
        assignment = assignments_queries.find_assignment(assignment_id, "export")
        return operations.download(queries.find_database(assignment.client_org_id, "export"), args["format"],
                                   assignment)
