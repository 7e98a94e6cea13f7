"""/api/v1/<tenant>/subjects: list, create, read, change, verify and erase data subjects."""
from __future__ import annotations

from flask import Response
from flask.views import MethodView

from saas.api import api_blueprint
from saas import access
from saas.modules.erasure import operations as erasure
from saas.modules.erasure.schemas import ErasureOut
from saas.modules.retention import operations as retention
from saas.modules.subjects import operations, queries
from saas.modules.subjects.schemas import SubjectCreate, SubjectListArgs, SubjectOut, SubjectUpdate

blp = api_blueprint(
    "subjects_api", __name__, "/subjects",
    description="Data subjects of the tenant. Every read is audited; delete erases by crypto-shredding, "
                "except what a running legal hold keeps (then 200 says what, why and until when). "
                "Agents see only the usable subjects of their open assignments.",
)


@blp.route("")
class Subjects(MethodView):
    @access.requires("list", "person")
    @blp.arguments(SubjectListArgs, location="query")
    @blp.response(200, SubjectOut(many=True))
    @blp.paginate(page_size=20, max_page_size=100)
    def get(self, args, pagination_parameters):
        """List subjects, newest first (paging in the X-Pagination header)."""
        page = queries.list_subjects(pagination_parameters.page, pagination_parameters.page_size,
                                     args.get("category"), needs_verification=args.get("needs_verification", False),
                                     company_id=args.get("company_id"))
        pagination_parameters.item_count = page.total
        return page.items

    @access.requires("create", "person")
    @blp.arguments(SubjectCreate)
    @blp.response(201, SubjectOut)
    def post(self, data):
        """Add a subject. A prospect on the suppression list is refused (422)."""
        try:
            return operations.create_subject(data)
        except operations.SubjectRejected as exc:
            exc.abort()


@blp.route("/<subject_id>")
class SubjectItem(MethodView):
    @access.requires("view", "person")
    @blp.response(200, SubjectOut)
    def get(self, subject_id):
        """Read one subject."""
        return queries.get_subject(subject_id)

    @access.requires("edit", "person")
    @blp.arguments(SubjectUpdate)
    @blp.response(200, SubjectOut)
    def patch(self, data, subject_id):
        """Change some fields of a subject."""
        subject = queries.find_subject(subject_id, "subject.update")
        try:
            return operations.update_subject(subject, data)
        except operations.SubjectRejected as exc:
            exc.abort()

    @access.requires("erase", "person")
    @blp.response(200, ErasureOut, description="Erased except what a running legal hold keeps (e.g. the "
                  "fiscal fields for 7 years, AWR art. 52(4)): the kept fields, restricted to that duty, with "
                  "the legal basis and the date the duty ends.")
    @blp.alt_response(204, description="Erased completely: the rows are deleted, then the key is destroyed.")
    def delete(self, subject_id):
        """Erase a subject (a rights request, art. 17) through the one erasure path."""
        outcome = operations.erase_subject(queries.find_subject(subject_id, "subject.delete"))
        if outcome.status == erasure.PURGED:
            return Response(status=204)
        return outcome


@blp.route("/<subject_id>/verify")
class SubjectVerify(MethodView):
    @access.requires("verify", "person")
    @blp.response(200, SubjectOut)
    def post(self, subject_id):
        """Record that the record was checked today (clears its verification flag). The one way an agent
        reaches a flagged record."""
        subject = _subject_to_check(subject_id, "subject.verify")
        retention.verify_record(subject)
        return subject


@blp.route("/<subject_id>/left-company")
class SubjectLeftCompany(MethodView):
    @access.requires("verify", "person")
    @blp.response(204)
    def post(self, subject_id):
        """Record that the person no longer works at the company; the retention rules act on it at once
        (leadgen deletes the person)."""
        retention.mark_left(_subject_to_check(subject_id, "subject.left_company"))


def _subject_to_check(subject_id, action: str):
    return queries.find_subject(subject_id, action, verifying=True)
