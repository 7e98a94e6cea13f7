"""The SMTP side of the outbox: the message built from a mail, its delivery, and what a failure means.

No database writes here; `saas.modules.outbox.jobs` claims, sends through this module and records.
"""
from __future__ import annotations

import smtplib
import uuid
from datetime import datetime, timedelta
from email.message import EmailMessage
from email.utils import format_datetime
from urllib.parse import parse_qs, unquote, urlsplit

from flask import current_app

from saas.core import clock
from saas.core.crypto.aead import DecryptionError
from saas.modules.outbox.models import OutboxMail

SMTP_TIMEOUT = 30

# What a failed delivery means for the mail, and for the rest of the relay's run.
PERMANENT = "permanent"      # this mail can never go out as it is (5xx about the recipient or the message)
TEMPORARY = "temporary"      # this mail may go out later (4xx about the recipient or the message)
UNAVAILABLE = "unavailable"  # the server (or our account on it) is not taking mail now: every mail would fail
_CONFIGURATION = (smtplib.SMTPAuthenticationError, smtplib.SMTPSenderRefused, smtplib.SMTPConnectError,
                  smtplib.SMTPHeloError)


def classify(exc: BaseException) -> str:
    """A refused login or sender is our configuration, not this mail: every mail would fail alike, so mails
    wait for it to be fixed (within the give-up period) instead of failing for good."""
    if isinstance(exc, smtplib.SMTPRecipientsRefused):
        codes = [code for code, _ in exc.recipients.values()]
        return PERMANENT if codes and all(500 <= code < 600 for code in codes) else TEMPORARY
    if isinstance(exc, _CONFIGURATION):
        return UNAVAILABLE
    if isinstance(exc, smtplib.SMTPResponseException):
        if exc.smtp_code == 421:  # "service not available, closing channel"
            return UNAVAILABLE
        return PERMANENT if 500 <= exc.smtp_code < 600 else TEMPORARY
    if isinstance(exc, OSError):  # refused, timed out, disconnected (smtplib's errors are OSErrors too)
        return UNAVAILABLE
    return TEMPORARY


def retry_delay(attempts: int, first_seconds: int, max_seconds: int) -> timedelta:
    """1, 2, 4, 8 ... times the first delay after the 1st, 2nd, 3rd ... attempt, at most max_seconds."""
    doublings = min(max(attempts - 1, 0), 32)
    return timedelta(seconds=min(first_seconds * 2 ** doublings, max_seconds))


def next_attempt(attempts: int, queued_at: datetime, now: datetime, settings) -> datetime | None:
    """When to try again after a temporary failure at `now`, or None: the give-up period is over.

    The last attempt is made at the deadline itself, so a mail is given up only after it was tried then."""
    deadline = queued_at + timedelta(hours=settings.mail_give_up_hours)
    if now >= deadline:
        return None
    return min(now + retry_delay(attempts, settings.mail_retry_first_seconds, settings.mail_retry_max_seconds),
               deadline)


def message_id(mail: OutboxMail) -> str:
    """Stable for a mail: a resend after a crash mid-send carries the same id, so a receiving server (or
    person) can recognise the duplicate."""
    sender = current_app.extensions["saas.settings"].mail_from
    return f"<{mail.id}@{sender.rpartition('@')[2] or 'saas.local'}>"


def build_message(mail: OutboxMail) -> EmailMessage:
    """The message of a mail; raises DecryptionError when its subject was erased (its key destroyed)."""
    message = EmailMessage()
    message["From"] = current_app.extensions["saas.settings"].mail_from
    message["To"] = mail.recipient
    message["Subject"] = mail.subject_line
    message["Date"] = format_datetime(clock.now())
    message["Message-ID"] = message_id(mail)
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


class Courier:
    """One SMTP connection for a relay run, opened when first needed and reused for the next mail (a
    connection per mail costs a handshake each); dropped after any failure, so the next mail starts clean.

        with Courier(smtp_url) as courier:
            courier.send(message)
    """

    def __init__(self, smtp_url: str):
        self.url = urlsplit(smtp_url)
        self._smtp: smtplib.SMTP | None = None

    def __enter__(self) -> "Courier":
        return self

    def __exit__(self, *exc_info) -> None:
        self.close(polite=exc_info[0] is None)

    def send(self, message: EmailMessage) -> None:
        reused = self._smtp is not None
        try:
            self._send(message)
        except smtplib.SMTPServerDisconnected:
            if not reused:
                raise
            self._send(message)  # the server had closed the idle connection before this mail: once more

    def _send(self, message: EmailMessage) -> None:
        try:
            self._connection().send_message(message)
        except BaseException:
            self.close(polite=False)
            raise

    def close(self, polite: bool = True) -> None:
        smtp, self._smtp = self._smtp, None
        if smtp is None:
            return
        try:
            smtp.quit() if polite else smtp.close()
        except (smtplib.SMTPException, OSError):
            smtp.close()

    def _connection(self) -> smtplib.SMTP:
        """smtp://host:port, smtps://user:pass@host:465, smtp://host:587?starttls=1"""
        if self._smtp is not None:
            return self._smtp
        url = self.url
        secure = url.scheme == "smtps"
        client_class = smtplib.SMTP_SSL if secure else smtplib.SMTP
        smtp = client_class(url.hostname, url.port or (465 if secure else 25), timeout=SMTP_TIMEOUT)
        try:
            if "starttls" in parse_qs(url.query):
                smtp.starttls()
            if url.username:
                smtp.login(unquote(url.username), unquote(url.password or ""))
        except BaseException:
            smtp.close()
            raise
        self._smtp = smtp
        return smtp


def deliver(smtp_url: str, message: EmailMessage) -> None:
    """One message over a connection of its own."""
    with Courier(smtp_url) as courier:
        courier.send(message)
