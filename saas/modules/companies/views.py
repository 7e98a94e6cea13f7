"""Company pages: list (with the "needs verification" filter), detail, add, edit, verify and remove."""
from __future__ import annotations

from flask import abort, flash, g, redirect, render_template, request, url_for
from flask_babel import gettext as _

from saas.core.web import roles_required, tenant_blueprint
from saas.extensions import db
from saas.modules.accounts import queries as accounts_queries
from saas.core.forms import EmptyForm
from saas.modules.companies import operations, queries
from saas.modules.retention import operations as retention
from saas.modules.companies.forms import CompanyForm
from saas.modules.subjects.forms import add_errors

bp = tenant_blueprint("companies", __name__, template_folder="templates")

PER_PAGE = 25
WRITERS = ("admin", "supervisor")
VERIFIERS = ("admin", "supervisor", "agent")


def _page_number() -> int:
    page = request.args.get("page", "1")
    if not page.isdigit() or int(page) < 1:
        abort(404)
    return int(page)


@bp.get("/companies")
def index():
    needs_verification = request.args.get("verification") == "needed"
    search = (request.args.get("q") or "").strip()[:100] or None
    page = queries.list_companies(_page_number(), PER_PAGE, needs_verification=needs_verification, search=search)
    filters = {"verification": "needed" if needs_verification else None, "q": search}
    return render_template("companies/index.html", page=page, filters=filters, needs_verification=needs_verification,
                           search=search, can_edit=g.membership.role in WRITERS)


@bp.get("/companies/<company_id>")
def show(company_id):
    company = queries.find_company(company_id)
    return render_template("companies/show.html", company=company, subjects=queries.subject_count(company),
                           organisation=accounts_queries.client_organisation_name(company.client_org_id),
                           role=g.membership.role, can_edit=g.membership.role in WRITERS,
                           can_verify=g.membership.role in VERIFIERS, form=EmptyForm())


def _form(**kwargs) -> CompanyForm:
    form = CompanyForm(**kwargs)
    form.set_choices(accounts_queries.client_organisations())
    return form


def _render_form(form: CompanyForm, company):
    status = 400 if form.is_submitted() else 200
    return render_template("companies/form.html", form=form, company=company), status


@bp.route("/companies/new", methods=["GET", "POST"])
@roles_required(*WRITERS)
def create():
    form = _form()
    if not form.validate_on_submit():
        return _render_form(form, None)
    try:
        company = operations.create_company(form.company_data())
    except operations.CompanyRejected as exc:
        db.session.rollback()
        add_errors(form, exc.errors)
        return _render_form(form, None)
    db.session.commit()
    flash(_("The company was added."), "success")
    return redirect(url_for(".show", company_id=company.id))


@bp.route("/companies/<company_id>/edit", methods=["GET", "POST"])
@roles_required(*WRITERS)
def edit(company_id):
    company = queries.find_company(company_id, "company.update")
    if request.method == "GET":
        return _render_form(_form(obj=company, client_org=str(company.client_org_id or "")), company)
    form = _form()
    if not form.validate():
        return _render_form(form, company)
    changes = {k: v for k, v in form.company_data().items() if getattr(company, k) != v}
    try:
        if changes:
            operations.update_company(company, changes)
    except operations.CompanyRejected as exc:
        db.session.rollback()
        add_errors(form, exc.errors)
        return _render_form(form, queries.find_company(company_id, "company.update"))
    db.session.commit()
    flash(_("The changes were saved.") if changes else _("Nothing was changed."), "success")
    return redirect(url_for(".show", company_id=company.id))


@bp.post("/companies/<company_id>/verify")
@roles_required(*VERIFIERS)
def verify(company_id):
    company = queries.find_company(company_id, "company.verify")
    if not EmptyForm().validate():
        abort(400)
    retention.verify_record(company)
    db.session.commit()
    flash(_("The company is verified."), "success")
    return redirect(url_for(".show", company_id=company.id))


@bp.route("/companies/<company_id>/delete", methods=["GET", "POST"])
@roles_required("admin")
def delete(company_id):
    company = queries.find_company(company_id, "company.delete")
    form = EmptyForm()
    if not form.validate_on_submit():
        status = 400 if form.is_submitted() else 200
        return render_template("companies/delete.html", company=company, form=form,
                               subjects=queries.subject_count(company)), status
    operations.delete_company(company)
    db.session.commit()
    flash(_("The company was removed."), "success")
    return redirect(url_for(".index"))
