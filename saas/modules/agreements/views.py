"""Portal pages for processor agreements (`/<tenant>/agreements/...`) and the controller's public objection
page for sub-processor changes (`/objection/<tenant>/<token>`).

Admins do everything; supervisors read (list, detail, trail, downloads). Another tenant's ids answer 404.
Reads go through `queries`, writes through the concern's module; a refused write is explained and the
request's commit point (`saas.core.transaction`) rolls it back. Views do not commit.
Element ids used by the browser tests: #agreement-status, #send-form/#send-submit, #countersign-form,
#function, #authority, #countersign-submit, #document-sha256, #download-document, #download-sealed.
"""
from __future__ import annotations

import hashlib
import io
import logging
import re

import sqlalchemy as sa
from flask import Blueprint, abort, flash, g, redirect, render_template, request, send_file, url_for
from flask_babel import gettext as _
from flask_login import current_user

from saas.core import clock, transaction
from saas.core.errors import DomainError
from saas.core.web import get_or_404, switch_tenant, tenant_blueprint
from saas import access
from saas.extensions import db, limiter
from saas.modules.accounts import queries as accounts_queries
from saas.modules.agreements import (
    common, countersigning, drafting, forms, labels, merge_fields, queries, queueing, rendering, sending,
    sub_processors, template_versions,
)
from saas.modules.agreements.models import Agreement, AgreementTemplate, SubProcessor
from saas.modules.audit import operations as audit
from saas.modules.files import queries as stored_files
from saas.modules.tenants.models import Tenant

bp = tenant_blueprint("agreements", __name__, template_folder="templates")
public = Blueprint("agreements_public", __name__, url_prefix="/objection", template_folder="templates")

PER_PAGE = 25


@bp.record_once
def _register_public(state) -> None:
    """The app registers each feature's `bp`; the public objection page comes along with it."""
    state.app.register_blueprint(public)
    for logger in (logging.getLogger("werkzeug"), state.app.logger):
        if not any(isinstance(f, RedactObjectionTokens) for f in logger.filters):
            logger.addFilter(RedactObjectionTokens())


@bp.app_template_filter("agreement_status")
def _status_label(status: str) -> str:
    return labels.status_label(status)


@bp.context_processor
def _words() -> dict:
    return {"ROLE_LABELS": labels.ROLE_LABELS, "SIDE_LABELS": labels.SIDE_LABELS,
            "LANGUAGE_LABELS": labels.LANGUAGE_LABELS, "TEMPLATE_STATUS_LABELS": labels.TEMPLATE_STATUS_LABELS,
            "SUB_PROCESSOR_STATES": labels.SUB_PROCESSOR_STATES,
            "is_admin": g.get("membership") is not None and access.can(g.membership, "edit", "agreement")}


def _refused(exc: DomainError, endpoint: str = ".show", **values):
    db.session.rollback()
    flash(str(exc), "error")
    return redirect(url_for(endpoint, **values))


def _keep_read_audit(status: int) -> None:
    """A page shown again with 400 (a refused form) still shows the agreement: its view line must land
    although the commit point rolls back. Only that line is pending (a refused write was rolled back)."""
    if status >= 400:
        transaction.persist_now()


def _page_form(agreement: Agreement, form, form_name: str, error_field, action, done_message):
    """A form on the agreement's page: invalid or refused, the page again with the reason at `error_field`
    (nothing written); done, committed and back to the page with `done_message()`."""
    if not form.validate_on_submit():
        return _render_show(agreement, 400, **{form_name: form})
    try:
        action()
    except DomainError as exc:
        db.session.rollback()
        error_field.errors = [str(exc)]
        return _render_show(agreement, 400, **{form_name: form})
    flash(done_message(), "success")
    return redirect(url_for(".show", agreement_id=agreement.id))


def _page_number() -> int:
    page = request.args.get("page", "1")
    if not page.isdigit() or int(page) < 1:
        abort(404)
    return int(page)


# ---- list, detail, downloads -------------------------------------------------------------------

@bp.get("/agreements")
@access.requires("list", "agreement")
def index():
    status = request.args.get("status") or None
    if status not in queries.FILTERS:
        status = None
    page = queries.list_agreements(_page_number(), PER_PAGE, status)
    ids = [a.id for a in page.items]
    return render_template("agreements/index.html", page=page, status=status, filters=queries.FILTERS,
                           objection_deadlines=queries.open_objection_deadlines(ids),
                           assignment_titles=queries.assignment_titles(ids), now=clock.now(),
                           aware=queries.aware)


@bp.get("/agreements/<agreement_id>")
@access.requires("view", "agreement")
def show(agreement_id):
    agreement = get_or_404(Agreement, agreement_id)
    return _render_show(agreement)


def _render_show(agreement: Agreement, status: int = 200, **forms_in_error):
    template = db.session.get(AgreementTemplate, agreement.template_id)
    signers = queries.signers_of(agreement)
    audit.record("agreement.view", "agreement", agreement.id)
    _keep_read_audit(status)
    countersigner = next((s for s in signers if s.side == "tenant"), None)
    context = {
        "agreement": agreement, "template": template, "signers": signers, "trail": countersigning.trail(agreement),
        "sub_processors": [(s, queries.sub_processor_state(s)) for s in queries.sub_processors_of(agreement)],
        "assignment": queries.assignment_of(agreement),
        "supersedes": db.session.get(Agreement, agreement.supersedes_id) if agreement.supersedes_id else None,
        "newer": db.session.scalar(sa.select(Agreement).where(Agreement.supersedes_id == agreement.id)
                                   .order_by(Agreement.version.desc()).limit(1)),
        "may_countersign": agreement.status == "signed" and countersigner is not None
        and countersigner.user_id == current_user.id,
        "countersigner": countersigner,
        "pending": _pending_job(agreement),
        "send_form": forms.SendForm(), "revoke_form": forms.RevokeForm(), "confirm_form": forms.ConfirmForm(),
        "sub_form": forms.SubProcessorForm(),
        "fields": [(f, (agreement.fields or {}).get(f.name)) for f in merge_fields.MERGE_FIELDS],
        "can_revoke": agreement.status in ("draft", "sent", "viewed", "signed"),
        "can_version": agreement.status not in ("draft", "countersigned", "superseded"),
    }
    context.update(forms_in_error)
    return render_template("agreements/show.html", **context), status


def _pending_job(agreement: Agreement) -> tuple[object, str] | None:
    """The send or seal job of this agreement that is still queued, running or failed, with its status:
    a progress bar, or a pointer to the jobs page when it failed."""
    from saas.modules.jobs_admin.queries import find_tenant_job

    step = {"draft": "send", "countersigned": "seal"}.get(agreement.status)
    if step is None:
        return None
    try:
        job = find_tenant_job(queueing.job_id(step, agreement.id), agreement.tenant_id)
        status = job.get_status() if job is not None else None
    except Exception:   # Redis away: the page still works, without the progress bar
        return None
    if status is None or status == "finished":
        return None
    return job, str(getattr(status, "value", status))


def _pdf(agreement: Agreement, file_id, action: str, download_name: str, as_attachment: bool):
    stored = stored_files.get(file_id) if file_id else None
    if stored is None:
        abort(404)
    content = stored_files.read(stored)
    audit.record(action, "agreement", agreement.id, detail={"file_id": str(stored.id)})
    return send_file(io.BytesIO(content), mimetype="application/pdf", download_name=download_name,
                     as_attachment=as_attachment)


@bp.get("/agreements/<agreement_id>/document.pdf")
@access.requires("export", "agreement")
def document(agreement_id):
    """The exact PDF sent for signing (its SHA-256 is on the detail and countersign pages)."""
    agreement = get_or_404(Agreement, agreement_id)
    return _pdf(agreement, agreement.document_file_id, "agreement.document_download",
                f"{agreement.number}-document.pdf", as_attachment=False)


@bp.get("/agreements/<agreement_id>/sealed.pdf")
@access.requires("export", "agreement")
def sealed(agreement_id):
    agreement = get_or_404(Agreement, agreement_id)
    return _pdf(agreement, agreement.sealed_file_id, "agreement.sealed_download", f"{agreement.number}.pdf",
                as_attachment=True)


@bp.get("/agreements/<agreement_id>/preview.pdf")
@access.requires("edit", "agreement")
def preview(agreement_id):
    """A draft as it would be sent today (rendered now, not stored)."""
    from saas.modules.seals import pdf

    agreement = get_or_404(Agreement, agreement_id)
    if agreement.status != "draft":
        abort(404)
    try:
        content = pdf.html_to_pdf(sending.agreement_html(agreement))
    except rendering.TemplateProblem as exc:
        flash(_("The template cannot be rendered: %(problem)s", problem=str(exc)), "error")
        return redirect(url_for(".show", agreement_id=agreement.id))
    audit.record("agreement.preview", "agreement", agreement.id)
    return send_file(io.BytesIO(content), mimetype="application/pdf", download_name=f"{agreement.number}-preview.pdf")


# ---- create and edit ---------------------------------------------------------------------------

def _agreement_form(**kwargs) -> forms.AgreementForm:
    form = forms.AgreementForm(**kwargs)
    form.set_choices(queries.published_templates(), queries.tenant_admins(), accounts_queries.client_organisations(),
                     queries.assignments())
    return form


def _render_form(form: forms.AgreementForm, agreement: Agreement | None, status: int = 200):
    return render_template("agreements/form.html", form=form, agreement=agreement,
                           merge_names=forms.AgreementForm.MERGE_NAMES), status


@bp.route("/agreements/new", methods=["GET", "POST"])
@access.requires("create", "agreement")
def create():
    if request.method == "GET" and not queries.published_templates():
        flash(_("Install or publish a template first."), "warning")
        return redirect(url_for(".templates"))
    own_language = next((t for t in queries.published_templates() if t.language == g.tenant.locale), None)
    form = _agreement_form(countersigner_id=str(current_user.id), assignment_id=request.args.get("assignment", ""),
                           template_id=str(own_language.id) if own_language else None)
    if not form.validate_on_submit():
        return _render_form(form, None, 400 if form.is_submitted() else 200)
    try:
        agreement = drafting.create_agreement(form.to_input(), current_user.id)
    except DomainError as exc:
        db.session.rollback()
        forms.show_errors(form, exc.errors or {"": str(exc)})
        return _render_form(form, None, 400)
    flash(_("Agreement %(number)s was created as a draft.", number=agreement.number), "success")
    return redirect(url_for(".show", agreement_id=agreement.id))


@bp.route("/agreements/<agreement_id>/edit", methods=["GET", "POST"])
@access.requires("edit", "agreement")
def edit(agreement_id):
    agreement = get_or_404(Agreement, agreement_id)
    if agreement.status != "draft":
        flash(_("Only a draft can be edited; make a new version instead."), "warning")
        return redirect(url_for(".show", agreement_id=agreement.id))
    if request.method == "GET":
        form = _agreement_form(data=_form_data(agreement))
        return _render_form(form, agreement)
    form = _agreement_form()
    if not form.validate():
        return _render_form(form, agreement, 400)
    try:
        drafting.update_draft(agreement, form.to_input())
    except DomainError as exc:
        db.session.rollback()
        forms.show_errors(form, exc.errors or {"": str(exc)})
        return _render_form(form, agreement, 400)
    flash(_("The changes were saved."), "success")
    return redirect(url_for(".show", agreement_id=agreement.id))


def _form_data(agreement: Agreement) -> dict:
    other = next((s for s in queries.signers_of(agreement) if s.side == "counterparty"), None)
    ours = queries.tenant_signer(agreement)
    assignment = queries.assignment_of(agreement)
    annex = "\n".join(f"{s.name} | {s.country} | {s.purpose}" for s in queries.sub_processors_of(agreement))
    return {
        "template_id": str(agreement.template_id), "tenant_role": agreement.tenant_role,
        "counterparty_name": agreement.counterparty_name, "counterparty_kvk": agreement.counterparty_kvk or "",
        "client_org_id": str(agreement.client_org_id or ""), "assignment_id": str(assignment.id) if assignment else "",
        "signer_name": other.name if other else "", "signer_email": other.email if other else "",
        "signer_function": (other.function or "") if other else "",
        "countersigner_id": str(ours.user_id) if ours else "", "reminder_days": str(agreement.reminder_days),
        "sub_processors": annex,
        **{name: str(value) for name, value in (agreement.fields or {}).items()},
    }


# ---- lifecycle actions -------------------------------------------------------------------------

@bp.post("/agreements/<agreement_id>/send")
@access.requires("sign", "agreement")
def send(agreement_id):
    agreement = get_or_404(Agreement, agreement_id)
    form = forms.SendForm()

    def send_it():
        days = (form.valid_days.data or "").strip()
        sending.request_send(agreement, int(days) if days.isdigit() else 0)

    return _page_form(agreement, form, "send_form", form.valid_days, send_it,
                      lambda: _("The agreement is being prepared and sent; this page shows when it is."))


@bp.post("/agreements/<agreement_id>/revoke")
@access.requires("edit", "agreement")
def revoke(agreement_id):
    agreement = get_or_404(Agreement, agreement_id)
    form = forms.RevokeForm()
    return _page_form(agreement, form, "revoke_form", form.reason,
                      lambda: sending.revoke(agreement, form.reason.data or "", current_user.id),
                      lambda: _("The agreement was revoked; its signing links no longer work."))


@bp.route("/agreements/<agreement_id>/countersign", methods=["GET", "POST"])
@access.requires("sign", "agreement")
def countersign(agreement_id):
    agreement = get_or_404(Agreement, agreement_id)
    form = forms.CountersignForm()
    status = 200
    if form.validate_on_submit():
        try:
            countersigning.countersign(agreement, current_user, form.function.data, form.authority.data is True,
                                   form.document_sha256.data)
        except DomainError as exc:
            db.session.rollback()
            forms.show_errors(form, exc.errors or {"": str(exc)})
            status = 400
        else:
            flash(_("You countersigned. The sealed PDF is made and mailed to all parties."), "success")
            return redirect(url_for(".show", agreement_id=agreement.id))
    elif form.is_submitted():
        status = 400
    signer = queries.tenant_signer(agreement)
    if request.method == "GET":
        form.function.data = signer.function if signer else ""
    form.document_sha256.data = agreement.document_sha256
    audit.record("agreement.countersign_view", "agreement", agreement.id)
    _keep_read_audit(status)
    return render_template("agreements/countersign.html", agreement=agreement, form=form, signer=signer,
                           signers=queries.signers_of(agreement)), status


@bp.post("/agreements/<agreement_id>/new-version")
@access.requires("create", "agreement")
def new_version(agreement_id):
    agreement = get_or_404(Agreement, agreement_id)
    if not forms.ConfirmForm().validate_on_submit():
        abort(400)
    try:
        new = drafting.new_version(agreement, current_user.id)
    except DomainError as exc:
        return _refused(exc, agreement_id=agreement.id)
    flash(_("Version %(version)s was made as a draft: check it and send it.", version=new.version), "success")
    return redirect(url_for(".show", agreement_id=new.id))


@bp.post("/agreements/<agreement_id>/sub-processors")
@access.requires("edit", "agreement")
def add_sub_processor(agreement_id):
    agreement = get_or_404(Agreement, agreement_id)
    form = forms.SubProcessorForm()
    return _page_form(
        agreement, form, "sub_form", form.name,
        lambda: sub_processors.add_sub_processor(agreement, form.name.data or "", form.country.data or "",
                                             form.purpose.data or ""),
        lambda: _("The sub-processor was added.") if agreement.status == "draft"
        else _("The change was announced to the controller, who may object until the notice period ends."))


@bp.post("/agreements/<agreement_id>/sub-processors/<sub_id>/remove")
@access.requires("edit", "agreement")
def remove_sub_processor(agreement_id, sub_id):
    agreement = get_or_404(Agreement, agreement_id)
    sub = get_or_404(SubProcessor, sub_id)
    if sub.agreement_id != agreement.id or not forms.ConfirmForm().validate_on_submit():
        abort(404)
    was_draft = agreement.status == "draft"
    try:
        sub_processors.remove_sub_processor(agreement, sub)
    except DomainError as exc:
        return _refused(exc, agreement_id=agreement.id)
    flash(_("The sub-processor was removed.") if was_draft
          else _("The removal was announced to the controller."), "success")
    return redirect(url_for(".show", agreement_id=agreement.id))


# ---- templates ---------------------------------------------------------------------------------

@bp.get("/agreements/templates")
@access.requires("list", "template")
def templates():
    return render_template("agreements/templates.html", templates=queries.templates(), confirm_form=forms.ConfirmForm())


@bp.post("/agreements/templates/seed")
@access.requires("create", "template")
def seed_templates():
    if not forms.ConfirmForm().validate_on_submit():
        abort(400)
    created = template_versions.seed_default_templates(current_user.id)
    flash(_("%(count)s default templates were installed.", count=len(created)) if created
          else _("The default templates are already installed."), "success")
    return redirect(url_for(".templates"))


@bp.route("/agreements/templates/<template_id>", methods=["GET", "POST"])
@access.requires("view", "template", POST=("edit", "template"))
def template(template_id):
    item = get_or_404(AgreementTemplate, template_id)
    form = forms.TemplateForm(obj=item)
    status = 200
    if request.method == "POST":
        if form.validate_on_submit():
            try:
                template_versions.save_template(item, form.title.data, form.body.data)
            except DomainError as exc:
                db.session.rollback()
                forms.show_errors(form, exc.errors or {"": str(exc)})
                status = 400
            else:
                flash(_("The draft was saved."), "success")
                return redirect(url_for(".template", template_id=item.id))
        else:
            status = 400
    check = template_versions.check_template(item) if status == 200 else None
    return render_template("agreements/template.html", item=item, form=form, check=check,
                           versions=queries.template_versions(item.key, item.language),
                           confirm_form=forms.ConfirmForm(), merge_fields=merge_fields.MERGE_FIELDS,
                           elements=_checklist_elements()), status


def _checklist_elements():
    from saas.modules.agreements import checklist

    return checklist.ELEMENTS


@bp.post("/agreements/templates/<template_id>/publish")
@access.requires("edit", "template")
def publish_template(template_id):
    item = get_or_404(AgreementTemplate, template_id)
    if not forms.ConfirmForm().validate_on_submit():
        abort(400)
    try:
        template_versions.publish_template(item, current_user.id)
    except DomainError as exc:
        return _refused(exc, ".template", template_id=item.id)
    flash(_("Version %(version)s is published; new agreements use it.", version=item.version), "success")
    return redirect(url_for(".template", template_id=item.id))


@bp.post("/agreements/templates/<template_id>/new-version")
@access.requires("create", "template")
def new_template_version(template_id):
    item = get_or_404(AgreementTemplate, template_id)
    if not forms.ConfirmForm().validate_on_submit():
        abort(400)
    draft = template_versions.new_template_version(item)
    return redirect(url_for(".template", template_id=draft.id))


# ---- the controller's objection (public, no login) ---------------------------------------------

_TOKEN_IN_PATH = re.compile(r"/objection/([^/\s]+)/[A-Za-z0-9_-]+")


class RedactObjectionTokens(logging.Filter):
    """Request and error log lines name the path: the token in it becomes [token]."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        if "/objection/" in message:
            record.msg, record.args = _TOKEN_IN_PATH.sub(r"/objection/\1/[token]", message), ()
        return True


def _objection_target(tenant_slug: str, token: str) -> tuple[Tenant, SubProcessor, Agreement]:
    tenant = db.session.scalar(sa.select(Tenant).where(Tenant.slug == tenant_slug, Tenant.active.is_(True)))
    if tenant is None or not re.fullmatch(r"[A-Za-z0-9_-]{20,100}", token or ""):
        abort(404)
    switch_tenant(tenant.id)
    sub = queries.sub_processor_by_token_hash(hashlib.sha256(token.encode()).digest())
    if sub is None:
        abort(404)
    # g.tenant stays unset: the page is no portal page (no tenant menu); the visitor's browser picks the language.
    g.audit_actor = ("controller", str(sub.id))
    return tenant, sub, db.session.get(Agreement, sub.agreement_id)


@public.route("/<tenant_slug>/<token>", methods=["GET", "POST"])
@limiter.limit("30 per minute", methods=["POST"])
def objection(tenant_slug, token):
    tenant, sub, agreement = _objection_target(tenant_slug, token)
    form = forms.ObjectionForm()
    status = 200
    if form.validate_on_submit():
        try:
            sub_processors.object_to_change(sub, form.reason.data or "")
        except DomainError as exc:
            db.session.rollback()
            form.reason.errors = [str(exc)]
            status = 400
        else:
            flash(_("Your objection was recorded and sent to %(tenant)s.", tenant=tenant.name), "success")
            return redirect(url_for(".objection", tenant_slug=tenant_slug, token=token))
    elif form.is_submitted():
        status = 400
    open_window = sub.objected_at is None and clock.now() <= queries.aware(sub.objection_until)
    return render_template("agreements/objection.html", tenant=tenant, sub=sub, agreement=agreement, form=form,
                           open_window=open_window, deadline=common.local_text(sub.objection_until)), status
