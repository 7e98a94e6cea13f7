"""Data-subject pages: list, detail, create, edit, verify and erase, within one tenant.

Who may do what is the access policy's (`saas.access`): reads and writes go through `queries` and
`operations`, which apply need-to-know (client users see their own client organisation, agents the usable
subjects of their open assignments, the board HR files) and audit every read (ids only).
"""
from __future__ import annotations

import uuid

from flask import abort, flash, g, redirect, render_template, request, url_for
from flask_babel import gettext as _

from saas.core.web import tenant_blueprint
from saas.extensions import db
from saas.modules.accounts import queries as accounts_queries
from saas import access
from saas.access import policy, scopes
from saas.modules.assignments import queries as assignments_queries
from saas.modules.audit import operations as audit
from saas.modules.consents import queries as consents_queries
from saas.modules.erasure import labels as erasure_labels
from saas.modules.erasure import operations as erasure
from saas.modules.retention import operations as retention
from saas.modules.subjects import operations, queries
from saas.modules.subjects.forms import (
    LIFECYCLE_FIELDS, SUBJECT_FIELDS, DeleteForm, SubjectForm, VerifyForm, add_errors, category_label, lifecycle_label,
    lifecycle_value, outcome_label,
)

bp = tenant_blueprint("subjects", __name__, template_folder="templates")

PER_PAGE = 25
NEEDS_VERIFICATION = "needed"


@bp.app_template_filter("category_label")
def _category_label(category: str) -> str:
    return category_label(category)


@bp.app_template_filter("outcome_label")
def _outcome_label(outcome: str | None) -> str:
    return outcome_label(outcome)


@bp.app_template_global("lifecycle_names")
def _lifecycle_names() -> tuple[str, ...]:
    return LIFECYCLE_FIELDS


@bp.app_template_filter("lifecycle_label")
def _lifecycle_label(name: str) -> str:
    return lifecycle_label(name)


@bp.app_template_filter("lifecycle_value")
def _lifecycle_value(value, name: str) -> str:
    """A lifecycle value as the page shows it: a date in the page's format, a choice by its label."""
    return lifecycle_value(name, value)


def _page_number() -> int:
    page = request.args.get("page", "1")
    if not page.isdigit() or int(page) < 1:
        abort(404)
    return int(page)


def _company_filter() -> uuid.UUID | None:
    value = request.args.get("company") or None
    try:
        return uuid.UUID(value) if value else None
    except ValueError:
        abort(404)


@bp.get("/subjects")
@access.requires("list", "person")
def index():
    categories = queries.allowed_categories()
    category = request.args.get("category") or None
    if category not in categories:
        category = None
    needs_verification = request.args.get("verification") == NEEDS_VERIFICATION
    company_id = _company_filter()
    page = queries.list_subjects(_page_number(), PER_PAGE, category, needs_verification=needs_verification,
                                 company_id=company_id)
    company = queries.company_name(company_id)
    filters = {"category": category, "verification": NEEDS_VERIFICATION if needs_verification else None,
               "company": str(company_id) if company_id else None}
    return render_template("subjects/index.html", page=page, category=category, categories=categories,
                           needs_verification=needs_verification, filters=filters, company=company,
                           can_edit=access.can(g.membership, "create", "person"),
                           organisations=_organisation_names() if policy.sees_whole_tenant(g.membership) else {},
                           verify_links=scopes.uses_only_usable(g.membership))


@bp.get("/subjects/<subject_id>")
@access.requires("view", "person")
def show(subject_id):
    subject = queries.find_subject(subject_id, "subject.view")
    notes = assignments_queries.call_notes_of_subject(subject, g.membership)
    audit.record("subject.view", "data_subject", subject.id, detail={"call_notes": len(notes)} if notes else None)
    page = render_template(
        "subjects/show.html", subject=subject, notes=notes,
        organisation=accounts_queries.client_organisation_name(subject.client_org_id),
        company=queries.company_name(subject.company_id),
        consents=consents_queries.history(subject), requests=consents_queries.requests_of(subject),
        consent_status=consents_queries.status_of,
        assignments=assignments_queries.assignments_of_subject(subject, g.membership),
    )
    return page


def _subject_form(**kwargs) -> SubjectForm:
    """The form with the choices the member may see: a client user only its own organisation and its
    companies, a supervisor the organisations they supervise an assignment for, the board only HR categories."""
    member = g.membership
    categories = [c for c in queries.allowed_categories() if scopes.category_in_scope(member, c)]
    organisations = scopes.client_orgs_in_scope(member, accounts_queries.client_organisations())
    own = scopes.own_client_org(member)
    if own is not None:
        organisations = [org for org in organisations if org.id == own]
        kwargs.setdefault("client_org", str(own))
    form = SubjectForm(**kwargs)
    form.set_choices(categories, organisations, queries.companies())
    if own is not None:
        form.client_org.choices = [choice for choice in form.client_org.choices if choice[0]]
    return form


def _organisation_names() -> dict:
    return {org.id: org.name for org in accounts_queries.client_organisations()}


@bp.route("/subjects/new", methods=["GET", "POST"])
@access.requires("create", "person")
def create():
    form = _subject_form()
    if not form.validate_on_submit():
        return _render_form(form, None)
    try:
        subject = operations.create_subject(form.subject_data())
    except operations.SubjectRejected as exc:
        db.session.rollback()
        add_errors(form, exc.errors)
        return _render_form(form, None)
    flash(_("The data subject was added."), "success")
    return redirect(url_for(".show", subject_id=subject.id))


@bp.route("/subjects/<subject_id>/edit", methods=["GET", "POST"])
@access.requires("edit", "person")
def edit(subject_id):
    subject = queries.find_subject(subject_id, "subject.update")
    if request.method == "GET":
        form = _subject_form(obj=subject, client_org=str(subject.client_org_id or ""),
                             company=str(subject.company_id or ""))
        audit.record("subject.view", "data_subject", subject.id, detail={"purpose": "edit"})
        page = _render_form(form, subject)
        return page
    form = _subject_form()
    if not form.validate():
        return _render_form(form, subject)
    changes = {k: v for k, v in form.subject_data().items() if getattr(subject, k) != v}
    try:
        if changes:
            operations.update_subject(subject, changes)
    except operations.SubjectRejected as exc:
        db.session.rollback()
        add_errors(form, exc.errors)
        return _render_form(form, queries.find_subject(subject_id, "subject.update"))
    flash(_("The changes were saved.") if changes else _("Nothing was changed."), "success")
    return redirect(url_for(".show", subject_id=subject.id))


def _render_form(form: SubjectForm, subject):
    status = 400 if form.is_submitted() else 200
    return render_template("subjects/form.html", form=form, subject=subject, fields=SUBJECT_FIELDS,
                           lifecycle_fields=LIFECYCLE_FIELDS), status


@bp.route("/subjects/<subject_id>/verify", methods=["GET", "POST"])
@access.requires("verify", "person")
def verify(subject_id):
    """The one way an agent opens a record flagged for verification: to check it and say what it found.
    The retention rules act on the answer (someone who left is deleted at once where the sector says so)."""
    subject = queries.find_subject(subject_id, "subject.verify", verifying=True)
    form = VerifyForm()
    if form.validate_on_submit() and form.left_company.data:
        retention.mark_left(subject)
        flash(_("Recorded that this person left the company."), "success")
        return redirect(url_for(".index", verification=NEEDS_VERIFICATION))
    if form.validate_on_submit() and form.verified.data:
        retention.verify_record(subject)
        flash(_("The record is verified and can be used again."), "success")
        return redirect(url_for(".show", subject_id=subject.id))
    audit.record("subject.view", "data_subject", subject.id, detail={"purpose": "verify"})
    page = render_template("subjects/verify.html", subject=subject, form=form,
                           company=queries.company_name(subject.company_id))
    return page, 400 if form.is_submitted() else 200


@bp.route("/subjects/<subject_id>/delete", methods=["GET", "POST"])
@access.requires("erase", "person")
def delete(subject_id):
    subject = queries.find_subject(subject_id, "subject.delete")
    form = DeleteForm()
    if not form.validate_on_submit():
        status = 400 if form.is_submitted() else 200
        return render_template("subjects/delete.html", subject=subject, form=form), status
    outcome = operations.erase_subject(subject)   # commits: the rows first, then the key
    if outcome.status == erasure.RESTRICTED:
        # The person who asked must hear what was kept, why and until when (art. 17(3)(b), 12(4)).
        return render_template("subjects/erased.html", outcome=outcome)
    flash(_("The data subject was erased: its key is destroyed, its data can no longer be read."), "success")
    return redirect(url_for(".index"))


@bp.app_template_filter("erasure_fields")
def _erasure_fields(names) -> str:
    return erasure_labels.field_list(names)
