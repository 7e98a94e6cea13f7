"""The mail outbox: encrypted at rest, one ids-only relay job per tenant, sent over real SMTP once."""
from __future__ import annotations

from datetime import timedelta

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


def _relay(tenant_id):
    db.session.commit()
    with unit_of_work(tenant_id):
        return jobs.relay()


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


def _relay_jobs(tenant_id):
    return [job for job in queue("mail").get_jobs() if job.meta.get("tenant_id") == tenant_id]


def _drop_relay_jobs(tenant_id):
    for job in _relay_jobs(tenant_id):
        job.delete()


def test_queued_mail_is_encrypted_and_its_relay_job_carries_no_arguments(ctx, make_tenant):
    tenant = make_tenant().id
    mail_id = _queue(tenant)

    mail = _mail(tenant, mail_id)
    assert (mail.status, mail.recipient, mail.template) == (QUEUED, RECIPIENT, "rights_request_received")
    raw = db.session.execute(sa.text("SELECT ciphertext FROM outbox_mail WHERE id = :id"),
                             {"id": mail_id if db.engine.dialect.name == "postgresql" else mail_id.hex}).one()
    assert all(b"Marieke" not in bytes(v) and b"marieke" not in bytes(v) for v in raw)
    [job] = _relay_jobs(tenant)
    assert job.kwargs == {} and job.meta["tenant_id"] == tenant and job.func_name == operations.RELAY_JOB
    assert job.origin == "mail" and job.id.startswith(f"mail-nudge-{tenant}-")
    job.delete()


def test_a_burst_of_mails_gives_one_relay_job(ctx, make_tenant):
    tenant = make_tenant().id
    db.session.commit()
    tenancy.set_tenant(tenant)
    for number in range(300):
        operations.queue_mail(f"persoon{number}@example.nl", "Onderwerp", "Tekst", template="test")
    db.session.commit()
    for number in range(3):  # later commits in the same minute: the waiting job will see their mails
        operations.queue_mail(f"later{number}@example.nl", "Onderwerp", "Tekst", template="test")
        db.session.commit()
    tenancy.set_tenant(None)
    assert len(_relay_jobs(tenant)) == 1
    _drop_relay_jobs(tenant)


def test_a_rolled_back_mail_is_never_enqueued(ctx, make_tenant):
    tenant = make_tenant().id
    db.session.commit()
    tenancy.set_tenant(tenant)
    mail = operations.queue_mail(RECIPIENT, "Onderwerp", "Tekst", template="test")
    mail_id = mail.id
    db.session.rollback()
    db.session.commit()
    assert _relay_jobs(tenant) == []
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
    _drop_relay_jobs(tenant)


def test_a_send_interrupted_midway_is_sent_again_after_the_lease(ctx, make_tenant, smtp_server, use_smtp, app):
    use_smtp(smtp_server.url)
    lease = timedelta(seconds=app.extensions["saas.settings"].mail_lease_seconds)
    tenant = make_tenant().id
    mail_id = _queue(tenant)
    claimed_at = clock.now()
    with clock.frozen_at(claimed_at):
        db.session.commit()
        tenancy.set_tenant(tenant)
        assert jobs.claim(mail_id, claimed_at, lease)  # a relay claimed it and died during the SMTP conversation
        tenancy.set_tenant(None)

    with clock.frozen_at(claimed_at + lease - timedelta(seconds=1)):
        assert _relay(tenant) == {}  # that relay may still be sending
    assert _mail(tenant, mail_id).status == SENDING
    with clock.frozen_at(claimed_at + lease):
        assert _relay(tenant) == {SENT: 1}

    [message] = smtp_server.messages
    assert message["Message-ID"] == f"<{mail_id}@saas.local>"  # the same id a first delivery would carry
    mail = _mail(tenant, mail_id)
    assert (mail.status, mail.attempts, mail.last_error) == (SENT, 2, "Interrupted")
    _drop_relay_jobs(tenant)


def test_unreachable_smtp_is_tried_again_with_back_off(ctx, make_tenant, use_smtp):
    use_smtp(f"smtp://127.0.0.1:{free_port()}")  # nothing listens there
    tenant = make_tenant().id
    mail_id = _queue(tenant)
    start = clock.now()

    expected = start
    for attempt, wait in enumerate((1, 2, 4, 8), start=1):
        with clock.frozen_at(expected):
            assert _run_job(tenant, mail_id) == jobs.SERVER_UNAVAILABLE
        mail = _mail(tenant, mail_id)
        assert (mail.attempts, mail.status, mail.last_error) == (attempt, QUEUED, "ConnectionRefusedError")
        expected += timedelta(minutes=wait)
        assert jobs.as_utc(mail.next_attempt_at) == expected
    assert _actions(tenant, mail_id)[-1] == ("mail.send", "failed")
    _drop_relay_jobs(tenant)


def test_refused_recipient_fails_at_once(ctx, make_tenant, smtp_server, use_smtp):
    use_smtp(smtp_server.url)
    tenant = make_tenant().id
    mail_id = _queue(tenant, recipient="nobody@refused.test")
    assert _run_job(tenant, mail_id) == FAILED
    mail = _mail(tenant, mail_id)
    assert (mail.status, mail.attempts, mail.last_error) == (FAILED, 1, "SMTPRecipientsRefused")
    assert smtp_server.messages == []
    _drop_relay_jobs(tenant)


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

    assert _relay(tenant) == {FAILED: 1}

    assert smtp_server.messages == []
    assert _mail(tenant, mail_id).last_error == "KeyDestroyed"
    _drop_relay_jobs(tenant)


def test_mail_of_another_tenant_is_not_found_by_the_job(ctx, make_tenant, smtp_server, use_smtp):
    use_smtp(smtp_server.url)
    owner, other = make_tenant().id, make_tenant().id
    mail_id = _queue(owner)
    assert _run_job(other, mail_id) == "missing"
    assert _relay(other) == {}
    assert smtp_server.messages == []
    assert _mail(owner, mail_id).status == QUEUED
    _drop_relay_jobs(owner)
