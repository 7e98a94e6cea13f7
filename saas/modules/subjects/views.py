"""Data-subject pages: list, detail, create, edit and erase, within one tenant.

Reads and writes go through `queries` and `operations`, which limit client users to their own
client organisation and audit every read (ids only). Agents read; admins and supervisors edit;
only admins erase.
"""
from __future__ import annotations

from flask import abort, flash, g, redirect, render_template, request, url_for
from flask_babel import gettext as _

from saas.core.web import roles_required, tenant_blueprint
from saas.extensions import db
from saas.modules.accounts import queries as accounts_queries
from saas.modules.audit import operations as audit
from saas.modules.subjects import operations, queries
from saas.modules.subjects.forms import SUBJECT_FIELDS, DeleteForm, SubjectForm, category_label

bp = tenant_blueprint("subjects", __name__, template_folder="templates")

PER_PAGE = 25
EDITORS = ("admin", "supervisor")


@bp.app_template_filter("category_label")
def _category_label(category: str) -> str:
    return category_label(category)


def _page_number() -> int:
    page = request.args.get("page", "1")
    if not page.isdigit() or int(page) < 1:
        abort(404)
    return int(page)


@bp.get("/subjects")
def index():
    categories = queries.allowed_categories()
    category = request.args.get("category") or None
    if category not in categories:
        category = None
    page = queries.list_subjects(_page_number(), PER_PAGE, category)
    db.session.commit()
    return render_template("subjects/index.html", page=page, category=category, categories=categories,
                           can_edit=g.membership.role in EDITORS,
                           organisations=_organisation_names() if g.membership.role != "client" else {})


@bp.get("/subjects/<subject_id>")
def show(subject_id):
    subject = queries.find_subject(subject_id, "subject.view")
    audit.record("subject.view", "data_subject", subject.id)
    db.session.commit()
    return render_template("subjects/show.html", subject=subject, role=g.membership.role,
                           organisation=accounts_queries.client_organisation_name(subject.client_org_id))


def _subject_form(**kwargs) -> SubjectForm:
    form = SubjectForm(**kwargs)
    form.set_choices(queries.allowed_categories(), accounts_queries.client_organisations())
    return form


def _organisation_names() -> dict:
    return {org.id: org.name for org in accounts_queries.client_organisations()}


@bp.route("/subjects/new", methods=["GET", "POST"])
@roles_required(*EDITORS)
def create():
    form = _subject_form()
    if not form.validate_on_submit():
        return _render_form(form, None)
    subject = operations.create_subject(form.subject_data())
    db.session.commit()
    flash(_("The data subject was added."), "success")
    return redirect(url_for(".show", subject_id=subject.id))


@bp.route("/subjects/<subject_id>/edit", methods=["GET", "POST"])
@roles_required(*EDITORS)
def edit(subject_id):
    subject = queries.find_subject(subject_id, "subject.update")
    if request.method == "GET":
        form = _subject_form(obj=subject, client_org=str(subject.client_org_id or ""))
        audit.record("subject.view", "data_subject", subject.id, detail={"purpose": "edit"})
        db.session.commit()
        return _render_form(form, subject)
    form = _subject_form()
    if not form.validate():
        return _render_form(form, subject)
    changes = {k: v for k, v in form.subject_data().items() if getattr(subject, k) != v}
    if changes:
        operations.update_subject(subject, changes)
    db.session.commit()
    flash(_("The changes were saved.") if changes else _("Nothing was changed."), "success")
    return redirect(url_for(".show", subject_id=subject.id))


def _render_form(form: SubjectForm, subject):
    status = 400 if form.is_submitted() else 200
    return render_template("subjects/form.html", form=form, subject=subject, fields=SUBJECT_FIELDS), status


@bp.route("/subjects/<subject_id>/delete", methods=["GET", "POST"])
@roles_required("admin")
def delete(subject_id):
    subject = queries.find_subject(subject_id, "subject.delete")
    form = DeleteForm()
    if not form.validate_on_submit():
        status = 400 if form.is_submitted() else 200
        return render_template("subjects/delete.html", subject=subject, form=form), status
    operations.delete_subject(subject)
    db.session.commit()
    flash(_("The data subject was erased: its key is destroyed, its data can no longer be read."), "success")
    return redirect(url_for(".index"))
