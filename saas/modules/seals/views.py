"""Public pages, no login: upload a sealed PDF to check it, and download the platform root CA.

The upload is read in memory (werkzeug spills a large one to an anonymous temporary file that is gone
when the request ends), checked, and forgotten: nothing is stored, logged or audited. POSTs are
rate-limited per IP address like the login form. The check runs in a separate, limited process
(`isolation.verify_untrusted`): a file beyond the limits of size, objects, signature fields, time or
memory is refused with a message saying which, and when every checking slot is taken the answer is
503 "busy, try again" at once instead of a worker waiting in line.
"""
from __future__ import annotations

from cryptography.hazmat.primitives import hashes
from flask import Blueprint, current_app, render_template, request
from flask_babel import format_datetime
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from werkzeug.exceptions import RequestEntityTooLarge

from saas.core import clock
from saas.extensions import limiter
from saas.modules.seals import pki
from saas.modules.seals.forms import VerifyForm
from saas.modules.seals.isolation import limits_from_app, verify_untrusted
from saas.modules.seals.verify import Refused

bp = Blueprint("seals", __name__, template_folder="templates")

DEFAULT_VERIFY_RATE_LIMIT = "10 per minute"

REASON_TEXTS = {
    "valid": _l("The seal is valid and covers the whole document: it has not changed since it was sealed."),
    "not_pdf": _l("This is not a PDF file."),
    "unreadable": _l("The PDF cannot be read."),
    "no_signature": _l("This PDF carries no seal."),
    "tampered": _l("The document was changed after it was sealed."),
    "untrusted": _l("The seal was not made with a certificate of this platform valid at the signing time."),
    "appended": _l("Content was added after sealing: the seal does not cover the whole document."),
    "future": _l("The seal states a signing time in the future."),
}


BUSY_RETRY_SECONDS = 30


def refusal_text(refused: Refused) -> str:
    """Why a file was not checked, in the visitor's language."""
    limit = refused.limit
    if refused.code == "too_large":
        return _("The file is too large: at most %(mb)d MB can be checked.", mb=max(1, limit // (1024 * 1024)))
    if refused.code == "too_many_objects":
        return _("This PDF is too complex to check: it has more than %(limit)d objects.", limit=limit)
    if refused.code == "too_many_signature_fields":
        return _("This PDF has more than %(limit)d signature fields; a sealed document has one or a few. "
                 "It was not checked.", limit=limit)
    if refused.code == "busy":
        return _("Many documents are being checked right now. Try again in a minute.")
    return _("Checking this PDF took longer than %(seconds)d seconds or more memory than allowed, so it was "
             "stopped. It was not checked.", seconds=limit)


def verify_rate_limit() -> str:
    return current_app.config.get("SAAS_VERIFY_RATE_LIMIT", DEFAULT_VERIFY_RATE_LIMIT)


def _max_megabytes() -> int:
    upload_limit = current_app.config.get("MAX_CONTENT_LENGTH") or limits_from_app().max_bytes
    return min(upload_limit, limits_from_app().max_bytes) // (1024 * 1024)


def _times(result) -> dict:
    if result is None or result.signed_at is None:
        return {}
    return {"utc": result.signed_at.strftime("%Y-%m-%d %H:%M:%S UTC"),
            "local": format_datetime(clock.local(result.signed_at), "yyyy-MM-dd HH:mm:ss zzz (VV)")}


def _page(form, result=None, error=None, status=200):
    ca = pki.platform_ca_certificate()
    return render_template(
        "seals/verify.html", form=form, result=result, error=error, times=_times(result),
        reason_text=REASON_TEXTS.get(result.code, result.reason) if result else None,
        max_mb=_max_megabytes(), ca_fingerprint=ca.fingerprint(hashes.SHA256()).hex(":").upper(),
    ), status


@bp.route("/verify", methods=["GET", "POST"])
@limiter.limit(verify_rate_limit, methods=["POST"])
def verify():
    form = VerifyForm()
    if request.method == "GET":
        return _page(form)
    if not form.validate_on_submit():
        return _page(form, status=400)
    data = form.document.data.read()
    if not data.startswith(b"%PDF-"):
        return _page(form, error=_("Only PDF files can be checked. This file is not a PDF."), status=400)
    try:
        return _page(form, result=verify_untrusted(data))
    except Refused as refused:
        return _refused(form, refused)


def _refused(form, refused: Refused):
    if refused.code == "busy":
        body, status = _page(form, error=refusal_text(refused), status=503)
        return body, status, {"Retry-After": str(BUSY_RETRY_SECONDS)}
    return _page(form, error=refusal_text(refused), status=413 if refused.code == "too_large" else 422)


@bp.errorhandler(RequestEntityTooLarge)
def _too_large(_error):
    message = _("The file is too large: at most %(mb)d MB can be checked.", mb=_max_megabytes())
    return _page(VerifyForm(formdata=None), error=message, status=413)


@bp.route("/verify/ca.pem")
def ca_certificate():
    response = current_app.response_class(pki.platform_ca_pem(), mimetype="application/x-pem-file")
    response.headers["Content-Disposition"] = 'attachment; filename="platform-root-ca.pem"'
    return response
