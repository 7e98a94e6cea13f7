"""Documents of a person in the portal: list and upload, download, replace, delete. Who sees which document
is the access policy's (`scopes.document_conditions`); every list and download is audited."""
from __future__ import annotations

import io

from flask import flash, g, redirect, render_template, send_file, url_for
from flask_babel import get_locale
from flask_babel import gettext as _

from saas import access
from saas.access import scopes
from saas.core.web import tenant_blueprint
from saas.extensions import db
from saas.modules.documents import operations, queries, types
from saas.modules.documents.forms import ReplaceForm, UploadForm
from saas.modules.subjects import queries as subjects_queries
from saas.modules.subjects.forms import add_errors

bp = tenant_blueprint("documents", __name__, template_folder="templates")


def _visible_types() -> list:
    """The tenant's document types the member may file: board-only ones for the board only."""
    return [t for t in types.of_tenant() if scopes.document_type_in_scope(g.membership, t.board_only)]


def _type_labels() -> dict[str, str]:
    locale = str(get_locale() or "en")
    return {t.name: types.label(t, locale) for t in types.of_tenant()}


def _upload_form() -> UploadForm:
    form = UploadForm()
    labels = _type_labels()
    form.doc_type.choices = [(t.name, labels[t.name]) for t in _visible_types()]
    return form


@bp.route("/subjects/<subject_id>/documents", methods=["GET", "POST"])
@access.requires("list", "document", POST=("create", "document"))
def index(subject_id):
    subject = subjects_queries.find_subject(subject_id, "document.list")
    form = _upload_form()
    if form.validate_on_submit():
        upload = form.file.data
        try:
            doc_type = operations.type_for(g.membership, form.doc_type.data)
            operations.attach(subject, doc_type.name, upload.read(), upload.filename or None,
                              expires_on=form.expires_on.data, uploaded_by=g.membership.user_id)
        except operations.DocumentRefused as exc:
            db.session.rollback()
            add_errors(form, exc.errors)
        else:
            flash(_("The document was stored."), "success")
            return redirect(url_for(".index", subject_id=subject.id))
    status = 400 if form.is_submitted() else 200
    return render_template("documents/index.html", subject=subject, form=form, replace_form=ReplaceForm(),
                           documents=queries.of_subject(subject), labels=_type_labels()), status


@bp.get("/subjects/<subject_id>/documents/<document_id>")
@access.requires("view", "document")
def download(subject_id, document_id):
    subject = subjects_queries.find_subject(subject_id, "document.read")
    document = queries.find(subject, document_id)
    stored, data = queries.download(document)
    response = send_file(io.BytesIO(data), mimetype=stored.content_type, as_attachment=True,
                         download_name=stored.filename or f"{document.id}")
    response.headers["Content-Security-Policy"] = "default-src 'none'; sandbox"
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.post("/subjects/<subject_id>/documents/<document_id>/replace")
@access.requires("edit", "document")
def replace(subject_id, document_id):
    subject = subjects_queries.find_subject(subject_id, "document.replace")
    document = queries.find(subject, document_id, "document.replace")
    form = ReplaceForm()
    if not form.validate_on_submit():
        flash(_("Choose a file."), "error")
        return redirect(url_for(".index", subject_id=subject.id))
    upload = form.file.data
    try:
        operations.replace(document, upload.read(), upload.filename or None)
    except operations.DocumentRefused as exc:
        db.session.rollback()
        flash(str(exc), "error")
        return redirect(url_for(".index", subject_id=subject.id))
    flash(_("The document was replaced."), "success")
    return redirect(url_for(".index", subject_id=subject.id))


@bp.post("/subjects/<subject_id>/documents/<document_id>/delete")
@access.requires("erase", "document")
def delete(subject_id, document_id):
    subject = subjects_queries.find_subject(subject_id, "document.delete")
    document = queries.find(subject, document_id, "document.delete")
    operations.delete(document)
    flash(_("The document was deleted."), "success")
    return redirect(url_for(".index", subject_id=subject.id))
