"""The mail relay (queue "mail", run as the job's tenant, no arguments): it sends every mail that is due.

A mail is a row written in the transaction that decided to send it (`operations.queue_mail`); nothing
about it lives only in Redis. The relay runs every minute from `saas cron` ("mail-relay", one job per
tenant) and at once after a commit that queued mail (a nudge, `operations.nudge_relay`), so a lost
nudge, an empty Redis or a dead worker delays mail by a minute at most, and never loses it.

Due: queued with `next_attempt_at` reached, or "sending" whose lease ran out (its relay died mid-send).
Each mail is claimed by one conditional UPDATE, committed before the SMTP conversation: two relays never
send the same mail at the same time. The claim is a lease (`mail_lease_seconds`, 2 minutes): a relay killed
between the server's "250 accepted" and our commit of "sent" leaves a claim that another relay takes over
after the lease and sends again, with the same Message-ID. So delivery to the SMTP server is at least
once, and more than once only after a crash in that window, as a recognisable duplicate; the alternative
(never resend an interrupted mail) loses mail that never reached the server, which is what the relay is for.

Failures: the server unavailable (refused, timed out, 421, our login or sender refused) or a 4xx about the
mail is tried again after 1, 2, 4 ... minutes (at most `mail_retry_max_seconds` apart) until
`mail_give_up_hours` after it was queued; a 5xx about the recipient or the message fails at once; a mail
about an erased person (its key destroyed) fails and is never sent. When the server is unavailable the
run stops: the other mails are not worth a connection attempt each until the next run.
"""
from __future__ import annotations

import time
import uuid
from datetime import datetime, timedelta, timezone

import sqlalchemy as sa
from flask import current_app

from saas.core import clock
from saas.core.crypto.aead import DecryptionError
from saas.extensions import db
from saas.modules.audit import operations as audit
from saas.modules.outbox import delivery, queries
from saas.modules.outbox.delivery import build_message
from saas.modules.outbox.models import FAILED, OUTBOX, QUEUED, SENDING, SENT, OutboxMail

BATCH = 200
RUN_SECONDS = 600  # a longer backlog is left to the next run: one job never holds a worker for long
RETRYING, SERVER_UNAVAILABLE, CLAIMED_ELSEWHERE = "retrying", "server-unavailable", "claimed-elsewhere"


def relay() -> dict[str, int]:
    """Send every due mail of the job's tenant; returns how many ended how (no personal data)."""
    started, seen, outcomes = time.monotonic(), set(), {}
    smtp_url = current_app.extensions["saas.settings"].smtp_url
    with delivery.Courier(smtp_url) as courier:
        while time.monotonic() - started < RUN_SECONDS:
            batch = [row for row in queries.due_mails(clock.now(), BATCH) if row[0] not in seen]
            db.session.commit()  # end the read (and the last mail's outcome): each claim is a transaction
            if not batch:
                break
            for mail_id, status in batch:
                seen.add(mail_id)
                outcome = send_due(mail_id, courier, interrupted=status == SENDING)
                outcomes[outcome] = outcomes.get(outcome, 0) + 1
                if outcome == SERVER_UNAVAILABLE:
                    db.session.commit()
                    return outcomes
    db.session.commit()
    return outcomes


def send_mail(mail_id: str) -> str:
    """One mail, if it is due (a job of the former per-mail kind, or a test); returns what happened."""
    mail = db.session.get(OutboxMail, uuid.UUID(mail_id))
    if mail is None:
        return "missing"
    if mail.status in (SENT, OUTBOX, FAILED):
        return mail.status
    interrupted = mail.status == SENDING
    db.session.commit()
    with delivery.Courier(current_app.extensions["saas.settings"].smtp_url) as courier:
        outcome = send_due(mail.id, courier, interrupted=interrupted)
    db.session.commit()
    return outcome


def send_due(mail_id: uuid.UUID, courier: delivery.Courier, *, interrupted: bool) -> str:
    """Claim one mail and send it (or deliver it to the outbox without SMTP); records the outcome.

    The claim is committed before the SMTP conversation; the outcome is committed by the caller, with the
    next mail's claim (one commit per mail). A crash before that commit leaves a claim whose lease runs out."""
    settings = current_app.extensions["saas.settings"]
    now = clock.now()
    if not claim(mail_id, now, timedelta(seconds=settings.mail_lease_seconds)):
        return CLAIMED_ELSEWHERE
    mail = db.session.get(OutboxMail, mail_id)
    if interrupted:
        # Taken over from a relay that died mid-send: it may have reached the server, so this is a resend.
        mail.last_error = "Interrupted"
        if delivery.next_attempt(mail.attempts, as_utc(mail.queued_at), now, settings) is None:
            return _finish(mail, FAILED, "mail.send", error="Interrupted")
    if not settings.smtp_url:
        mail.sent_at = now
        return _finish(mail, OUTBOX, "mail.outbox")
    try:
        message = build_message(mail)
    except DecryptionError:
        # The subject was erased (key destroyed) after the mail was queued: nothing may go out.
        return _finish(mail, FAILED, "mail.send", error="KeyDestroyed")
    try:
        courier.send(message)
    except Exception as exc:  # noqa: BLE001  every failure is recorded; a crash would only wait for the lease
        return _failed(mail, exc, settings)
    mail.sent_at = clock.now()
    return _finish(mail, SENT, "mail.send")


def claim(mail_id: uuid.UUID, now: datetime, lease: timedelta) -> bool:
    """due -> "sending" until now + lease, in one conditional UPDATE, committed (with whatever the session
    holds: the previous mail's outcome): one relay wins."""
    won = db.session.execute(
        sa.update(OutboxMail).where(OutboxMail.id == mail_id, queries.is_due(now))
        .values(status=SENDING, lease_until=now + lease, attempts=OutboxMail.attempts + 1)
        .execution_options(synchronize_session=False)
    ).rowcount == 1
    db.session.commit()
    db.session.expire_all()
    return won


def _failed(mail: OutboxMail, exc: Exception, settings) -> str:
    error, kind = type(exc).__name__, delivery.classify(exc)
    now = clock.now()
    retry_at = None if kind == delivery.PERMANENT else delivery.next_attempt(
        mail.attempts, as_utc(mail.queued_at), now, settings)
    if retry_at is None:
        _finish(mail, FAILED, "mail.send", error=error)
        return FAILED
    mail.next_attempt_at = retry_at
    _finish(mail, QUEUED, "mail.send", error=error)
    return SERVER_UNAVAILABLE if kind == delivery.UNAVAILABLE else RETRYING


def _finish(mail: OutboxMail, status: str, action: str, *, error: str | None = None) -> str:
    mail.status, mail.lease_until = status, None
    mail.last_error = error if error else (mail.last_error if status in (SENT, OUTBOX) else None)
    detail = {"template": mail.template, "attempts": mail.attempts}
    if error:
        detail.update(error=error, final=status == FAILED)
    elif mail.last_error == "Interrupted":
        detail["resent"] = True  # possibly a second copy at the server, with the same Message-ID
    audit.record(action, "outbox_mail", mail.id, outcome="failed" if error else "ok", detail=detail)
    db.session.flush()
    return status


def as_utc(moment: datetime) -> datetime:
    """SQLite hands back naive UTC times; PostgreSQL aware ones."""
    return moment if moment.tzinfo else moment.replace(tzinfo=timezone.utc)
