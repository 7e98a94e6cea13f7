"""The outbox of a tenant, for admins: on a laptop without SMTP this is where mail is "delivered".

The list shows template, status and times only, by tab (waiting, failing and retried, sent, failed), with the
next attempt and the class of the last error; opening a mail decrypts it and is audited.
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
from saas.modules.outbox.models import OutboxMail

bp = tenant_blueprint("outbox", __name__, template_folder="templates")
PER_PAGE = 50


@bp.get("/outbox")
@access.requires("manage", "outbox")
def index():
    page, tab = request.args.get("page", "1"), request.args.get("tab", "all")
    if not page.isdigit() or int(page) < 1 or tab not in queries.TABS:
        abort(404)
    mails, total = queries.page_of_mails(int(page), PER_PAGE, tab)
    pages = max(1, -(-total // PER_PAGE))
    return render_template("outbox/index.html", mails=mails, total=total, page=int(page), pages=pages, tab=tab,
                           counts=queries.tab_counts(), stuck={m.id for m in mails if queries.is_stuck(m)})


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
                           body_hidden=operations.body_hidden(mail), stuck=queries.is_stuck(mail),
                           can_requeue=queries.can_requeue(mail) and content is not None)


@bp.post("/outbox/<mail_id>/requeue")
@access.requires("manage", "outbox")
def requeue(mail_id):
    mail = get_or_404(OutboxMail, mail_id)
    if not EmptyForm().validate():
        abort(400)
    operations.requeue(mail)  # refused (being sent, or sent): a DomainError, answered 400
    flash(_("The mail was queued again."), "success")
    return redirect(url_for(".show", mail_id=mail.id))
