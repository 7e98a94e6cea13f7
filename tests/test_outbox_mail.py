"""The mail outbox: encrypted at rest, ids-only jobs, sent over real SMTP at most once."""
from __future__ import annotations

import smtplib
from datetime import timedelta

import pytest
import sqlalchemy as sa

from saas.core import clock, tenancy
from saas.core.crypto.keyring import keyring
from saas.extensions import db
from saas.jobs.queues import queue
from saas.jobs.worker import unit_of_work
from saas.modules.audit.models import AuditEntry
from saas.modules.outbox import jobs, operations
from saas.modules.outbox.models import FAILED, OUTBOX, QUEUED, SENDING, SENT, OutboxMail
from saas.testing.services import free_port

RECIPIENT = "marieke.de.vries@example.nl"


def _queue(tenant_id, subject_id=None, recipient=RECIPIENT):
    db.session.commit()
    tenancy.set_tenant(tenant_id)
    mail = operations.queue_mail(recipient, "Uw verzoek is ontvangen", "Beste Marieke,\n\nWij hebben uw verzoek ontvangen.",
                                 template="rights_request_received", subject_id=subject_id)
    mail_id = mail.id
    db.session.commit()
    tenancy.set_tenant(None)
    return mail_id


def _run_job(tenant_id, mail_id):
    """What the worker does: the job function inside one unit of work of the job's tenant."""
    db.session.commit()
    with unit_of_work(tenant_id):
        return jobs.send_mail(mail_id=str(mail_id))


def _mail(tenant_id, mail_id) -> OutboxMail:
    db.session.commit()
    tenancy.set_tenant(tenant_id)
    db.session.expire_all()
    return db.session.get(OutboxMail, mail_id)


def _actions(tenant_id, object_id):
    db.session.commit()
    tenancy.set_tenant(tenant_id)
    return [(e.action, e.outcome) for e in db.session.scalars(
        sa.select(AuditEntry).where(AuditEntry.object_id == str(object_id)).order_by(AuditEntry.seq))]


def _jobs_for(mail_id):
    mail_queue = queue("mail")
    return [job for job in mail_queue.get_jobs() if job.kwargs.get("mail_id") == str(mail_id)]


def test_queued_mail_is_encrypted_and_its_job_carries_ids_only(ctx, make_tenant):
    tenant = make_tenant().id
    mail_id = _queue(tenant)

    mail = _mail(tenant, mail_id)
    assert (mail.status, mail.recipient, mail.template) == (QUEUED, RECIPIENT, "rights_request_received")
    raw = db.session.execute(sa.text("SELECT ciphertext FROM outbox_mail WHERE id = :id"),
                             {"id": mail_id if db.engine.dialect.name == "postgresql" else mail_id.hex}).one()
    assert all(b"Marieke" not in bytes(v) and b"marieke" not in bytes(v) for v in raw)
    [job] = _jobs_for(mail_id)
    assert job.kwargs == {"mail_id": str(mail_id)} and job.meta["tenant_id"] == tenant
    assert job.origin == "mail"
    job.delete()


def test_a_rolled_back_mail_is_never_enqueued(ctx, make_tenant):
    tenant = make_tenant().id
    db.session.commit()
    tenancy.set_tenant(tenant)
    mail = operations.queue_mail(RECIPIENT, "Onderwerp", "Tekst", template="test")
    mail_id = mail.id
    db.session.rollback()
    db.session.commit()
    assert _jobs_for(mail_id) == []
    assert db.session.get(OutboxMail, mail_id) is None


def test_mail_is_sent_over_smtp_once(ctx, make_tenant, smtp_server, use_smtp):
    use_smtp(smtp_server.url)
    tenant = make_tenant().id
    mail_id = _queue(tenant)

    assert _run_job(tenant, mail_id) == SENT
    assert _run_job(tenant, mail_id) == SENT  # a second run (retry, duplicate job) sends nothing

    [message] = smtp_server.messages
    assert message["To"] == RECIPIENT
    assert message["Subject"] == "Uw verzoek is ontvangen"
    assert message["Message-ID"] == f"<{mail_id}@saas.local>"
    assert "Wij hebben uw verzoek ontvangen." in message.get_content()
    mail = _mail(tenant, mail_id)
    assert (mail.status, mail.attempts) == (SENT, 1)
    assert mail.sent_at is not None
    assert _actions(tenant, mail_id) == [("mail.queue", "ok"), ("mail.send", "ok")]
    for job in _jobs_for(mail_id):
        job.delete()


def test_a_send_interrupted_midway_is_not_sent_again(ctx, make_tenant, smtp_server, use_smtp):
    use_smtp(smtp_server.url)
    tenant = make_tenant().id
    mail_id = _queue(tenant)
    mail = _mail(tenant, mail_id)
    mail.status = SENDING  # a worker claimed it and died during the SMTP conversation
    db.session.commit()

    assert _run_job(tenant, mail_id) == "in-progress"  # too recent: that worker may still be sending
    assert _mail(tenant, mail_id).status == SENDING
    with clock.frozen_at(clock.now() + jobs.CLAIM_STALE_AFTER + timedelta(seconds=1)):
        assert _run_job(tenant, mail_id) == "interrupted"

    assert smtp_server.messages == []
    mail = _mail(tenant, mail_id)
    assert (mail.status, mail.last_error) == (FAILED, "Interrupted")


def test_unreachable_smtp_is_retried_then_fails(ctx, make_tenant, use_smtp):
    use_smtp(f"smtp://127.0.0.1:{free_port()}")  # nothing listens there
    tenant = make_tenant().id
    mail_id = _queue(tenant)

    for attempt in range(1, operations.MAX_ATTEMPTS + 1):
        with pytest.raises(OSError):
            _run_job(tenant, mail_id)
        mail = _mail(tenant, mail_id)
        assert mail.attempts == attempt
        assert mail.status == (FAILED if attempt == operations.MAX_ATTEMPTS else QUEUED)
        assert mail.last_error == "ConnectionRefusedError"
    assert _run_job(tenant, mail_id) == FAILED  # a failed mail waits for an admin


def test_refused_recipient_is_recorded_as_smtp_error(ctx, make_tenant, smtp_server, use_smtp):
    use_smtp(smtp_server.url)
    tenant = make_tenant().id
    mail_id = _queue(tenant, recipient="nobody@refused.test")
    with pytest.raises(smtplib.SMTPException):
        _run_job(tenant, mail_id)
    assert _mail(tenant, mail_id).status == QUEUED
    assert smtp_server.messages == []


def test_without_smtp_mail_is_delivered_to_the_outbox(ctx, make_tenant, use_smtp):
    use_smtp("")
    tenant = make_tenant().id
    mail_id = _queue(tenant)

    assert _run_job(tenant, mail_id) == OUTBOX
    assert _run_job(tenant, mail_id) == OUTBOX

    mail = _mail(tenant, mail_id)
    assert (mail.status, mail.attempts) == (OUTBOX, 1)
    assert mail.sent_at is not None
    assert _actions(tenant, mail_id) == [("mail.queue", "ok"), ("mail.outbox", "ok")]


def test_mail_about_an_erased_subject_is_never_sent(ctx, make_tenant, make_subject, smtp_server, use_smtp):
    use_smtp(smtp_server.url)
    tenant = make_tenant()
    subject_id = make_subject(tenant, email=RECIPIENT).id
    tenant = tenant.id
    mail_id = _queue(tenant, subject_id=subject_id)
    db.session.commit()
    tenancy.set_tenant(tenant)
    keyring().destroy_subject_key(tenant, subject_id, reason="erasure")
    db.session.commit()

    assert _run_job(tenant, mail_id) == FAILED

    assert smtp_server.messages == []
    assert _mail(tenant, mail_id).last_error == "KeyDestroyed"


def test_mail_of_another_tenant_is_not_found_by_the_job(ctx, make_tenant, smtp_server, use_smtp):
    use_smtp(smtp_server.url)
    owner, other = make_tenant().id, make_tenant().id
    mail_id = _queue(owner)
    assert _run_job(other, mail_id) == "missing"
    assert smtp_server.messages == []
    assert _mail(owner, mail_id).status == QUEUED
