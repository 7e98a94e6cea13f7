"""Tenant pages for background jobs: admins see running and failed jobs and retry failed ones;
every member may poll the progress of the tenant's jobs. Another tenant's job id answers 404."""
from __future__ import annotations

from flask import abort, flash, g, jsonify, redirect, render_template, url_for
from flask_babel import gettext as _

from saas.core.web import tenant_blueprint
from saas import access
from saas.jobs import progress as job_progress
from saas.modules.jobs_admin import operations, queries

bp = tenant_blueprint("jobs_admin", __name__, template_folder="templates")


def _tenant_job_or_404(job_id: str):
    job = queries.find_tenant_job(job_id, g.tenant.id)
    if job is None:
        abort(404)
    return job


@bp.get("/jobs")
@access.requires("manage", "job")
def index():
    return render_template("jobs_admin/index.html", jobs=queries.tenant_jobs(g.tenant.id))


@bp.post("/jobs/<job_id>/retry")
@access.requires("manage", "job")
def retry(job_id: str):
    job = _tenant_job_or_404(job_id)
    try:
        operations.retry_failed(job)
    except operations.NotRetryable:
        flash(_("This job is no longer failed; nothing was retried."), "warning")
    else:
        flash(_("The job was put back on its queue."), "success")
    return redirect(url_for("jobs_admin.index"))


@bp.get("/jobs/<job_id>/progress")
@access.requires("view", "job")
def progress(job_id: str):
    job = _tenant_job_or_404(job_id)
    status = job.get_status()
    return jsonify(id=job.id, status=status.value if status else None, progress=job_progress.read(job))
