"""/api/v1/<tenant>/subjects: list, create, read, change and erase data subjects."""
from __future__ import annotations

from flask.views import MethodView

from saas.api import api_blueprint
from saas.modules.subjects import operations, queries
from saas.modules.subjects.schemas import SubjectCreate, SubjectListArgs, SubjectOut, SubjectUpdate

blp = api_blueprint(
    "subjects_api", __name__, "/subjects",
    description="Data subjects of the tenant. Every read is audited; delete erases by crypto-shredding.",
)


@blp.route("")
class Subjects(MethodView):
    @blp.arguments(SubjectListArgs, location="query")
    @blp.response(200, SubjectOut(many=True))
    @blp.paginate(page_size=20, max_page_size=100)
    def get(self, args, pagination_parameters):
        """List subjects, newest first (paging in the X-Pagination header)."""
        page = queries.list_subjects(pagination_parameters.page, pagination_parameters.page_size,
                                     args.get("category"))
        pagination_parameters.item_count = page.total
        return page.items

    @blp.arguments(SubjectCreate)
    @blp.response(201, SubjectOut)
    def post(self, data):
        """Add a subject."""
        return operations.create_subject(data)


@blp.route("/<subject_id>")
class SubjectItem(MethodView):
    @blp.response(200, SubjectOut)
    def get(self, subject_id):
        """Read one subject."""
        return queries.get_subject(subject_id)

    @blp.arguments(SubjectUpdate)
    @blp.response(200, SubjectOut)
    def patch(self, data, subject_id):
        """Change some fields of a subject."""
        return operations.update_subject(queries.find_subject(subject_id, "subject.update"), data)

    @blp.response(204)
    def delete(self, subject_id):
        """Erase a subject: its key is destroyed, its row deleted."""
        operations.delete_subject(queries.find_subject(subject_id, "subject.delete"))
