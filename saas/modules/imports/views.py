"""Import pages: upload (drop zone that is a plain file field without JavaScript), column mapping with a
preview, progress (a JSON status polled by vendored JS, or the page refreshing itself), report (page and
CSV), cancel and undo. Every route: `import` on `person`, and the import's assignment in the member's sight."""
from __future__ import annotations

import csv
import io

from flask import Response, abort, flash, g, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from saas import access
from saas.core.forms import EmptyForm
from saas.core.web import tenant_blueprint
from saas.modules.audit import operations as audit
from saas.modules.imports import forms, messages, operations, queries
from saas.modules.imports.models import COUNTERS, FINISHED, QUEUED, RUNNING, UPLOADED

bp = tenant_blueprint("imports", __name__, template_folder="templates")
PREVIEW_ROWS = 5
# The status as the vendored progress.js knows it (it stops polling at a final one).
_JS_STATUS = {"done": "finished", "undone": "finished", "undoing": "finished", "refused": "failed",
              "failed": "failed", "cancelled": "canceled", "uploaded": "queued", "queued": "queued",
              "running": "started"}


def _upload_form() -> forms.UploadForm:
    form = forms.UploadForm()
    form.set_choices(queries.importable_assignments(g.membership))
    return form


@bp.route("/imports", methods=["GET", "POST"])
@access.requires("import", "person")
def index():
    form = _upload_form()
    if request.method == "POST":
        return _upload(form)
    return render_template("imports/index.html", form=form, runs=queries.list_imports(g.membership),
                           limit_mb=operations.max_bytes() // (1024 * 1024))


def _upload(form: forms.UploadForm):
    if request.content_length and request.content_length > operations.max_bytes() + 64 * 1024:
        # Refused by its announced size, before the body is read.
        return _refused(form, operations.ImportRefused("too_large", limit_mb=operations.max_bytes() // 1048576))
    if not form.validate_on_submit():
        return render_template("imports/index.html", form=form, runs=queries.list_imports(g.membership),
                               limit_mb=operations.max_bytes() // (1024 * 1024)), 400
    assignment = queries.find_assignment_for_import(form.assignment.data)
    upload = form.file.data
    try:
        run = operations.upload(assignment, upload.stream, upload.filename or "", g.membership.user_id)
    except operations.ImportRefused as refused:
        return _refused(form, refused)
    return redirect(url_for(".show", import_id=run.id))


def _refused(form, refused: operations.ImportRefused):
    form.file.errors = [str(refused)]
    return render_template("imports/index.html", form=form, runs=queries.list_imports(g.membership),
                           limit_mb=operations.max_bytes() // (1024 * 1024), refusal=str(refused)), 400


@bp.get("/imports/<import_id>")
@access.requires("import", "person")
def show(import_id):
    run = queries.find_import(import_id)
    context = {"run": run, "title": queries.assignment_title(run), "form": EmptyForm(),
               "status_message": messages.file_message(run.error_code, run.error_detail),
               "counters": [(name, messages.COUNT_LABELS[name], run.count(name)) for name in COUNTERS],
               "can_undo": operations.can_undo(run), "undo_until": operations.undo_deadline(run),
               "refreshing": run.status in (QUEUED, RUNNING)}
    if run.status == UPLOADED:
        context.update(_mapping_context(run))
    elif run.status in FINISHED:
        context["problems"] = queries.report_rows(run)[:200]
    return render_template("imports/show.html", **context)


def _mapping_context(run, chosen: dict | None = None) -> dict:
    try:
        table = operations.table_of(run)
    except operations.ImportRefused:
        abort(404)
    audit.record("import.preview", "import_run", run.id, detail={"rows": min(PREVIEW_ROWS, len(table.rows))})
    mapping = chosen if chosen is not None else {int(c): f for c, f in run.mapping.items()}
    return {"headers": table.headers, "preview": table.rows[:PREVIEW_ROWS], "mapping": mapping,
            "choices": forms.field_choices(), "rows": len(table.rows)}


@bp.post("/imports/<import_id>/start")
@access.requires("import", "person")
def start(import_id):
    run = queries.find_import(import_id)
    if not EmptyForm().validate() or run.status != UPLOADED:
        abort(400)
    table = operations.table_of(run)
    chosen = forms.mapping_from(request.form, len(table.headers))
    try:
        operations.start(run, chosen, table.headers)
    except operations.ImportRefused as refused:
        context = {"run": run, "title": queries.assignment_title(run), "form": EmptyForm(), "status_message": "",
                   "counters": [], "can_undo": False, "undo_until": None, "refreshing": False,
                   "mapping_error": str(refused), **_mapping_context(run, chosen)}
        return render_template("imports/show.html", **context), 400
    flash(_("The import has started. This page shows its progress."), "success")
    return redirect(url_for(".show", import_id=run.id))


@bp.get("/imports/<import_id>/status")
@access.requires("import", "person")
def status(import_id):
    """Counts and progress only: no personal data."""
    run = queries.find_import(import_id)
    body = {"status": _JS_STATUS.get(run.status, run.status), "import_status": run.status,
            "progress": _progress(run), "counts": run.counts or {}}
    return body


def _progress(run) -> dict:
    if run.status in FINISHED:
        return {"done": 1, "total": 1, "percent": 100.0, "stage": str(_("finished"))}
    if run.job_id and run.status in (QUEUED, RUNNING):
        from saas.jobs import progress
        from saas.jobs.queues import redis
        from rq.job import Job
        from rq.exceptions import NoSuchJobError

        try:
            found = progress.read(Job.fetch(run.job_id, connection=redis()))
        except (NoSuchJobError, Exception):   # no Redis or no job (yet): the status alone
            found = {}
        if found:
            return found
    return {"done": 0, "total": run.count("rows_read"), "percent": 0.0, "stage": str(_("waiting"))}


@bp.post("/imports/<import_id>/cancel")
@access.requires("import", "person")
def cancel(import_id):
    run = queries.find_import(import_id)
    if not EmptyForm().validate():
        abort(400)
    operations.cancel(run)
    flash(_("The import is cancelled: nothing of it is kept."), "success")
    return redirect(url_for(".show", import_id=run.id))


@bp.post("/imports/<import_id>/undo")
@access.requires("import", "person")
def undo(import_id):
    run = queries.find_import(import_id)
    if not EmptyForm().validate():
        abort(400)
    operations.request_undo(run)
    flash(_("The import is being undone: the people it added are erased."), "success")
    return redirect(url_for(".show", import_id=run.id))


@bp.get("/imports/<import_id>/report.csv")
@access.requires("import", "person")
def report_csv(import_id):
    """The report as an Excel-friendly CSV (semicolons, BOM): counts, then row, column and reason. No values."""
    run = queries.find_import(import_id)
    out = io.StringIO()
    writer = csv.writer(out, delimiter=";", lineterminator="\r\n")
    writer.writerow([_("What"), _("Number")])
    for name in COUNTERS:
        writer.writerow([str(messages.COUNT_LABELS[name]), run.count(name)])
    if run.error_code:
        writer.writerow([_("Refused"), messages.file_message(run.error_code, run.error_detail)])
    writer.writerow([])
    writer.writerow([_("Row"), _("Column"), _("Code"), _("Reason")])
    for row in queries.report_rows(run):
        writer.writerow(row)
    audit.record("import.report_download", "import_run", run.id)
    filename = f"import-report-{run.created_at:%Y%m%d-%H%M}.csv"
    return Response("\ufeff" + out.getvalue(), mimetype="text/csv; charset=utf-8",
                    headers={"Content-Disposition": f'attachment; filename="{filename}"'})


@bp.app_template_filter("import_field_label")
def import_field_label(name: str) -> str:
    return str(messages.FIELD_LABELS.get(name, name))



_STATUS_LABELS = {
    "uploaded": _l("waiting for the column mapping"), "queued": _l("queued"), "running": _l("running"),
    "done": _l("done"), "refused": _l("refused: nothing imported"), "cancelled": _l("cancelled: nothing imported"),
    "failed": _l("failed: nothing imported"), "undoing": _l("being undone"), "undone": _l("undone"),
}


@bp.app_template_filter("import_status")
def import_status(status: str) -> str:
    return str(_STATUS_LABELS.get(status, status))
