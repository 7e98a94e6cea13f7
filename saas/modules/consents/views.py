"""Consent pages: recording and withdrawing a grant on a subject (admins and supervisors), and the public
page where a subject answers a re-consent request from a mailed link (no login).

The public page resolves the tenant from the link's token. Opening it (GET) changes nothing, so a mail
scanner that follows links consumes nothing; only the answer (a POST with the form's CSRF token) counts,
once.
"""
from __future__ import annotations

from datetime import datetime, time, timezone

from flask import Blueprint, flash, g, redirect, render_template, url_for
from flask_babel import gettext as _

from saas.core import clock
from saas.core.web import switch_tenant, tenant_blueprint
from saas import access
from saas.extensions import db, limiter
from saas.modules.consents import operations, queries
from saas.modules.consents.forms import (
    CHANNEL_LABELS, LEGAL_BASIS_LABELS, STATUS_LABELS, AnswerForm, ConsentForm, label, purpose_label,
    question_text,
)
from saas.modules.subjects import queries as subjects_queries
from saas.modules.subjects.forms import add_errors

bp = tenant_blueprint("consents", __name__, template_folder="templates")
public_bp = Blueprint("consents_public", __name__, template_folder="templates")
# The app registers each feature's `bp`; the public page (no tenant in its URL) is registered with it.
bp.record_once(lambda state: state.app.register_blueprint(public_bp))

PUBLIC_RATE_LIMIT = "30 per minute"


@bp.app_template_filter("purpose_label")
def _purpose_label(purpose: str) -> str:
    return purpose_label(purpose)


@bp.app_template_filter("legal_basis_label")
def _legal_basis_label(value: str) -> str:
    return label(LEGAL_BASIS_LABELS, value)


@bp.app_template_filter("channel_label")
def _channel_label(value: str) -> str:
    return label(CHANNEL_LABELS, value)


@bp.app_template_filter("consent_status_label")
def _status_label(value: str) -> str:
    return label(STATUS_LABELS, value)


# ---- portal -------------------------------------------------------------------------------------------

@bp.route("/subjects/<subject_id>/consents/new", methods=["GET", "POST"])
@access.requires("create", "consent")
def create(subject_id):
    subject = subjects_queries.find_subject(subject_id, "consent.give")
    form = ConsentForm()
    if not form.is_submitted():
        form.given_on.data = clock.today()
    if form.validate_on_submit():
        try:
            operations.give_consent(subject, form.purpose.data, form.legal_basis.data, form.evidence_text.data,
                                    form.channel.data, form.expires_on.data, given_at=_given_at(form.given_on.data))
        except operations.ConsentRejected as exc:
            db.session.rollback()
            add_errors(form, exc.errors)
        else:
            flash(_("The consent was recorded."), "success")
            return redirect(url_for("subjects.show", subject_id=subject.id))
    status = 400 if form.is_submitted() else 200
    return render_template("consents/form.html", form=form, subject_id=subject_id,
                           purposes=queries.known_purposes()), status


def _given_at(given_on):
    """A day given in the form: now when it is today, else noon that day in Amsterdam."""
    if given_on is None or given_on == clock.today():
        return clock.now()
    return datetime.combine(given_on, time(12), tzinfo=clock.AMSTERDAM).astimezone(timezone.utc)


@bp.post("/subjects/<subject_id>/consents/<consent_id>/withdraw")
@access.requires("edit", "consent")
def withdraw(subject_id, consent_id):
    subject = subjects_queries.find_subject(subject_id, "consent.withdraw")
    record = queries.find_record(subject, consent_id)
    try:
        operations.withdraw(record)
    except operations.AlreadyWithdrawn:
        db.session.rollback()
        flash(_("This consent was withdrawn before."), "info")
    else:
        flash(_("The withdrawal was recorded."), "success")
    return redirect(url_for("subjects.show", subject_id=subject_id))


# ---- public page ------------------------------------------------------------------------------------------

LINK_PROBLEMS = {
    None: (404, "unknown"),
    queries.USED: (410, "used"),
    queries.LINK_EXPIRED: (410, "expired"),
}


@public_bp.route("/consent/<token>", methods=["GET", "POST"], endpoint="answer")
@limiter.limit(PUBLIC_RATE_LIMIT)
def answer(token):
    request_row = _request_of_link(token)
    state = queries.request_state(request_row) if request_row is not None else None
    if state != queries.OPEN:
        status, problem = LINK_PROBLEMS[state]
        db.session.rollback()
        return render_template("consents/public_invalid.html", problem=problem), status
    question = question_text(g.tenant.name, request_row.purpose)
    form = AnswerForm()
    if form.validate_on_submit() and (form.yes.data or form.no.data):
        return _record_answer(request_row, form, question)
    db.session.rollback()
    return render_template("consents/public_answer.html", form=form, question=question,
                           token=token), 400 if form.is_submitted() else 200


def _request_of_link(token: str):
    """Enter the tenant of the link (for its name and language) and find its request; None if unknown."""
    tenant = queries.tenant_of_token(token) if len(token) <= 200 else None
    if tenant is None:
        return None
    switch_tenant(tenant.id)
    g.tenant, g.tenant_slug = tenant, tenant.slug
    return queries.find_request(token)


def _record_answer(request_row, form: AnswerForm, question: str):
    answer = operations.YES if form.yes.data else operations.NO
    g.audit_actor = ("subject", str(request_row.subject_id))
    if not operations.claim(request_row, answer):  # answered in another tab a moment ago
        db.session.rollback()
        return render_template("consents/public_invalid.html", problem="used"), 410
    erasure = None
    if answer == operations.YES:
        operations.answer_yes(request_row, f"{question} — {form.yes.label.text}")
        outcome = "kept"
    else:
        erasure = operations.answer_no(request_row)
        outcome = erasure.status
    return render_template("consents/public_done.html", outcome=outcome, erasure=erasure)
