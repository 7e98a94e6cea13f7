"""Public signing pages (no login): `/sign/<token>`.

The token in the link names its tenant; the pages find it there and show nothing else. Opening the link
(GET) never uses it up, because mail scanners open links too: it shows a page that offers to mail a
one-time code to the invited address. After a right code the browser's session remembers, for half an
hour, that this signer verified with this link; only then are the document and the sign and decline
forms shown. A link that is forged, expired, withdrawn or used, or an agreement that is no longer open,
gets a page that says so (404 or 410) and nothing is written.
Tokens stay out of logs: the werkzeug request log and Flask's error log lines are redacted below.
"""
from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from datetime import timedelta

from flask import Blueprint, flash, g, make_response, redirect, render_template, request, session, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from saas.core import clock, transaction
from saas.core.errors import DomainError
from saas.core.web import switch_tenant
from saas.extensions import db, limiter
from saas.modules.agreements.lifecycle import OPEN_FOR_SIGNING
from saas.modules.agreements.models import Agreement, Signer
from saas.modules.signing import operations, queries
from saas.modules.signing.forms import CodeForm, DeclineForm, SendCodeForm, SignForm
from saas.modules.signing.models import SigningToken
from saas.modules.tenants.models import Tenant

bp = Blueprint("signing", __name__, url_prefix="/sign", template_folder="templates")

SESSION_KEY = "signing"
SESSION_TTL = timedelta(minutes=30)
# The PDF is shown in an <iframe> of the signing page, so only that response may be framed, and only by this
# site (the CSP of saas.core.web says frame-ancestors 'none', and X-Frame-Options DENY). It loads nothing
# itself. Every page, the signing page included, keeps the strict policy (its frame-src falls back to 'self').
DOCUMENT_CSP = "default-src 'none'; frame-ancestors 'self'; base-uri 'none'; form-action 'none'"
DONE = ("signed", "declined")

UNAVAILABLE = {
    "invalid": (404, _l("This link is not valid"),
                _l("Check that you opened the complete link from the invitation mail.")),
    "expired": (410, _l("This link has expired"),
                _l("The time to sign this agreement has passed. Ask the sender for a new invitation.")),
    "revoked": (410, _l("This link was withdrawn"),
                _l("The sender withdrew this link. A newer invitation mail may have another link.")),
    "used": (410, _l("This link has been used"),
             _l("The agreement was already signed or declined with this link.")),
    "closed": (410, _l("This agreement can no longer be signed"),
               _l("It was withdrawn, declined, replaced or has expired, or it is already signed.")),
    "document": (409, _l("The document cannot be shown"),
                 _l("The document does not match the one prepared for signing. The sender has to send it again.")),
}
CODE_MESSAGES = {
    "wrong": _l("This code is not correct."),
    "locked": _l("Too many wrong codes. Request a new code."),
    "expired": _l("This code has expired. Request a new code."),
    "missing": _l("Request a code first."),
}


class Unavailable(Exception):
    def __init__(self, kind: str):
        super().__init__(kind)
        self.kind = kind


@dataclass
class Access:
    token: SigningToken
    signer: Signer
    agreement: Agreement
    tenant: Tenant


# --- tokens out of the logs ---------------------------------------------------------------------------

_TOKEN_IN_PATH = re.compile(r"/sign/[A-Za-z0-9_-]+")


class RedactSigningTokens(logging.Filter):
    """Request and error log lines name the path: the token in it becomes [token]."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        if "/sign/" in message:
            record.msg, record.args = _TOKEN_IN_PATH.sub("/sign/[token]", message), ()
        return True


@bp.record_once
def _redact_logs(state) -> None:
    for logger in (logging.getLogger("werkzeug"), state.app.logger):
        if not any(isinstance(f, RedactSigningTokens) for f in logger.filters):
            logger.addFilter(RedactSigningTokens())


# --- finding the link ---------------------------------------------------------------------------------

def _find(raw: str) -> Access:
    tenant_id = queries.tenant_id_of(raw)
    tenant = db.session.get(Tenant, tenant_id) if tenant_id is not None else None
    if tenant is None or not tenant.active:
        raise Unavailable("invalid")
    switch_tenant(tenant.id)
    found = queries.find_link(raw)
    if found is None:
        raise Unavailable("invalid")
    token, signer, agreement = found
    g.tenant = tenant                                  # the tenant's language by default
    g.audit_actor = ("signer", str(signer.id))         # not a portal user who happens to be logged in
    return Access(token, signer, agreement, tenant)


def _problem(access: Access) -> str | None:
    problem = operations.token_problem(access.token)
    if problem == "revoked":
        return problem
    if access.agreement.status not in OPEN_FOR_SIGNING:
        return "closed"
    if problem:
        return problem
    expires_at = queries.aware(access.agreement.expires_at)
    if expires_at is None or expires_at <= clock.now():
        return "expired"
    if access.signer.status not in operations.SIGNER_OPEN:
        return "used"
    return None


def _open(raw: str) -> Access:
    """The link's signer and agreement, if the link may still be used to sign."""
    access = _find(raw)
    problem = _problem(access)
    if problem:
        raise Unavailable(problem)
    return access


@bp.errorhandler(Unavailable)
def _unavailable(error: Unavailable):
    db.session.rollback()
    status, title, message = UNAVAILABLE[error.kind]
    return render_template("signing/unavailable.html", title=title, message=message), status


def _refused(exc: DomainError):
    """A step refused by `operations` (the state changed meanwhile): roll back and say why."""
    db.session.rollback()
    kind = {"expired": "expired", "token_expired": "expired", "token_revoked": "revoked"}.get(exc.reason)
    if kind is None:
        kind = "used" if exc.reason in ("token_used", "signer_done") else "closed"
    raise Unavailable(kind)


# --- the browser's proof of the code ------------------------------------------------------------------

def _token_ref(token: SigningToken) -> str:
    return token.token_hash.hex()[:32]


def _remember_verified(access: Access) -> None:
    session[SESSION_KEY] = {"signer": str(access.signer.id), "token": _token_ref(access.token),
                            "until": int((clock.now() + SESSION_TTL).timestamp())}


def _verified(access: Access) -> bool:
    entry = session.get(SESSION_KEY) or {}
    return (entry.get("signer") == str(access.signer.id) and entry.get("token") == _token_ref(access.token)
            and entry.get("until", 0) > clock.now().timestamp())


def _masked(address: str | None) -> str:
    local, _, domain = (address or "").partition("@")
    return f"{local[:1]}***@{domain}" if domain else "***"


def _page(template: str, access: Access, status: int = 200, **context):
    return render_template(template, access=access, agreement=access.agreement, tenant=access.tenant,
                           masked_email=_masked(access.signer.email), **context), status


# --- pages ----------------------------------------------------------------------------------------------

@bp.get("/<token>")
def start(token):
    access = _open(token)
    if _verified(access):
        return redirect(url_for(".review", token=token))
    operations.note_opened(access.signer, access.token)
    return _page("signing/start.html", access, form=SendCodeForm())


@bp.post("/<token>/code/send")
@limiter.limit("20 per minute")
def send_code(token):
    access = _open(token)   # the CSRF token was checked before (CSRFProtect guards every POST)
    try:
        operations.send_code(access.signer)
    except DomainError as exc:
        if exc.reason == "code_too_soon":
            db.session.rollback()
            flash(_("A code was sent less than a minute ago. Wait %(seconds)s seconds before asking again.",
                    seconds=exc.facts["wait_seconds"]), "error")
            return redirect(url_for(".code", token=token))
        if exc.reason == "code_limit":
            db.session.rollback()
            flash(_("Too many codes were requested today. Try again tomorrow."), "error")
            return redirect(url_for(".code", token=token))
        return _refused(exc)
    flash(_("We sent a code to the invited email address. It is valid for %(minutes)s minutes.",
            minutes=int(operations.CODE_TTL.total_seconds() // 60)), "success")
    return redirect(url_for(".code", token=token))


@bp.route("/<token>/code", methods=["GET", "POST"])
@limiter.limit("30 per minute", methods=["POST"])
def code(token):
    access = _open(token)
    if _verified(access):
        return redirect(url_for(".review", token=token))
    form = CodeForm()
    result = None
    if form.validate_on_submit():
        transaction.fresh_transaction()   # the reads above end: checking locks the agreement
        try:
            result = operations.check_code(access.signer, form.code.data)
        except DomainError as exc:
            return _refused(exc)
        transaction.persist_now()   # a wrong try counts, although the answer is 400
        if result.ok:
            _remember_verified(access)
            return redirect(url_for(".review", token=token))
    status = 400 if (result is not None or form.errors) else 200
    return _page("signing/code.html", access, status, form=form, send_form=SendCodeForm(), result=result,
                 result_message=CODE_MESSAGES.get(result.reason) if result else None)


def _sign_form(access: Access, **kwargs) -> SignForm:
    form = SignForm(**kwargs)
    form.authority.label.text = _("I am authorised to sign on behalf of %(party)s",
                                  party=access.agreement.counterparty_name)
    return form


def _review_page(access: Access, sign_form=None, decline_form=None, status=200, problem=None):
    sign_form = sign_form or _sign_form(access, document_sha256=access.agreement.document_sha256)
    return _page("signing/review.html", access, status, form=sign_form, decline_form=decline_form or DeclineForm(),
                 problem=problem)


@bp.get("/<token>/review")
def review(token):
    access = _open(token)
    if not _verified(access):
        return redirect(url_for(".start", token=token))
    if access.signer.status == "invited":   # the first view writes; later ones only read
        transaction.fresh_transaction()    # the reads above end: marking locks the agreement
        try:
            operations.mark_viewed(access.signer)
        except DomainError as exc:
            return _refused(exc)
    return _review_page(access)


@bp.get("/<token>/document.pdf")
def document(token):
    access = _open(token)
    if not _verified(access):
        return redirect(url_for(".start", token=token))
    try:
        content = queries.document(access.agreement)
    except queries.DocumentMismatch:
        raise Unavailable("document") from None
    response = make_response(content)
    disposition = "attachment" if request.args.get("download") else "inline"
    response.headers["Content-Type"] = "application/pdf"
    response.headers["Content-Disposition"] = f'{disposition}; filename="{access.agreement.number}.pdf"'
    response.headers["Content-Security-Policy"] = DOCUMENT_CSP
    response.headers["X-Frame-Options"] = "SAMEORIGIN"
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.post("/<token>/sign")
def sign(token):
    access = _open(token)
    if not _verified(access):
        return redirect(url_for(".start", token=token))
    form = _sign_form(access)
    if not form.validate():
        return _review_page(access, sign_form=form, status=400)
    transaction.fresh_transaction()   # the reads above end: signing starts its own, serialised transaction
    try:
        operations.sign(access.signer, form.name.data, form.function.data, form.authority.data is True,
                        form.document_sha256.data, token=access.token)
    except DomainError as exc:
        if exc.reason == "document_changed":
            db.session.rollback()
            return _review_page(access, status=409, problem=_(
                "The document was changed after you opened it. Read the current version and sign again."))
        if exc.reason in ("details_missing", "authority_not_confirmed"):
            db.session.rollback()
            return _review_page(access, sign_form=form, status=400, problem=_("Fill in your name and function."))
        return _refused(exc)
    return redirect(url_for(".done", token=token))


@bp.post("/<token>/decline")
def decline(token):
    access = _open(token)
    if not _verified(access):
        return redirect(url_for(".start", token=token))
    form = DeclineForm()
    if not form.validate():
        return _review_page(access, decline_form=form, status=400)
    transaction.fresh_transaction()   # the reads above end: declining starts its own, serialised transaction
    try:
        operations.decline(access.signer, form.reason.data, token=access.token)
    except DomainError as exc:
        if exc.reason == "reason_missing":
            db.session.rollback()
            return _review_page(access, decline_form=form, status=400)
        return _refused(exc)
    return redirect(url_for(".done", token=token))


@bp.get("/<token>/done")
def done(token):
    access = _find(token)
    if not _verified(access) or access.signer.status not in DONE:
        return redirect(url_for(".start", token=token))
    return _page("signing/done.html", access, signer=access.signer)


@bp.after_request
def _private(response):
    response.headers["Cache-Control"] = "no-store"
    return response
