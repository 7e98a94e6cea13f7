"""Sending one mail from the outbox (queue "mail", argument: the mail id only).

At most once: the mail is claimed (queued -> sending) and that claim committed before the SMTP
conversation; only then is it marked sent. A mail found still "sending" was interrupted mid-send,
so nobody knows whether it went out: once that claim is older than any SMTP conversation can last, it
is marked failed for an admin to check, never resent blindly.
"""
from __future__ import annotations

import smtplib
import uuid
from datetime import timedelta, timezone
from email.message import EmailMessage
from email.utils import format_datetime
from urllib.parse import parse_qs, unquote, urlsplit

import sqlalchemy as sa
from flask import current_app

from saas.core import clock
from saas.core.crypto.aead import DecryptionError
from saas.extensions import db
from saas.modules.audit import operations as audit
from saas.modules.outbox.models import FAILED, OUTBOX, QUEUED, SENDING, SENT, OutboxMail
from saas.modules.outbox.operations import MAX_ATTEMPTS

SMTP_TIMEOUT = 30
CLAIM_STALE_AFTER = timedelta(seconds=4 * SMTP_TIMEOUT)


def send_mail(mail_id: str) -> str:
    """Send (or, without SMTP, deliver to the outbox) one queued mail; returns what happened."""
    mail = db.session.get(OutboxMail, uuid.UUID(mail_id))
    if mail is None:
        return "missing"
    if mail.status in (SENT, OUTBOX, FAILED):
        return mail.status
    if mail.status == SENDING:
        if not _stale(mail):
            return "in-progress"  # a duplicate job while another worker is still talking to the server
        _finish(mail, FAILED, "mail.send", outcome="failed", error="Interrupted")
        return "interrupted"
    smtp_url = current_app.extensions["saas.settings"].smtp_url
    if not _claim(mail, OUTBOX if not smtp_url else SENDING):
        return "claimed-elsewhere"
    if not smtp_url:
        audit.record("mail.outbox", "outbox_mail", mail.id, detail={"template": mail.template})
        db.session.commit()
        return OUTBOX
    return _send_claimed(mail, smtp_url)


def _stale(mail: OutboxMail) -> bool:
    """A claim older than any SMTP conversation can last: its worker is gone."""
    claimed_at = mail.updated_at if mail.updated_at.tzinfo else mail.updated_at.replace(tzinfo=timezone.utc)
    return clock.now() - claimed_at > CLAIM_STALE_AFTER


def _claim(mail: OutboxMail, status: str) -> bool:
    """queued -> status in one conditional UPDATE, committed: two workers cannot both win."""
    values = {"status": status, "attempts": OutboxMail.attempts + 1}
    if status == OUTBOX:
        values["sent_at"] = clock.now()
    won = db.session.execute(
        sa.update(OutboxMail).where(OutboxMail.id == mail.id, OutboxMail.status == QUEUED).values(**values)
        .execution_options(synchronize_session=False)
    ).rowcount == 1
    db.session.commit()
    db.session.refresh(mail)
    return won


def _send_claimed(mail: OutboxMail, smtp_url: str) -> str:
    try:
        message = build_message(mail)
    except DecryptionError:
        # The subject was erased (key destroyed) after the mail was queued: nothing may go out.
        _finish(mail, FAILED, "mail.send", outcome="failed", error="KeyDestroyed")
        return FAILED
    try:
        deliver(smtp_url, message)
    except (smtplib.SMTPException, OSError) as exc:
        last_try = mail.attempts >= MAX_ATTEMPTS
        _finish(mail, FAILED if last_try else QUEUED, "mail.send", outcome="failed", error=type(exc).__name__)
        raise  # RQ retries while attempts remain
    _finish(mail, SENT, "mail.send")
    return SENT


def _finish(mail: OutboxMail, status: str, action: str, *, outcome: str = "ok", error: str | None = None) -> None:
    mail.status, mail.last_error = status, error
    if status == SENT:
        mail.sent_at = clock.now()
    audit.record(action, "outbox_mail", mail.id, outcome=outcome,
                 detail={"template": mail.template, "attempts": mail.attempts, **({"error": error} if error else {})})
    db.session.commit()


def build_message(mail: OutboxMail) -> EmailMessage:
    sender = current_app.extensions["saas.settings"].mail_from
    message = EmailMessage()
    message["From"] = sender
    message["To"] = mail.recipient
    message["Subject"] = mail.subject_line
    message["Date"] = format_datetime(clock.now())
    # A stable Message-ID lets receiving servers drop a duplicate should one ever slip through.
    message["Message-ID"] = f"<{mail.id}@{sender.rpartition('@')[2] or 'saas.local'}>"
    message.set_content(mail.body)
    for attachment in mail.attachments or ():
        _attach(message, attachment)
    return message


def _attach(message: EmailMessage, attachment: dict) -> None:
    """A stored file, decrypted only now; a missing or shredded file raises DecryptionError (not sent)."""
    from saas.modules.files import queries as files

    stored = files.get(uuid.UUID(attachment["file_id"]))
    if stored is None:
        raise DecryptionError("an attached file is gone")
    maintype, _, subtype = stored.content_type.partition("/")
    message.add_attachment(files.read(stored), maintype=maintype, subtype=subtype or "octet-stream",
                           filename=attachment["filename"])


def deliver(smtp_url: str, message: EmailMessage) -> None:
    """smtp://host:port, smtps://user:pass@host:465, smtp://host:587?starttls=1"""
    url = urlsplit(smtp_url)
    secure = url.scheme == "smtps"
    client_class = smtplib.SMTP_SSL if secure else smtplib.SMTP
    with client_class(url.hostname, url.port or (465 if secure else 25), timeout=SMTP_TIMEOUT) as smtp:
        if "starttls" in parse_qs(url.query):
            smtp.starttls()
        if url.username:
            smtp.login(unquote(url.username), unquote(url.password or ""))
        smtp.send_message(message)
