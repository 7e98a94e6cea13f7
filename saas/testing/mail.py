"""An SMTP server on loopback for the mail relay tests that can be down, refuse, or hang mid-send.

    server = SmtpSink().start()
    server.stop(); ...; server.start()          # down for a while, then up again on the same port
    server.hang_after = 3                        # the 3rd message is received but never acknowledged
    server.message_ids()                         # Counter of Message-IDs received (duplicates show as 2)

Recipients at busy.test get a temporary 450, at refused.test a permanent 550.
"""
from __future__ import annotations

import asyncio
import email
import email.policy
from collections import Counter

from saas.testing.services import free_port


class _Handler:
    def __init__(self, sink: "SmtpSink"):
        self.sink = sink

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if address.endswith("@refused.test"):
            return "550 5.1.1 No such user"
        if address.endswith("@busy.test"):
            return "450 4.2.1 Mailbox busy, try again later"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        sink = self.sink
        sink.messages.append(email.message_from_bytes(envelope.original_content, policy=email.policy.default))
        if sink.hang_after is not None and len(sink.messages) >= sink.hang_after:
            sink.hung += 1
            while sink.hang_after is not None:  # received, never acknowledged: the sender cannot know
                await asyncio.sleep(0.05)
        return "250 Message accepted for delivery"


class SmtpSink:
    def __init__(self, port: int | None = None):
        self.port = port or free_port()
        self.messages: list = []
        self.hang_after: int | None = None
        self.hung = 0
        self._controller = None

    @property
    def url(self) -> str:
        return f"smtp://127.0.0.1:{self.port}"

    def start(self) -> "SmtpSink":
        from aiosmtpd.controller import Controller

        self._controller = Controller(_Handler(self), hostname="127.0.0.1", port=self.port)
        self._controller.start()
        return self

    def stop(self) -> None:
        if self._controller is not None:
            self.hang_after = None
            self._controller.stop()
            self._controller = None

    def message_ids(self) -> Counter:
        return Counter(message["Message-ID"] for message in self.messages)


def queue_mails_then_die(count: int) -> None:
    """A job that queues `count` mails and commits them, and whose process is killed (SIGKILL) right after
    that commit, before anything else happens after it (the relay's nudge included). Markers, not people."""
    import os
    import signal

    from saas.core import transaction
    from saas.extensions import db
    from saas.modules.outbox import operations

    transaction.after_commit(os.kill, os.getpid(), signal.SIGKILL)  # registered first: runs before the nudge
    for number in range(count):
        operations.queue_mail(f"batch-{number}@example.test", "Onderwerp", "Tekst", template="fault_batch")
    db.session.commit()
