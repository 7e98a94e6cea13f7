"""The mail relay's rules with the settable clock: claims, the lease, back-off, the give-up period."""
from __future__ import annotations

import smtplib
from datetime import datetime, timedelta, timezone

import pytest

from saas.core import clock, tenancy
from saas.extensions import db
from saas.jobs import schedule
from saas.jobs.queues import queue
from saas.jobs.worker import unit_of_work
from saas.modules.outbox import delivery, jobs, operations
from saas.modules.outbox.models import FAILED, QUEUED, SENDING, SENT, OutboxMail
from saas.testing.mail import SmtpSink
from saas.testing.services import free_port

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=timezone.utc)


@pytest.fixture()
def sink():
    server = SmtpSink().start()
    yield server
    server.stop()


@pytest.fixture()
def tenant(make_tenant):
    queue("mail").empty()
    yield make_tenant().id
    queue("mail").empty()


def _queue(tenant_id, recipient="jan@example.nl", at=T0):
    with clock.frozen_at(at):
        db.session.commit()
        tenancy.set_tenant(tenant_id)
        mail_id = operations.queue_mail(recipient, "Onderwerp", "Tekst", template="test").id
        db.session.commit()
        tenancy.set_tenant(None)
    return mail_id


def _relay(tenant_id, at):
    with clock.frozen_at(at):
        db.session.commit()
        with unit_of_work(tenant_id):
            return jobs.relay()


def _mail(tenant_id, mail_id) -> OutboxMail:
    db.session.commit()
    tenancy.set_tenant(tenant_id)
    db.session.expire_all()
    return db.session.get(OutboxMail, mail_id)


def _claim(tenant_id, mail_id, at, lease=timedelta(minutes=2)) -> bool:
    db.session.commit()
    tenancy.set_tenant(tenant_id)
    try:
        return jobs.claim(mail_id, at, lease)
    finally:
        tenancy.set_tenant(None)


@pytest.mark.parametrize(("attempts", "seconds"), [(1, 60), (2, 120), (3, 240), (6, 1920), (7, 3600), (60, 3600)])
def test_back_off_doubles_up_to_its_cap(attempts, seconds):
    assert delivery.retry_delay(attempts, 60, 3600) == timedelta(seconds=seconds)


@pytest.mark.parametrize(("exc", "kind"), [
    (ConnectionRefusedError(), delivery.UNAVAILABLE),
    (TimeoutError(), delivery.UNAVAILABLE),
    (smtplib.SMTPServerDisconnected(), delivery.UNAVAILABLE),
    (smtplib.SMTPResponseException(421, b"closing"), delivery.UNAVAILABLE),
    (smtplib.SMTPAuthenticationError(535, b"bad login"), delivery.UNAVAILABLE),
    (smtplib.SMTPSenderRefused(550, b"not our sender", "noreply@saas.local"), delivery.UNAVAILABLE),
    (smtplib.SMTPRecipientsRefused({"a@b.nl": (450, b"busy")}), delivery.TEMPORARY),
    (smtplib.SMTPRecipientsRefused({"a@b.nl": (550, b"no such user")}), delivery.PERMANENT),
    (smtplib.SMTPDataError(452, b"no room"), delivery.TEMPORARY),
    (smtplib.SMTPDataError(554, b"rejected"), delivery.PERMANENT),
])
def test_failures_are_told_apart(exc, kind):
    assert delivery.classify(exc) == kind


def test_two_relays_never_claim_the_same_mail(ctx, tenant):
    mail_id = _queue(tenant)
    assert _claim(tenant, mail_id, T0) is True
    assert _claim(tenant, mail_id, T0) is False
    assert _claim(tenant, mail_id, T0 + timedelta(seconds=119)) is False
    mail = _mail(tenant, mail_id)
    assert (mail.status, mail.attempts, jobs.as_utc(mail.lease_until)) == (SENDING, 1, T0 + timedelta(minutes=2))


def test_a_mail_is_not_claimed_before_it_is_due(ctx, tenant):
    mail_id = _queue(tenant)
    assert _claim(tenant, mail_id, T0 - timedelta(microseconds=1)) is False
    assert _claim(tenant, mail_id, T0) is True


@pytest.mark.parametrize(("after", "taken_over"), [
    (timedelta(minutes=2) - timedelta(seconds=1), False),  # just before the lease ends
    (timedelta(minutes=2), True),                          # at its end
    (timedelta(minutes=2, seconds=1), True),               # after it
])
def test_a_dead_relays_claim_is_taken_over_when_its_lease_ends(ctx, tenant, sink, use_smtp, after, taken_over):
    use_smtp(sink.url)
    mail_id = _queue(tenant)
    assert _claim(tenant, mail_id, T0)

    outcome = _relay(tenant, T0 + after)

    assert outcome == ({SENT: 1} if taken_over else {})
    assert len(sink.messages) == (1 if taken_over else 0)
    mail = _mail(tenant, mail_id)
    assert mail.status == (SENT if taken_over else SENDING)


def test_server_down_then_up_sends_each_mail_once_after_back_off(ctx, tenant, use_smtp):
    down = SmtpSink()
    use_smtp(down.url)  # nothing listens yet
    first, second = _queue(tenant), _queue(tenant)

    assert _relay(tenant, T0) == {jobs.SERVER_UNAVAILABLE: 1}  # the run stops at the first refused connection
    assert _relay(tenant, T0 + timedelta(seconds=30)) == {jobs.SERVER_UNAVAILABLE: 1}
    assert [_mail(tenant, m).attempts for m in (first, second)] == [1, 1]
    down.start()
    try:
        assert _relay(tenant, T0 + timedelta(seconds=59)) == {}  # both wait for their back-off
        assert _relay(tenant, T0 + timedelta(seconds=90)) == {SENT: 2}
        assert _relay(tenant, T0 + timedelta(hours=1)) == {}
    finally:
        down.stop()
    assert sorted(down.message_ids().values()) == [1, 1]
    assert {_mail(tenant, m).status for m in (first, second)} == {SENT}


def test_a_busy_mailbox_is_retried_while_other_mail_goes_out(ctx, tenant, sink, use_smtp):
    use_smtp(sink.url)
    busy, fine = _queue(tenant, "iemand@busy.test"), _queue(tenant, "ander@example.nl")

    assert _relay(tenant, T0) == {jobs.RETRYING: 1, SENT: 1}

    mail = _mail(tenant, busy)
    assert (mail.status, mail.last_error, jobs.as_utc(mail.next_attempt_at)) == (
        QUEUED, "SMTPRecipientsRefused", T0 + timedelta(minutes=1))
    assert _mail(tenant, fine).status == SENT


def _fail_until(tenant, mail_id, moment):
    """Let the relay try (and fail) at every attempt due before `moment`; returns the attempts made."""
    attempts = 0
    while True:
        due = jobs.as_utc(_mail(tenant, mail_id).next_attempt_at)
        if due >= moment or _mail(tenant, mail_id).status != QUEUED:
            return attempts, due
        _relay(tenant, due)
        attempts += 1


@pytest.mark.parametrize(("at", "final"), [
    (timedelta(hours=48) - timedelta(seconds=1), False),  # just before the give-up moment: tried again at it
    (timedelta(hours=48), True),                          # a failure at it is the last one
    (timedelta(hours=48, seconds=1), True),
])
def test_temporary_failures_give_up_after_the_configured_period(ctx, tenant, use_smtp, at, final):
    use_smtp(f"smtp://127.0.0.1:{free_port()}")
    mail_id = _queue(tenant)
    _mail(tenant, mail_id).next_attempt_at = T0 + at  # as if the back-off led exactly there
    db.session.commit()

    assert _relay(tenant, T0 + at) == ({FAILED: 1} if final else {jobs.SERVER_UNAVAILABLE: 1})

    mail = _mail(tenant, mail_id)
    assert mail.status == (FAILED if final else QUEUED)
    if not final:
        assert jobs.as_utc(mail.next_attempt_at) == T0 + timedelta(hours=48)


def test_back_off_over_two_days_ends_in_one_final_failure(ctx, tenant, use_smtp, app):
    use_smtp(f"smtp://127.0.0.1:{free_port()}")
    mail_id = _queue(tenant)
    attempts, _ = _fail_until(tenant, mail_id, T0 + timedelta(days=3))
    mail = _mail(tenant, mail_id)
    # 1+2+4+...+32 minutes, then hourly, and the last try at exactly 48 hours.
    assert (mail.status, mail.last_error) == (FAILED, "ConnectionRefusedError")
    assert mail.attempts == attempts and 50 <= attempts <= 56
    assert jobs.as_utc(mail.updated_at) == T0 + timedelta(hours=48)


def test_the_give_up_period_is_a_setting(ctx, tenant, use_smtp, app):
    use_smtp(f"smtp://127.0.0.1:{free_port()}")
    settings = app.extensions["saas.settings"]
    original, settings.mail_give_up_hours = settings.mail_give_up_hours, 0.5
    try:
        mail_id = _queue(tenant)
        _fail_until(tenant, mail_id, T0 + timedelta(hours=2))
    finally:
        settings.mail_give_up_hours = original
    mail = _mail(tenant, mail_id)
    assert (mail.status, jobs.as_utc(mail.updated_at)) == (FAILED, T0 + timedelta(minutes=30))


def test_a_requeued_failed_mail_gets_a_new_period(ctx, tenant, sink, use_smtp):
    use_smtp(sink.url)
    mail_id = _queue(tenant)
    mail = _mail(tenant, mail_id)
    mail.status, mail.attempts, mail.last_error = FAILED, 9, "SMTPDataError"
    db.session.commit()
    later = T0 + timedelta(days=5)
    with clock.frozen_at(later):
        operations.requeue(_mail(tenant, mail_id))
        db.session.commit()
    mail = _mail(tenant, mail_id)
    assert (mail.status, mail.attempts, jobs.as_utc(mail.queued_at)) == (QUEUED, 0, later)
    assert _relay(tenant, later) == {SENT: 1}


def test_a_finished_nudge_is_replaced_so_a_later_mail_goes_at_once(ctx, tenant, sink, use_smtp):
    use_smtp(sink.url)
    _queue(tenant, at=T0)
    [job] = queue("mail").get_jobs()
    _relay(tenant, T0)
    job.set_status("finished")
    _queue(tenant, at=T0 + timedelta(seconds=5))  # same minute: the same job id
    [again] = queue("mail").get_jobs()
    assert again.id == job.id and again.get_status() == "queued"


def test_the_relay_runs_every_minute_for_every_tenant():
    relay = schedule.entry("mail-relay")
    assert (relay.queue, relay.func, relay.cron, relay.per_tenant) == (
        "mail", "saas.modules.outbox.jobs.relay", "* * * * *", True)
