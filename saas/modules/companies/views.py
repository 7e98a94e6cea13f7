"""Company pages: list (with the "needs verification" filter), detail, add, edit, verify and remove."""
from __future__ import annotations

from flask import abort, flash, g, redirect, render_template, request, url_for
from flask_babel import gettext as _

from saas.core.web import tenant_blueprint
from saas.extensions import db
from saas import access
from saas.access import scopes
from saas.modules.accounts import queries as accounts_queries
from saas.core.forms import EmptyForm
from saas.modules.companies import operations, queries
from saas.modules.retention import operations as retention
from saas.modules.companies.forms import CompanyForm
from saas.modules.subjects.forms import add_errors

bp = tenant_blueprint("companies", __name__, template_folder="templates")

PER_PAGE = 25


def _page_number() -> int:
    page = request.args.get("page", "1")
    if not page.isdigit() or int(page) < 1:
        abort(404)
    return int(page)


@bp.get("/companies")
@access.requires("list", "company")
def index():
    needs_verification = request.args.get("verification") == "needed"
    search = (request.args.get("q") or "").strip()[:100] or None
    page = queries.list_companies(_page_number(), PER_PAGE, needs_verification=needs_verification, search=search)
    filters = {"verification": "needed" if needs_verification else None, "q": search}
    return render_template("companies/index.html", page=page, filters=filters, needs_verification=needs_verification,
                           search=search, can_edit=access.can(g.membership, "create", "company"))


@bp.get("/companies/<company_id>")
@access.requires("view", "company")
def show(company_id):
    company = queries.find_company(company_id)
    return render_template("companies/show.html", company=company, subjects=queries.subject_count(company),
                           organisation=accounts_queries.client_organisation_name(company.client_org_id),
                           can_edit=access.can(g.membership, "edit", "company"),
                           can_verify=access.can(g.membership, "verify", "company"),
                           can_erase=access.can(g.membership, "erase", "company"), form=EmptyForm())


def _form(company=None, **kwargs) -> CompanyForm:
    """The organisations a member may file a company under (a supervisor: those they supervise an assignment
    for), and the company's own."""
    form = CompanyForm(**kwargs)
    current = company.client_org_id if company is not None else None
    organisations = accounts_queries.client_organisations()
    allowed = {org.id for org in scopes.client_orgs_in_scope(g.membership, organisations)} | {current}
    form.set_choices([org for org in organisations if org.id in allowed])
    return form


def _render_form(form: CompanyForm, company):
    status = 400 if form.is_submitted() else 200
    return render_template("companies/form.html", form=form, company=company), status


@bp.route("/companies/new", methods=["GET", "POST"])
@access.requires("create", "company")
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
    flash(_("The company was added."), "success")
    return redirect(url_for(".show", company_id=company.id))


@bp.route("/companies/<company_id>/edit", methods=["GET", "POST"])
@access.requires("edit", "company")
def edit(company_id):
    company = queries.find_company(company_id, "edit")
    if request.method == "GET":
        return _render_form(_form(company, obj=company, client_org=str(company.client_org_id or "")), company)
    form = _form(company)
    if not form.validate():
        return _render_form(form, company)
    changes = {k: v for k, v in form.company_data().items() if getattr(company, k) != v}
    try:
        if changes:
            operations.update_company(company, changes)
    except operations.CompanyRejected as exc:
        db.session.rollback()
        add_errors(form, exc.errors)
        return _render_form(form, queries.find_company(company_id, "edit"))
    flash(_("The changes were saved.") if changes else _("Nothing was changed."), "success")
    return redirect(url_for(".show", company_id=company.id))


@bp.post("/companies/<company_id>/verify")
@access.requires("verify", "company")
def verify(company_id):
    company = queries.find_company(company_id, "verify")
    if not EmptyForm().validate():
        abort(400)
    retention.verify_record(company)
    flash(_("The company is verified."), "success")
    return redirect(url_for(".show", company_id=company.id))


@bp.route("/companies/<company_id>/delete", methods=["GET", "POST"])
@access.requires("erase", "company")
def delete(company_id):
    company = queries.find_company(company_id, "erase")
    form = EmptyForm()
    if not form.validate_on_submit():
        status = 400 if form.is_submitted() else 200
        return render_template("companies/delete.html", company=company, form=form,
                               subjects=queries.subject_count(company)), status
    operations.delete_company(company)
    flash(_("The company was removed."), "success")
    return redirect(url_for(".index"))
