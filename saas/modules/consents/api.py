"""/api/v1/<tenant>/subjects/<id>/consents: a subject's consent history, recording and withdrawing grants."""
from __future__ import annotations

from flask.views import MethodView
from flask_smorest import abort

from saas.api import api_blueprint
from saas import access
from saas.modules.audit import operations as audit
from saas.modules.consents import operations, queries
from saas.modules.consents.schemas import ConsentIn, ConsentOut
from saas.modules.subjects import queries as subjects_queries

blp = api_blueprint(
    "consents_api", __name__, "/subjects",
    description="Consents and other legal bases of a data subject, with their evidence. Grants are never "
                "changed: withdrawing one records when it ended. Admins and supervisors record and withdraw "
                "(the board for HR files); what a role may not do answers 404.",
)


def _subject_for_change(subject_id, action: str):
    return subjects_queries.find_subject(subject_id, action)


@blp.route("/<subject_id>/consents")
class Consents(MethodView):
    @access.requires("list", "consent")
    @blp.response(200, ConsentOut(many=True))
    def get(self, subject_id):
        """The subject's grants, newest first, withdrawn and expired ones included."""
        subject = subjects_queries.find_subject(subject_id, "consent.list")
        records = queries.history(subject)
        audit.record("consent.list", "data_subject", subject.id, detail={"count": len(records)})
        return records

    @access.requires("create", "consent")
    @blp.arguments(ConsentIn)
    @blp.response(201, ConsentOut)
    def post(self, data, subject_id):
        """Record a grant for one purpose with its evidence."""
        subject = _subject_for_change(subject_id, "consent.give")
        try:
            return operations.give_consent(subject, data["purpose"], data["legal_basis"], data["evidence_text"],
                                           data["channel"], data["expires_on"], given_at=data["given_at"])
        except operations.ConsentRejected as exc:
            exc.abort()


@blp.route("/<subject_id>/consents/<consent_id>/withdraw")
class ConsentWithdraw(MethodView):
    @access.requires("edit", "consent")
    @blp.response(200, ConsentOut)
    def post(self, subject_id, consent_id):
        """Record that the subject withdrew this grant (409 if it was withdrawn before)."""
        subject = _subject_for_change(subject_id, "consent.withdraw")
        record = queries.find_record(subject, consent_id)
        try:
            return operations.withdraw(record)
        except operations.AlreadyWithdrawn:
            abort(409, message="this consent was withdrawn before")
