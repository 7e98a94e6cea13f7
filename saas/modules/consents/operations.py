"""Writes of consents: grants, withdrawals, re-consent requests and their answers. Callers commit.

A grant is never changed except to record its withdrawal: a new grant is a new row, so the rows of a subject
are its history. Role checks are the callers' (portal and API: admins and supervisors; the public page: the
holder of a request's link). Audit lines carry ids, the purpose, basis and channel, never the evidence text.
"""
from __future__ import annotations

import base64
import binascii
import hashlib
import re
import secrets
from datetime import date, datetime

import sqlalchemy as sa
from flask_babel import lazy_gettext as _l

from saas.core import clock
from saas.core.tenancy import require_tenant_id
from saas.extensions import db
from saas.modules.audit import operations as audit
from saas.modules.consents.models import CHANNELS, LEGAL_BASES, ConsentRecord, ConsentRequest
from saas.modules.subjects.models import DataSubject
from saas.modules.subjects.schemas import Rejected

PURPOSE_MAX = 60
EVIDENCE_MAX = 4000
# A request link: "c_" + 40 URL-safe characters = 26 random bytes and the tenant id (4 bytes). The tenant in
# the token lets the public page find the request: requests are tenant data, hidden until the tenant is known.
TOKEN_PREFIX = "c_"
_TOKEN_RANDOM_BYTES = 26
_TOKEN_SHAPE = re.compile(r"^c_[A-Za-z0-9_-]{40}$")
YES, NO = "yes", "no"


class ConsentRejected(Rejected):
    """A grant's values break a rule."""


class AlreadyWithdrawn(ValueError):
    """The grant was withdrawn before."""


# ---- request tokens ------------------------------------------------------------------------------------

def token_hash(token: str) -> bytes:
    """What `ConsentRequest.token_hash` stores: the SHA-256 of the link's token."""
    return hashlib.sha256(token.encode()).digest()


def new_request_token(tenant_id: int) -> str:
    raw = secrets.token_bytes(_TOKEN_RANDOM_BYTES) + tenant_id.to_bytes(4, "big")
    return TOKEN_PREFIX + base64.urlsafe_b64encode(raw).decode()


def tenant_id_of_token(token: str) -> int | None:
    """The tenant a token of `new_request_token` names; None for any other string."""
    if not _TOKEN_SHAPE.match(token):
        return None
    try:
        raw = base64.urlsafe_b64decode(token[len(TOKEN_PREFIX):])
    except (binascii.Error, ValueError):
        return None
    return int.from_bytes(raw[-4:], "big")


def create_request(subject: DataSubject, purpose: str, due_on: date,
                   expires_at: datetime) -> tuple[ConsentRequest, str]:
    """A re-consent request for the subject (the retention engine mails its link). Returns (row, token);
    only the token's hash is stored, the token goes in the mail only."""
    token = new_request_token(require_tenant_id())
    request = ConsentRequest(subject_id=subject.id, purpose=purpose, due_on=due_on,
                             token_hash=token_hash(token), expires_at=expires_at)
    db.session.add(request)
    db.session.flush()
    audit.record("consent.request", "consent_request", request.id,
                 detail={"subject_id": str(subject.id), "purpose": purpose})
    return request, token


# ---- grants and withdrawals ----------------------------------------------------------------------------

def _problems(purpose, legal_basis, evidence_text, channel, given_at, expires_on) -> dict:
    problems: dict[str, list] = {}
    if not purpose or len(purpose) > PURPOSE_MAX:
        problems["purpose"] = [_l("Give the purpose (at most %(max)s characters).", max=PURPOSE_MAX)]
    if legal_basis not in LEGAL_BASES:
        problems["legal_basis"] = [_l("Choose one of the six legal bases of article 6(1) GDPR.")]
    if not evidence_text or len(evidence_text) > EVIDENCE_MAX:
        problems["evidence_text"] = [_l("Give the text that was shown or said (at most %(max)s characters).",
                                        max=EVIDENCE_MAX)]
    if channel not in CHANNELS:
        problems["channel"] = [_l("Choose one of the channels.")]
    if given_at > clock.now():
        problems["given_on"] = [_l("This date lies in the future.")]
    if expires_on is not None and expires_on <= clock.local(given_at).date():
        problems["expires_on"] = [_l("The end date must lie after the day it was given.")]
    return problems


def give_consent(subject: DataSubject, purpose: str, legal_basis: str, evidence_text: str, channel: str,
                 expires_on: date | None = None, request: ConsentRequest | None = None, *,
                 given_at: datetime | None = None) -> ConsentRecord:
    """Record a grant (consent, or another basis of art. 6(1)) for one purpose, with its evidence: the text
    shown, when, and through which channel. `given_at` defaults to now (a paper form signed last week is
    recorded with that day)."""
    purpose = " ".join((purpose or "").split())
    evidence_text = (evidence_text or "").strip()
    given_at = given_at or clock.now()
    problems = _problems(purpose, legal_basis, evidence_text, channel, given_at, expires_on)
    if problems:
        raise ConsentRejected(problems)
    record = ConsentRecord(subject_id=subject.id, purpose=purpose, legal_basis=legal_basis,
                           evidence_text=evidence_text, evidence_at=given_at, channel=channel, given_at=given_at,
                           expires_on=expires_on, request_id=request.id if request is not None else None)
    db.session.add(record)
    db.session.flush()
    audit.record("consent.give", "consent_record", record.id, detail={
        "subject_id": str(subject.id), "purpose": purpose, "legal_basis": legal_basis, "channel": channel})
    return record


def withdraw(record: ConsentRecord) -> ConsentRecord:
    """Record the withdrawal (art. 7(3)): the grant stays in the history with the moment it ended."""
    if record.withdrawn_at is not None:
        raise AlreadyWithdrawn(str(record.id))
    record.withdrawn_at = clock.now()
    db.session.flush()
    audit.record("consent.withdraw", "consent_record", record.id,
                 detail={"subject_id": str(record.subject_id), "purpose": record.purpose})
    return record


# ---- answers to a request -------------------------------------------------------------------------------

def claim(request: ConsentRequest, answer: str) -> bool:
    """Mark the request answered, once: of two answers sent at the same moment only one wins."""
    result = db.session.execute(
        sa.update(ConsentRequest)
        .where(ConsentRequest.id == request.id, ConsentRequest.answered_at.is_(None))
        .values(answered_at=clock.now(), answer=answer)
        .execution_options(synchronize_session=False))
    if result.rowcount != 1:
        return False
    db.session.refresh(request)
    return True


def answer_yes(request: ConsentRequest, evidence_text: str) -> ConsentRecord:
    """The subject agreed: the consent is recorded with the text shown, and the retention clock starts again
    (its rules count from the last contact, which is today)."""
    subject = db.session.get(DataSubject, request.subject_id)
    record = give_consent(subject, request.purpose, "consent", evidence_text, "email", request=request)
    subject.last_contact_on = clock.today()
    db.session.flush()
    audit.record("consent.answer", "consent_request", request.id, detail={"answer": YES})
    return record


def answer_no(request: ConsentRequest):
    """The subject wants to be removed: erased through the one erasure path (commits). Returns its
    `ErasureOutcome`: "purged", or "restricted" where the law makes the tenant keep something, and what."""
    # Imported here: erasure -> retention.queries -> consents.queries -> this module.
    from saas.modules.erasure.operations import erase_subject

    audit.record("consent.answer", "consent_request", request.id, detail={"answer": NO})
    subject = db.session.get(DataSubject, request.subject_id)
    return erase_subject(subject, reason="unsubscribed")
