"""Queueing mail: the mail is stored encrypted, and only its id goes to the "mail" queue.

The job is enqueued after the transaction commits, so a worker never looks for a mail that is not
there yet, and a rolled-back mail is never sent.
"""
from __future__ import annotations

import logging
import uuid
from collections.abc import Sequence

from flask import current_app
from redis.exceptions import RedisError

from saas import jobs
from saas.core import transaction
from saas.core.tenancy import require_tenant_id
from saas.extensions import db
from saas.modules.audit import operations as audit
from saas.modules.outbox.models import FAILED, QUEUED, OutboxMail

SEND_JOB = "saas.modules.outbox.jobs.send_mail"
MAX_ATTEMPTS = 3
log = logging.getLogger(__name__)


# Mails that carry a personal secret (a signing link, a one-time code, a consent or objection link): once
# mail really leaves by SMTP, the outbox page does not show their body, so an admin cannot act in the
# recipient's place. In outbox-only mode (demo, no SMTP) the page is the delivery channel and shows them.
SECRET_TEMPLATES = frozenset({
    "agreement_invitation", "agreement_reminder", "agreement_code", "agreement_sub_processor_change",
    "retention.reconsent", "accounts.invitation", "accounts.password_reset",
})


def body_hidden(mail: OutboxMail) -> bool:
    return mail.template in SECRET_TEMPLATES and bool(current_app.extensions["saas.settings"].smtp_url)


def queue_mail(recipient: str, subject_line: str, body: str, *, template: str,
               subject_id: uuid.UUID | None = None, attachments: Sequence[tuple[uuid.UUID, str]] = ()) -> OutboxMail:
    """Store a mail in the current tenant's outbox and send it once this transaction commits.

    `template` names the kind of mail (for lists and audits; it must not hold personal data);
    `subject_id` is the data subject the mail is about, whose key then protects it;
    `attachments` are (stored file id, file name) pairs, read from encrypted storage when sent."""
    mail = OutboxMail(subject_id=subject_id, template=template, status=QUEUED, attempts=0,
                      attachments=[{"file_id": str(file_id), "filename": name} for file_id, name in attachments])
    mail.recipient, mail.subject_line, mail.body = recipient, subject_line, body
    db.session.add(mail)
    db.session.flush()
    audit.record("mail.queue", "outbox_mail", mail.id, detail={"template": template})
    _enqueue_after_commit(require_tenant_id(), mail.id)
    return mail


def requeue(mail: OutboxMail) -> None:
    """An admin decided a failed mail may go out again (after checking it was not delivered)."""
    if mail.status != FAILED:
        raise ValueError("only failed mails can be queued again")
    mail.status, mail.attempts, mail.last_error = QUEUED, 0, None
    audit.record("mail.requeue", "outbox_mail", mail.id)
    _enqueue_after_commit(mail.tenant_id, mail.id)


def enqueue_send(tenant_id: int, mail_id) -> None:
    jobs.enqueue("mail", SEND_JOB, tenant_id=tenant_id, mail_id=str(mail_id), retry=MAX_ATTEMPTS - 1,
                 description="send mail")


def _enqueue_after_commit(tenant_id: int, mail_id) -> None:
    transaction.after_commit(_enqueue_committed, tenant_id, str(mail_id))


def _enqueue_committed(tenant_id: int, mail_id: str) -> None:
    try:
        enqueue_send(tenant_id, mail_id)
    except RedisError:
        # The mail is committed and stays "queued": an admin sees it in the outbox.
        log.warning("mail %s stored but not enqueued: Redis unavailable", mail_id)
