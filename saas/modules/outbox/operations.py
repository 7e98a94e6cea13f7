"""Queueing mail: a transactional outbox. The mail is a row (encrypted) written in the caller's transaction,
so it exists exactly when the decision that caused it does; the relay (`saas.modules.outbox.jobs.relay`)
sends it. Redis holds no mail: after the commit the tenant's relay is only nudged, and `saas cron` runs it
every minute anyway, so a nudge lost to a Redis outage or a dead worker costs a minute, not the mail.
"""
from __future__ import annotations

import logging
import uuid
from collections.abc import Sequence

import sqlalchemy as sa
from flask import current_app
from flask_babel import lazy_gettext as _l
from redis.exceptions import RedisError
from rq.exceptions import DuplicateJobError, NoSuchJobError
from rq.job import Job, JobStatus

from saas import jobs
from saas.core import clock, transaction
from saas.core.errors import DomainError
from saas.core.tenancy import require_tenant_id
from saas.extensions import db
from saas.jobs.queues import redis
from saas.modules.audit import operations as audit
from saas.modules.outbox import queries
from saas.modules.outbox.models import FAILED, QUEUED, SENDING, OutboxMail

RELAY_JOB = "saas.modules.outbox.jobs.relay"
RELAY_RESULT_TTL = 600  # a relay job may run every minute: Redis keeps its result for minutes, not days
_NUDGED = "outbox_nudged_tenants"  # session info: tenants whose relay this transaction will nudge
_DONE = (JobStatus.FINISHED, JobStatus.FAILED, JobStatus.STOPPED, JobStatus.CANCELED)
log = logging.getLogger(__name__)


# Mails that carry a personal secret (a signing link, a one-time code, a consent or objection link): once
# mail really leaves by SMTP, the outbox page does not show their body, so an admin cannot act in the
# recipient's place. In outbox-only mode (demo, no SMTP) the page is the delivery channel and shows them.
SECRET_TEMPLATES = frozenset({
    "agreement_invitation", "agreement_reminder", "agreement_code", "agreement_sub_processor_change",
    "retention.reconsent", "accounts.invitation", "accounts.password_reset",
    # Rights requests: identity codes, download links and their codes, the personal page's link.
    "rights.code", "rights.download_code", "rights.page_link", "rights.access", "rights.portability",
})


class OutboxError(DomainError):
    """A mail that cannot be queued again now."""


def body_hidden(mail: OutboxMail) -> bool:
    return mail.template in SECRET_TEMPLATES and bool(current_app.extensions["saas.settings"].smtp_url)


def queue_mail(recipient: str, subject_line: str, body: str, *, template: str,
               subject_id: uuid.UUID | None = None, attachments: Sequence[tuple[uuid.UUID, str]] = ()) -> OutboxMail:
    """Store a mail in the current tenant's outbox, due at once; the relay sends it after this commits.

    `template` names the kind of mail (for lists and audits; it must not hold personal data);
    `subject_id` is the data subject the mail is about, whose key then protects it;
    `attachments` are (stored file id, file name) pairs, read from encrypted storage when sent."""
    now = clock.now()
    mail = OutboxMail(subject_id=subject_id, template=template, status=QUEUED, attempts=0, queued_at=now,
                      next_attempt_at=now,
                      attachments=[{"file_id": str(file_id), "filename": name} for file_id, name in attachments])
    mail.recipient, mail.subject_line, mail.body = recipient, subject_line, body
    db.session.add(mail)
    db.session.flush()
    audit.record("mail.queue", "outbox_mail", mail.id, detail={"template": template})
    nudge_after_commit(require_tenant_id())
    return mail


def requeue(mail: OutboxMail) -> None:
    """Send a mail now: a failed one (an admin checked it did not arrive) gets a new give-up period; a
    waiting one is made due at once; a claim whose relay died is released. Conditional, like a claim: a
    relay that took the mail meanwhile keeps it."""
    now = clock.now()
    if not queries.can_requeue(mail, now):
        raise OutboxError(_l("This mail is being sent or was sent; it cannot be queued again."))
    values = {"status": QUEUED, "next_attempt_at": now, "lease_until": None}
    if mail.status == FAILED:
        values.update(attempts=0, last_error=None, queued_at=now)
    unchanged = sa.and_(OutboxMail.id == mail.id, OutboxMail.status == mail.status,
                        sa.or_(OutboxMail.status != SENDING, OutboxMail.lease_until <= now))
    updated = db.session.execute(
        sa.update(OutboxMail).where(unchanged).values(**values).execution_options(synchronize_session=False)
    ).rowcount
    if updated != 1:
        raise OutboxError(_l("This mail is being sent or was sent; it cannot be queued again."))
    audit.record("mail.requeue", "outbox_mail", mail.id, detail={"template": mail.template, "was": mail.status})
    db.session.expire(mail)
    nudge_after_commit(mail.tenant_id)


def nudge_after_commit(tenant_id: int) -> None:
    """Once per tenant and transaction, however many mails it queued (2,500 mails: one relay job)."""
    pending = db.session().info.setdefault(_NUDGED, set())
    if tenant_id in pending:
        return
    pending.add(tenant_id)
    transaction.after_commit(_nudge_committed, tenant_id)
    transaction.after_rollback(pending.discard, tenant_id)


def _nudge_committed(tenant_id: int) -> None:
    db.session().info.get(_NUDGED, set()).discard(tenant_id)
    try:
        nudge_relay(tenant_id)
    except RedisError:
        # The mails are committed: the relay that `saas cron` runs every minute sends them.
        log.warning("mail relay of tenant %s not nudged: Redis unavailable; the scheduled relay sends the mail",
                    tenant_id)


def nudge_relay(tenant_id: int) -> None:
    """Ask for a relay run of the tenant now. One job id per tenant and minute: while one waits in the
    queue, more nudges add nothing (it will see their mails); a finished one is replaced; a running one
    reads again until nothing is due, and the next minute's id or cron run covers the rest."""
    job_id = f"mail-nudge-{tenant_id}-{clock.now():%Y%m%d%H%M}"
    for _ in range(2):
        try:
            jobs.enqueue("mail", RELAY_JOB, tenant_id=tenant_id, job_id=job_id, unique=True, description="mail relay",
                         result_ttl=RELAY_RESULT_TTL)
            return
        except DuplicateJobError:
            if not _drop_if_done(job_id):
                return


def _drop_if_done(job_id: str) -> bool:
    """Delete a finished relay job of this id so a new one can take its place; False if it is still to run."""
    try:
        job = Job.fetch(job_id, connection=redis())
    except NoSuchJobError:
        return True  # it expired in between: enqueue again
    if job.get_status(refresh=False) not in _DONE:
        return False
    job.delete()
    return True
