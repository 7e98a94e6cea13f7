"""The outbox of a tenant, for admins: on a laptop without SMTP this is where mail is "delivered".

The list shows template, status and times only; opening a mail decrypts it and is audited.
"""
from __future__ import annotations

from flask import abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _

from saas.core.crypto.aead import DecryptionError
from saas.core.web import get_or_404, tenant_blueprint
from saas.core.forms import EmptyForm
from saas import access
from saas.modules.audit import operations as audit
from saas.modules.outbox import operations, queries
from saas.modules.outbox.models import FAILED, OutboxMail

bp = tenant_blueprint("outbox", __name__, template_folder="templates")
PER_PAGE = 50


@bp.get("/outbox")
@access.requires("manage", "outbox")
def index():
    page = request.args.get("page", "1")
    if not page.isdigit() or int(page) < 1:
        abort(404)
    mails, total = queries.page_of_mails(int(page), PER_PAGE)
    pages = max(1, -(-total // PER_PAGE))
    return render_template("outbox/index.html", mails=mails, total=total, page=int(page), pages=pages)


@bp.get("/outbox/<mail_id>")
@access.requires("manage", "outbox")
def show(mail_id):
    mail = get_or_404(OutboxMail, mail_id)
    try:
        content = {"recipient": mail.recipient, "subject_line": mail.subject_line, "body": mail.body}
    except DecryptionError:
        content = None  # the subject it was about has been erased
    audit.record("mail.view", "outbox_mail", mail.id, outcome="ok" if content else "failed")
    return render_template("outbox/show.html", mail=mail, content=content, requeue_form=EmptyForm(),
                           body_hidden=operations.body_hidden(mail),
                           can_requeue=mail.status == FAILED and content is not None)


@bp.post("/outbox/<mail_id>/requeue")
@access.requires("manage", "outbox")
def requeue(mail_id):
    mail = get_or_404(OutboxMail, mail_id)
    if not EmptyForm().validate() or mail.status != FAILED:
        abort(400)
    operations.requeue(mail)
    flash(_("The mail was queued again."), "success")
    return redirect(url_for(".show", mail_id=mail.id))
