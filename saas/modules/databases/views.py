"""The client's own database in the portal (seed 004 s.3: "De opdrachtgever kan te allen tijde zijn/haar
eigen database inzien, downloaden, aanpassen of verwijderen"): search and page through it, delete records,
delete all of it, read its assignments' processor agreements. The client sees its own organisation, the
supervisor of its assignments and the administrator any they may; anyone else, and another client's id,
get 404 (`client_database` in the access policy). Every page that shows personal data is audited."""
from __future__ import annotations

import io
import uuid

from flask import abort, flash, g, redirect, render_template, request, send_file, url_for
from flask_babel import gettext as _

from saas import access
from saas.access import scopes
from saas.core import transaction
from saas.core.paging import page_number
from saas.core.web import tenant_blueprint
from saas.modules.assignments import queries as assignments_queries
from saas.modules.assignments.forms import RESULT_LABELS
from saas.modules.audit import operations as audit
from saas.modules.databases import jobs, operations, queries
from saas.modules.databases.forms import ConfirmDeleteForm, EraseForm, SearchForm
from saas.modules.exports import queries as exports_queries
from saas.modules.files import queries as stored_files

bp = tenant_blueprint("databases", __name__, template_folder="templates")


@bp.get("/database")
@access.requires("view", "client_database")
def index():
    """A client goes straight to its own database; staff choose one of those they see."""
    own = scopes.own_client_org(g.membership)
    if own is not None:
        return redirect(url_for(".show", client_org_id=own))
    return render_template("databases/index.html", organisations=queries.databases_in_scope(g.membership))


def _search(form: SearchForm) -> queries.Search:
    if not form.validate():
        return queries.Search()
    return queries.Search(company=(form.company.data or "").strip() or None, result=form.result.data or None,
                          called_from=form.called_from.data, called_to=form.called_to.data)


def _render_show(organisation, erase_form=None, status=200):
    form = SearchForm(request.args)
    search = _search(form)
    page = queries.people(organisation.id, g.membership, search, page_number(request.args.get("page")))
    audit.record("database.view", "client_organisation", organisation.id,
                 detail={"count": len(page.items), "total": page.total, "page": page.page})
    rendered = render_template(
        "databases/show.html", organisation=organisation, page=page, form=form, filters=search.as_args(),
        erase_form=erase_form or EraseForm(), assignments=queries.assignments(organisation.id),
        result_labels=RESULT_LABELS, can_erase=access.can(g.membership, "erase", "client_database"),
        can_edit=access.can(g.membership, "edit", "person"), total=queries.people_count(organisation.id))
    if status >= 400:
        transaction.persist_now()   # personal data was shown: its audit line lands with a refused form
    return rendered, status


@bp.get("/clients/<client_org_id>/database")
@access.requires("view", "client_database")
def show(client_org_id):
    return _render_show(exports_queries.find_database(client_org_id, "view"))


@bp.post("/clients/<client_org_id>/database/erase")
@access.requires("erase", "client_database")
def erase(client_org_id):
    organisation = exports_queries.find_database(client_org_id, "erase")
    form = EraseForm()
    if not form.validate():
        abort(400)
    try:
        ids = [uuid.UUID(value) for value in form.subjects.data]
    except ValueError:
        abort(400)
    try:
        erased = operations.erase_people(organisation, ids, g.membership)
    except operations.DeleteRefused as exc:
        flash(str(exc), "error")
        return redirect(url_for(".show", client_org_id=organisation.id))
    flash(_("%(count)s records were deleted: their data can no longer be read.", count=erased), "success")
    return redirect(url_for(".show", client_org_id=organisation.id))


@bp.route("/clients/<client_org_id>/database/delete", methods=["GET", "POST"])
@access.requires("erase", "client_database")
def delete_all(client_org_id):
    """Delete the whole database after the organisation's name is typed; a large one as a job with progress."""
    organisation = exports_queries.find_database(client_org_id, "erase")
    form = ConfirmDeleteForm()
    people = queries.people_count(organisation.id)
    if form.validate_on_submit():
        try:
            operations.check_confirmation(organisation, form.name.data)
        except operations.DeleteRefused as exc:
            form.name.errors.append(str(exc))
        else:
            if people > operations.SYNC_LIMIT:
                job = jobs.start(organisation.id)
                audit.record("database.delete_requested", "client_organisation", organisation.id,
                             detail={"people": people})
                return redirect(url_for(".delete_progress", client_org_id=organisation.id, job_id=job.id))
            erased = operations.delete_database(organisation.id)
            flash(_("The database was deleted: %(count)s records and all assignments with their call notes.",
                    count=erased), "success")
            return redirect(url_for(".show", client_org_id=organisation.id))
    status = 400 if form.is_submitted() else 200
    return render_template("databases/delete.html", organisation=organisation, form=form, people=people,
                           assignments=len(queries.assignments(organisation.id))), status


@bp.get("/clients/<client_org_id>/database/delete/<job_id>")
@access.requires("erase", "client_database")
def delete_progress(client_org_id, job_id):
    """A progress bar while the job runs (it polls the job's progress; without JavaScript: reload)."""
    organisation = exports_queries.find_database(client_org_id, "erase")
    if job_id != f"database-delete-{organisation.id}":
        abort(404)
    return render_template("databases/progress.html", organisation=organisation, job_id=job_id)


@bp.get("/assignments/<assignment_id>/agreement.pdf")
@access.requires("export", "assignment")
def agreement_pdf(assignment_id):
    """The sealed processor agreement of an assignment, for its client too (issue 11 item 7)."""
    assignment = assignments_queries.find_assignment(assignment_id, "export")
    agreement = queries.agreement_of(assignment)
    stored = stored_files.get(agreement.sealed_file_id) if agreement and agreement.sealed_file_id else None
    if stored is None:
        abort(404)
    content = stored_files.read(stored)
    audit.record("agreement.sealed_download", "agreement", agreement.id,
                 detail={"file_id": str(stored.id), "assignment_id": str(assignment.id)})
    return send_file(io.BytesIO(content), mimetype="application/pdf", download_name=f"{agreement.number}.pdf",
                     as_attachment=True)
