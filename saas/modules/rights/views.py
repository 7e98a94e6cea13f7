"""Rights request pages: the public form of a tenant (no account), the code page, the download page, and the
register of requests for the tenant's admins.

Public URLs carry the tenant's slug outside `/<tenant>/...` (which is for members only), as the consent
page does: `/rights/<slug>` (the form), `/rights/<slug>/r/<request_id>` (the code), `/rights/download/<token>`.
Every public page answers the same whether or not the tenant holds data about the person: the form always
says a code was mailed, the code page always asks for the code.
"""
from __future__ import annotations

import uuid

from flask import Blueprint, abort, flash, g, redirect, render_template, request as http, send_file, session, url_for
from flask_babel import gettext as _
from flask_login import current_user
import io

from saas import access
from saas.core import clock, transaction
from saas.core.web import get_or_404, switch_tenant, tenant_blueprint
from saas.extensions import db, limiter
from saas.modules.files import storage
from saas.modules.files.models import StoredFile
from saas.modules.rights import deadlines, operations, queries
from saas.modules.rights.forms import (
    CHANNEL_LABELS, AnswerForm, CodeForm, DownloadForm, ExtendForm, LinkForm, PageActionForm, PageAskForm,
    PublicRequestForm, RefuseForm,
    StaffRequestForm, VerifyForm,
)
from saas.modules.rights.models import RightsRequest

bp = tenant_blueprint("rights", __name__, template_folder="templates")
public_bp = Blueprint("rights_public", __name__, template_folder="templates")
bp.record_once(lambda state: state.app.register_blueprint(public_bp))

PUBLIC_RATE_LIMIT = "10 per minute"


@bp.app_template_filter("rights_kind")
def _kind_label(kind: str) -> str:
    return operations.kind_label(kind)


@bp.app_template_filter("rights_channel")
def _channel_label(channel: str) -> str:
    return str(CHANNEL_LABELS.get(channel, channel))


# ---- public -------------------------------------------------------------------------------------------

def _enter_public(slug: str):
    tenant = queries.tenant_of_slug(slug)
    if tenant is None:
        abort(404)
    switch_tenant(tenant.id)
    g.tenant, g.tenant_slug = tenant, tenant.slug
    return tenant


@public_bp.route("/rights/<slug>", methods=["GET", "POST"], endpoint="form")
@limiter.limit(PUBLIC_RATE_LIMIT, methods=["POST"])
def public_form(slug):
    tenant = _enter_public(slug)
    form = PublicRequestForm()
    if not form.is_submitted():
        form.locale.data = g.get("locale") or tenant.locale
    if form.validate_on_submit():
        try:
            rights_request = operations.receive(form.kind.data, "web", email=form.email.data, phone=form.phone.data,
                                               name=form.name.data, details=form.details.data, locale=form.locale.data)
        except operations.RightsError as exc:
            db.session.rollback()
            for name, message in exc.errors.items():
                getattr(form, name, form.email).errors.append(str(message))
        else:
            g.audit_actor = ("public", None)
            return redirect(url_for("rights_public.confirm", slug=tenant.slug, request_id=rights_request.id))
    db.session.rollback()
    return render_template("rights/public_form.html", form=form, tenant=tenant), 400 if form.is_submitted() else 200


@public_bp.route("/rights/<slug>/r/<request_id>", methods=["GET", "POST"], endpoint="confirm")
@limiter.limit(PUBLIC_RATE_LIMIT, methods=["POST"])
def public_confirm(slug, request_id):
    tenant = _enter_public(slug)
    rights_request = _public_request(request_id)
    form = CodeForm()
    if form.validate_on_submit():
        if rights_request is not None and operations.confirm_code(rights_request, form.code.data):
            return render_template("rights/public_done.html", tenant=tenant, request=rights_request)
        transaction.persist_now()   # a wrong code counts, although the answer is an error
        form.code.errors.append(_("This code is not right, or it has expired."))
        return render_template("rights/public_code.html", form=form, tenant=tenant, request_id=request_id), 400
    db.session.rollback()
    return render_template("rights/public_code.html", form=form, tenant=tenant, request_id=request_id), \
        400 if form.is_submitted() else 200


def _public_request(request_id) -> RightsRequest | None:
    try:
        return db.session.get(RightsRequest, uuid.UUID(str(request_id)))
    except ValueError:
        return None


@public_bp.route("/rights/<slug>/download/<token>", methods=["GET", "POST"], endpoint="download")
@limiter.limit(PUBLIC_RATE_LIMIT, methods=["POST"])
def public_download(slug, token):
    _enter_public(slug)
    download = queries.find_download(operations.download_hash(token)) if len(token) <= 100 else None
    if download is None:
        db.session.rollback()
        return render_template("rights/public_invalid.html"), 404
    if queries.expired(download.expires_at):
        db.session.rollback()
        return render_template("rights/public_invalid.html", expired=True), 410
    form = DownloadForm()
    if form.validate_on_submit():
        if operations.check_download_code(download, form.code.data):
            wanted = http.form.get("file", "0")
            index = int(wanted) if wanted.isdigit() and int(wanted) < len(download.files) else 0
            return _send(download.files[index])
        transaction.persist_now()   # a wrong code counts, although the answer is an error
        form.code.errors.append(_("This code is not right."))
        return render_template("rights/public_download.html", form=form, download=download, slug=slug,
                               token=token), 400
    db.session.rollback()
    return render_template("rights/public_download.html", form=form, download=download, slug=slug, token=token), \
        400 if form.is_submitted() else 200


def _send(entry: dict):
    stored = db.session.get(StoredFile, uuid.UUID(entry["file_id"]))
    if stored is None:
        abort(410)
    content = storage.read(stored)
    response = send_file(io.BytesIO(content), mimetype=stored.content_type, as_attachment=True,
                         download_name=entry["name"])
    response.headers["Cache-Control"] = "no-store"
    return response


# ---- the personal page (mailed link + code) -----------------------------------------------------------

PAGE_SESSION_KEY = "rights_page"


@public_bp.route("/rights/<slug>/page", methods=["GET", "POST"], endpoint="page_ask")
@limiter.limit(PUBLIC_RATE_LIMIT, methods=["POST"])
def page_ask(slug):
    tenant = _enter_public(slug)
    form = PageAskForm()
    if not form.is_submitted():
        form.locale.data = tenant.locale
    if form.validate_on_submit():
        operations.mail_personal_link(form.email.data, form.locale.data)
        return render_template("rights/page_sent.html", tenant=tenant)
    db.session.rollback()
    return render_template("rights/page_ask.html", form=form, tenant=tenant), 400 if form.is_submitted() else 200


@public_bp.route("/rights/<slug>/me/<token>", methods=["GET", "POST"], endpoint="page")
@limiter.limit("30 per minute", methods=["POST"])
def page(slug, token):
    tenant = _enter_public(slug)
    link = queries.find_personal_link(operations.download_hash(token)) if len(token) <= 100 else None
    if link is None or queries.expired(link.expires_at):
        db.session.rollback()
        return render_template("rights/public_invalid.html", expired=link is not None), 404 if link is None else 410
    g.audit_actor = ("public", None)
    opened = session.get(PAGE_SESSION_KEY) == str(link.id)
    if not opened:
        form = CodeForm()
        if form.validate_on_submit():
            if operations.open_personal_page(link, form.code.data):
                session[PAGE_SESSION_KEY] = str(link.id)
                return redirect(url_for("rights_public.page", slug=slug, token=token))
            transaction.persist_now()   # a wrong code counts
            form.code.errors.append(_("This code is not right, or it has expired."))
            return render_template("rights/page_code.html", form=form, tenant=tenant, slug=slug, token=token), 400
        db.session.rollback()
        return render_template("rights/page_code.html", form=form, tenant=tenant, slug=slug, token=token)
    form = PageActionForm()
    done = None
    if form.validate_on_submit():
        action = http.form.get("action", "")
        if action == "withdraw":
            done = "withdrawn" if operations.withdraw_from_page(link, http.form.get("consent_id", "")) else None
        elif action in operations.PAGE_ACTIONS:
            row = operations.request_from_page(link, action, form.details.data)
            done = action
            return render_template("rights/page_done.html", tenant=tenant, done=done, outcome=row.outcome,
                                   slug=slug, token=token)
    records = queries.page_overview(link)
    return render_template("rights/page.html", tenant=tenant, records=records, form=form, slug=slug, token=token,
                           done=done)


# ---- the register (admins) ----------------------------------------------------------------------------

@bp.get("/rights")
@access.requires("list", "rights_request")
def index():
    status = http.args.get("status") or None
    rows = queries.list_requests(status if status in ("open", "answered", "refused") else None)
    return render_template("rights/index.html", rows=rows, today=clock.today(), status=status)


@bp.get("/rights/report")
@access.requires("view", "rights_request")
def report():
    """Requests per month and kind, median time to answer, share within the legal and the own deadline."""
    return render_template("rights/report.html", lines=queries.report())


@bp.get("/rights/report.csv")
@access.requires("export", "rights_request")
def report_csv():
    """The same report as CSV, for the accountability file (art. 5(2)). Counts and dates only."""
    import csv

    text = io.StringIO()
    writer = csv.DictWriter(text, fieldnames=queries.REPORT_COLUMNS)
    writer.writeheader()
    writer.writerows(queries.report())
    response = send_file(io.BytesIO(text.getvalue().encode()), mimetype="text/csv", as_attachment=True,
                         download_name="rights-requests.csv")
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.route("/rights/new", methods=["GET", "POST"])
@access.requires("create", "rights_request")
def create():
    form = StaffRequestForm()
    if not form.is_submitted():
        form.received_on.data = clock.today()
        form.locale.data = g.tenant.locale if getattr(g, "tenant", None) else "nl"
    if form.validate_on_submit():
        if form.received_on.data > clock.today():
            form.received_on.errors.append(_("A request cannot be received in the future."))
        else:
            try:
                row = operations.receive(form.kind.data, form.channel.data, email=form.email.data,
                                         phone=form.phone.data, name=form.name.data, details=form.details.data,
                                         locale=form.locale.data, received_on=form.received_on.data)
            except operations.RightsError as exc:
                db.session.rollback()
                for name, message in exc.errors.items():
                    getattr(form, name, form.email).errors.append(str(message))
            else:
                flash(_("The request was registered."), "success")
                return redirect(url_for("rights.show", request_id=row.id))
    return render_template("rights/new.html", form=form), 400 if form.is_submitted() else 200


@bp.get("/rights/<request_id>")
@access.requires("view", "rights_request")
def show(request_id):
    row = queries.find_request(request_id)
    people = queries.linked_subjects(row) if row.status == "verified" or not row.is_open else []
    from saas.modules.audit import operations as audit

    audit.record("rights.read", "rights_request", row.id, detail={"records": len(people)})
    candidates = None
    if row.status == "verified" and http.args.get("family_name"):
        linked = {p.id for p in people}
        candidates = [c for c in queries.candidates_by_name(http.args.get("family_name", "")[:200],
                                                             http.args.get("second", "")[:200]) if c.id not in linked]
    return render_template("rights/show.html", row=row, people=people, letters=queries.letters(row),
                           today=clock.today(), may_extend=row.is_open and row.extended_due_on is None
                           and deadlines.may_extend(row.received_on, clock.today()),
                           verify_form=VerifyForm(), extend_form=ExtendForm(), refuse_form=RefuseForm(),
                           link_form=LinkForm(), answer_form=AnswerForm(), candidates=candidates,
                           clients=queries.client_names())


def _act(request_id, work):
    row = queries.find_request(request_id)
    try:
        work(row)
    except operations.RightsError as exc:
        db.session.rollback()
        flash(str(exc), "error")
        for message in exc.errors.values():
            flash(str(message), "error")
    else:
        flash(_("Done."), "success")
    return redirect(url_for("rights.show", request_id=request_id))


@bp.post("/rights/<request_id>/verify")
@access.requires("edit", "rights_request")
def verify(request_id):
    form = VerifyForm()
    return _act(request_id, lambda row: operations.verify_by_staff(row, form.note.data or "", current_user.id))


@bp.post("/rights/<request_id>/extend")
@access.requires("edit", "rights_request")
def extend(request_id):
    form = ExtendForm()
    return _act(request_id, lambda row: operations.extend(row, form.reason.data or ""))


@bp.post("/rights/<request_id>/link")
@access.requires("edit", "rights_request")
def link(request_id):
    form = LinkForm()
    return _act(request_id, lambda row: operations.link_person(row, form.person_id.data or ""))


@bp.post("/rights/<request_id>/answer")
@access.requires("edit", "rights_request")
def answer(request_id):
    form = AnswerForm()
    changes = parse_changes(form.changes.data or "")
    return _act(request_id, lambda row: operations.answer(row, changes=changes))


@bp.post("/rights/<request_id>/refuse")
@access.requires("edit", "rights_request")
def refuse(request_id):
    form = RefuseForm()
    return _act(request_id, lambda row: operations.refuse(row, form.ground.data or "", form.reason.data or ""))


def parse_changes(text: str) -> dict:
    changes = {}
    for line in text.splitlines():
        if "=" in line:
            name, value = line.split("=", 1)
            changes[name.strip()] = value.strip()
    return changes
