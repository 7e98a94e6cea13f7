"""The agreement's own trail (printed in the sealed PDF), next to the tenant's audit log."""
from __future__ import annotations

from flask import has_request_context, request

from saas.core import clock
from saas.extensions import db
from saas.modules.agreements.models import Agreement, SigningEvent


def _client_of_request() -> tuple[str | None, str | None]:
    if not has_request_context():
        return None, None
    return request.remote_addr, (request.user_agent.string or None)


def record_event(agreement: Agreement, kind: str, *, signer=None, detail: dict | None = None,
                 actor_user_id=None) -> SigningEvent:
    """Append one event with the time (UTC), the client's IP address and user agent when in a request, and
    the SHA-256 of the document as it is at this moment."""
    ip, user_agent = _client_of_request()
    event = SigningEvent(
        agreement_id=agreement.id, signer_id=getattr(signer, "id", None), actor_user_id=actor_user_id,
        kind=kind, at=clock.now(), document_sha256=agreement.sealed_sha256 or agreement.document_sha256,
        detail=detail or {},
    )
    event.ip, event.user_agent = ip, user_agent
    db.session.add(event)
    return event
