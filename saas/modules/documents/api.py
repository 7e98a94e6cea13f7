"""/api/v1/<tenant>/subjects/<id>/documents: a person's documents: list, upload, download, delete.
Who sees which document is the access policy's (board-only types for the board only); every list and
download is audited. A refused file (type by content, active content, size) answers 422 and stores nothing."""
from __future__ import annotations

import base64
import binascii

from flask import Response, g
from flask.views import MethodView
from flask_smorest import abort

from saas import access
from saas.api import api_blueprint
from saas.modules.documents import operations, queries
from saas.modules.documents.schemas import DocumentFileOut, DocumentIn, DocumentOut
from saas.modules.subjects import queries as subjects_queries

blp = api_blueprint(
    "documents_api", __name__, "/subjects",
    description="Documents kept with a person (CV, NDA, ID copy, staff file, ...), encrypted with the person's "
                "key and erased with the person. Staff and the board; staff files and talk notes for the board "
                "only; what a role may not see answers 404.",
)


@blp.route("/<subject_id>/documents")
class Documents(MethodView):
    @access.requires("list", "document")
    @blp.response(200, DocumentOut(many=True))
    def get(self, subject_id):
        """The person's documents the caller may see, newest first."""
        subject = subjects_queries.find_subject(subject_id, "document.list")
        return [document for document, _stored in queries.of_subject(subject)]

    @access.requires("create", "document")
    @blp.arguments(DocumentIn)
    @blp.response(201, DocumentOut)
    def post(self, data, subject_id):
        """Upload a document; its type is checked on the content against what the document type allows."""
        subject = subjects_queries.find_subject(subject_id, "document.create")
        try:
            content = base64.b64decode(data["content_base64"], validate=True)
        except (binascii.Error, ValueError):
            abort(422, message="content_base64 is not valid base64")
        try:
            doc_type = operations.type_for(g.membership, data["doc_type"])
            return operations.attach(subject, doc_type.name, content, data["filename"],
                                     expires_on=data["expires_on"], uploaded_by=g.membership.user_id)
        except operations.DocumentRefused as exc:
            abort(422, message=str(exc), errors=exc.errors)


@blp.route("/<subject_id>/documents/<document_id>")
class DocumentItem(MethodView):
    @access.requires("view", "document")
    @blp.response(200, DocumentFileOut)
    def get(self, subject_id, document_id):
        """The document with its file (base64); the download is audited."""
        subject = subjects_queries.find_subject(subject_id, "document.read")
        document = queries.find(subject, document_id)
        stored, data = queries.download(document)
        return {"id": document.id, "subject_id": document.subject_id, "doc_type": document.doc_type,
                "uploaded_on": document.uploaded_on, "expires_on": document.expires_on,
                "filename": stored.filename, "content_type": stored.content_type,
                "content_base64": base64.b64encode(data).decode()}

    @access.requires("erase", "document")
    @blp.response(204)
    def delete(self, subject_id, document_id):
        """Delete the document and its file."""
        subject = subjects_queries.find_subject(subject_id, "document.delete")
        operations.delete(queries.find(subject, document_id, "document.delete"))
        return Response(status=204)
