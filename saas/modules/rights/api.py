"""/api/v1/<tenant>/rights: the register of data subject rights requests (admins)."""
from __future__ import annotations

from flask import g
from flask.views import MethodView

from saas import access
from saas.api import api_blueprint
from saas.modules.rights import operations, queries
from saas.modules.rights.schemas import (
    AnswerIn, ExtendIn, LinkIn, RefuseIn, RequestCreate, RequestOut, VerifyIn,
)

blp = api_blueprint(
    "rights_api", __name__, "/rights",
    description="Data subject rights requests (GDPR art. 15-21, 7(3)): register, establish identity, extend "
                "(art. 12(3)), answer or refuse (art. 12(5), 17(3)). Both deadlines: the legal one and the "
                "tenant's own target.",
)


@blp.route("")
class Requests(MethodView):
    @access.requires("list", "rights_request")
    @blp.response(200, RequestOut(many=True))
    def get(self):
        """Requests, open ones first by their earliest deadline."""
        return queries.list_requests()

    @access.requires("create", "rights_request")
    @blp.arguments(RequestCreate)
    @blp.response(201, RequestOut)
    def post(self, data):
        """Register a request received by phone, e-mail, letter or another system. With an e-mail address,
        a code is mailed to it."""
        return operations.receive(data["kind"], data["channel"], email=data["email"], phone=data["phone"],
                                  name=data["name"], details=data["details"], locale=data["locale"],
                                  received_on=data["received_on"])


@blp.route("/<request_id>")
class RequestItem(MethodView):
    @access.requires("view", "rights_request")
    @blp.response(200, RequestOut)
    def get(self, request_id):
        """One request."""
        return queries.find_request(request_id)


@blp.route("/<request_id>/verify")
class RequestVerify(MethodView):
    @access.requires("edit", "rights_request")
    @blp.arguments(VerifyIn)
    @blp.response(200, RequestOut)
    def post(self, data, request_id):
        """Record that staff established identity, and how."""
        row = queries.find_request(request_id)
        operations.verify_by_staff(row, data["note"], g.membership.user_id)
        return row


@blp.route("/<request_id>/people")
class RequestPeople(MethodView):
    @access.requires("edit", "rights_request")
    @blp.arguments(LinkIn)
    @blp.response(200, RequestOut)
    def post(self, data, request_id):
        """Add a record of the person that the blind indexes did not find."""
        row = queries.find_request(request_id)
        operations.link_person(row, data["person_id"])
        return row


@blp.route("/<request_id>/extend")
class RequestExtend(MethodView):
    @access.requires("edit", "rights_request")
    @blp.arguments(ExtendIn)
    @blp.response(200, RequestOut)
    def post(self, data, request_id):
        """Extend by two months (only within the first month); the reasons are mailed to the person."""
        row = queries.find_request(request_id)
        operations.extend(row, data["reason"])
        return row


@blp.route("/<request_id>/answer")
class RequestAnswer(MethodView):
    @access.requires("edit", "rights_request")
    @blp.arguments(AnswerIn)
    @blp.response(200, RequestOut)
    def post(self, data, request_id):
        """Carry out the request for every linked record and send the letter."""
        row = queries.find_request(request_id)
        request_id = row.id
        operations.answer(row, changes=data["changes"])
        return queries.find_request(request_id)


@blp.route("/<request_id>/refuse")
class RequestRefuse(MethodView):
    @access.requires("edit", "rights_request")
    @blp.arguments(RefuseIn)
    @blp.response(200, RequestOut)
    def post(self, data, request_id):
        """Refuse on art. 12(5) or 17(3), with the reason sent to the person."""
        row = queries.find_request(request_id)
        operations.refuse(row, data["ground"], data["reason"])
        return row
