"""Online signing: invitation links, one-time codes, signing and declining. They do not commit; a refused
step raises `DomainError` with a fixed `reason` code the pages translate, and the request's commit point
rolls back what it wrote (`saas.core.transaction`).

Links: a random token per invitation (only its SHA-256 is stored), valid until the agreement expires,
revocable, and not used up by opening it (mail scanners open links): signing or declining uses it.
Codes: six digits mailed to the invited address, stored as an HMAC with a key derived from the tenant's
index key (kept in the key store, not next to the hashes: six digits are quick to try offline), ten
minutes valid, five tries each, a new code at most once a minute and ten a day.
Races: two signers or two tabs finishing at once serialise on the agreement (a row lock on PostgreSQL,
the database write lock on SQLite), and every state change is a conditional UPDATE, so exactly one wins.
"""
from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import timedelta

import sqlalchemy as sa
from flask import current_app
from flask_babel import force_locale
from flask_babel import lazy_gettext as _l

from saas.core import clock
from saas.core.crypto.keyring import keyring
from saas.core.errors import DomainError
from saas.core.web import external_url
from saas.extensions import db
from saas.modules.agreements import lifecycle
from saas.modules.agreements.events import record_event
from saas.modules.agreements.models import Agreement, Signer
from saas.modules.audit import operations as audit
from saas.modules.outbox import operations as outbox
from saas.modules.signing import queries
from saas.modules.signing.models import OneTimeCode, SigningToken
from saas.modules.tenants.models import Tenant

CODE_DIGITS = 6
CODE_TTL = timedelta(minutes=10)
CODE_MAX_TRIES = 5
CODE_RESEND_AFTER = timedelta(seconds=60)
CODE_MAX_PER_DAY = 10
NAME_MAX = 200
REASON_MAX = 500
INVITABLE = frozenset({"draft", *lifecycle.OPEN_FOR_SIGNING})  # draft: `send` may move after inviting
SIGNER_OPEN = ("invited", "viewed")


def refused(reason: str, **facts) -> DomainError:
    """A signing step that is refused: `reason` is a fixed code the pages translate."""
    return DomainError(reason, reason=reason, status=409, **facts)


@dataclass(frozen=True)
class CodeCheck:
    ok: bool
    reason: str | None = None        # wrong | locked | expired | missing
    tries_left: int = 0


# --- links ------------------------------------------------------------------------------------------

def _new_token(tenant_id: int) -> str:
    raw = secrets.token_bytes(queries.TOKEN_RANDOM_BYTES) + tenant_id.to_bytes(4, "big")
    return base64.urlsafe_b64encode(raw).decode()


def signing_url(raw: str) -> str:
    """The link in the mail: on the request's host, or on SAAS_BASE_URL when a job sends it."""
    return external_url("signing.start", token=raw)


def _issue_token(signer: Signer, agreement: Agreement) -> str:
    raw = _new_token(signer.tenant_id)
    db.session.add(SigningToken(signer_id=signer.id, token_hash=queries.token_hash(raw),
                                expires_at=agreement.expires_at))
    return raw


def _check_invitable(signer: Signer, agreement: Agreement) -> None:
    if signer.side != "counterparty":
        raise refused("not_a_counterparty_signer")
    if agreement.status not in INVITABLE:
        raise refused("closed", state=agreement.status)
    if signer.status not in SIGNER_OPEN:
        raise refused("signer_done", state=signer.status)
    if not agreement.document_sha256 or not agreement.document_file_id:
        raise refused("no_document")
    expires_at = queries.aware(agreement.expires_at)
    if expires_at is None or expires_at <= clock.now():
        raise refused("expired")
    if not signer.email:
        raise refused("no_email")


def invite(signer: Signer) -> str:
    """Mail the signer a link to sign (event "sent"). Returns the link's token, which is not stored:
    callers must not keep or log it (tests read it)."""
    agreement = db.session.get(Agreement, signer.agreement_id)
    _check_invitable(signer, agreement)
    raw = _issue_token(signer, agreement)
    mail = _send_link_mail(signer, agreement, raw, "agreement_invitation", "signing/mail/invitation.txt",
                           _l("Please sign processor agreement %(number)s"))
    record_event(agreement, "sent", signer=signer, detail={"mail_id": str(mail.id)})
    return raw


def remind(signer: Signer) -> str:
    """Mail a fresh link (event "reminded"); earlier links stay valid until they expire."""
    agreement = db.session.get(Agreement, signer.agreement_id)
    _check_invitable(signer, agreement)
    if agreement.status not in lifecycle.OPEN_FOR_SIGNING:
        raise refused("closed", state=agreement.status)
    raw = _issue_token(signer, agreement)
    mail = _send_link_mail(signer, agreement, raw, "agreement_reminder", "signing/mail/reminder.txt",
                           _l("Reminder: please sign processor agreement %(number)s"))
    agreement.last_reminder_at = clock.now()
    record_event(agreement, "reminded", signer=signer, detail={"mail_id": str(mail.id)})
    return raw


def revoke_tokens(agreement: Agreement) -> int:
    """Withdraw every link of the agreement that is still usable; returns how many."""
    now = clock.now()
    signer_ids = sa.select(Signer.id).where(Signer.agreement_id == agreement.id).scalar_subquery()
    revoked = db.session.execute(
        sa.update(SigningToken).where(SigningToken.signer_id.in_(signer_ids), SigningToken.revoked_at.is_(None),
                                      SigningToken.used_at.is_(None))
        .values(revoked_at=now).execution_options(synchronize_session=False)
    ).rowcount
    if revoked:
        audit.record("signing.revoke_links", "agreement", agreement.id, detail={"links": revoked})
    return revoked


OPENED_REFRESH = timedelta(minutes=5)


def note_opened(signer: Signer, token: SigningToken) -> bool:
    """The link was opened (maybe by a mail scanner): event "opened" the first time, and the time of the
    latest opening, refreshed at most every five minutes. The link stays usable. True if it wrote."""
    now = clock.now()
    seen = queries.aware(token.last_opened_at)
    if seen is not None and seen >= now - OPENED_REFRESH:
        return False   # nothing to write (an UPDATE, even of no row, would take SQLite's write lock)
    if seen is None and db.session.execute(
        sa.update(SigningToken).where(SigningToken.id == token.id, SigningToken.last_opened_at.is_(None))
        .values(last_opened_at=now).execution_options(synchronize_session=False)
    ).rowcount == 1:
        record_event(db.session.get(Agreement, signer.agreement_id), "opened", signer=signer)
    elif seen is not None:
        db.session.execute(
            sa.update(SigningToken)
            .where(SigningToken.id == token.id, SigningToken.last_opened_at < now - OPENED_REFRESH)
            .values(last_opened_at=now).execution_options(synchronize_session=False))
    return True


def _render_mail(template: str, **context) -> str:
    """A mail body: the template alone, without the page context (a job has no request)."""
    return current_app.jinja_env.get_template(template).render(**context)


def _tenant_of(agreement: Agreement) -> Tenant:
    return db.session.get(Tenant, agreement.tenant_id)


def _send_link_mail(signer, agreement, raw, template, body_template, subject_text):
    tenant = _tenant_of(agreement)
    with force_locale(tenant.locale or "nl"):
        subject_line = str(subject_text) % {"number": agreement.number}
        body = _render_mail(body_template, signer=signer, agreement=agreement, tenant=tenant,
                               link=signing_url(raw), code_minutes=int(CODE_TTL.total_seconds() // 60))
    return outbox.queue_mail(signer.email, subject_line, body, template=template)


# --- one-time codes ---------------------------------------------------------------------------------

def _code_key(tenant_id: int) -> bytes:
    return keyring().index_key(tenant_id, "signing-code")


def code_hash(code: OneTimeCode, value: str) -> bytes:
    """HMAC over the code row's id and the digits, with a key derived from the tenant's index key."""
    return hmac.new(_code_key(code.tenant_id), f"{code.id}|{value}".encode(), hashlib.sha256).digest()


def send_code(signer: Signer) -> OneTimeCode:
    """Mail a new code to the invited address (event "code_sent"); older codes stop working.
    Refused as "code_too_soon" (with `wait_seconds`) within a minute of the last code, and as
    "code_limit" after ten codes in a day."""
    agreement = lock_agreement(signer.agreement_id)
    check_open(agreement, signer)
    now = clock.now()
    last = queries.newest_code(signer)
    if last is not None and queries.aware(last.created_at) + CODE_RESEND_AFTER > now:
        wait = queries.aware(last.created_at) + CODE_RESEND_AFTER - now
        raise refused("code_too_soon", wait_seconds=max(1, int(wait.total_seconds() + 0.999)))
    if queries.codes_sent_since(signer, now - timedelta(days=1)) >= CODE_MAX_PER_DAY:
        raise refused("code_limit")
    db.session.execute(
        sa.update(OneTimeCode).where(OneTimeCode.signer_id == signer.id, OneTimeCode.verified_at.is_(None),
                                     OneTimeCode.expires_at > now)
        .values(expires_at=now).execution_options(synchronize_session=False)
    )
    value = f"{secrets.randbelow(10 ** CODE_DIGITS):0{CODE_DIGITS}d}"
    code = OneTimeCode(tenant_id=signer.tenant_id, signer_id=signer.id, expires_at=now + CODE_TTL, attempts=0,
                       created_at=now)
    code.code_hash = code_hash(code, value)   # keyed by the row id too: known once the row exists
    tenant = _tenant_of(agreement)
    with force_locale(tenant.locale or "nl"):
        subject_line = str(_l("Your code for processor agreement %(number)s")) % {"number": agreement.number}
        body = _render_mail("signing/mail/code.txt", code=value, agreement=agreement, tenant=tenant,
                            expires_at=code.expires_at, code_minutes=int(CODE_TTL.total_seconds() // 60))
    mail = outbox.queue_mail(signer.email, subject_line, body, template="agreement_code")
    code.mail_id = mail.id
    db.session.add(code)
    record_event(agreement, "code_sent", signer=signer, detail={"mail_id": str(mail.id)})
    return code


def _normalise_code(value: str | None) -> str:
    return "".join((value or "").split())


def check_code(signer: Signer, value: str | None) -> CodeCheck:
    """Check a typed code against the newest one. Every try is counted first, in one conditional UPDATE,
    so parallel guesses cannot share a try; after five the code is dead and a new one is needed."""
    agreement = lock_agreement(signer.agreement_id)
    check_open(agreement, signer)
    now = clock.now()
    code = queries.newest_code(signer)
    if code is None:
        return CodeCheck(False, "missing")
    if code.verified_at is not None:
        return CodeCheck(False, "missing")   # used already: a new visit needs a new code
    if queries.aware(code.expires_at) <= now:
        return CodeCheck(False, "expired")
    counted = db.session.execute(
        sa.update(OneTimeCode).where(OneTimeCode.id == code.id, OneTimeCode.attempts < CODE_MAX_TRIES,
                                     OneTimeCode.verified_at.is_(None))
        .values(attempts=OneTimeCode.attempts + 1).execution_options(synchronize_session=False)
    ).rowcount == 1
    if not counted:
        return CodeCheck(False, "locked")
    db.session.refresh(code)
    typed = _normalise_code(value)
    if len(typed) == CODE_DIGITS and typed.isdigit() and hmac.compare_digest(code_hash(code, typed), code.code_hash):
        code.verified_at = now
        record_event(agreement, "code_verified", signer=signer)
        return CodeCheck(True)
    tries_left = CODE_MAX_TRIES - code.attempts
    record_event(agreement, "code_failed", signer=signer, detail={"attempt": code.attempts, "tries_left": tries_left})
    return CodeCheck(False, "wrong" if tries_left else "locked", tries_left)


# --- viewing, signing, declining ---------------------------------------------------------------------

def lock_agreement(agreement_id) -> Agreement:
    """Serialise the writers of one agreement and return it as committed by the previous one.

    PostgreSQL: SELECT ... FOR UPDATE. SQLite: the database has one writer at a time, and a transaction
    becomes a writer at its first write; a no-op UPDATE as that first write makes a second signer wait
    here (busy timeout) instead of failing later, and what it reads afterwards is current."""
    query = sa.select(Agreement).where(Agreement.id == agreement_id)
    if db.session.get_bind(Agreement).dialect.name == "postgresql":
        query = query.with_for_update()
    else:   # an UPDATE that changes nothing, not even updated_at
        db.session.execute(sa.update(Agreement).where(Agreement.id == agreement_id)
                           .values(status=Agreement.status, updated_at=Agreement.updated_at)
                           .execution_options(synchronize_session=False))
    agreement = db.session.scalar(query.execution_options(populate_existing=True))
    if agreement is None:
        raise refused("missing")
    return agreement


def check_open(agreement: Agreement, signer: Signer) -> None:
    """The agreement still takes signatures from this signer."""
    if agreement.status not in lifecycle.OPEN_FOR_SIGNING:
        raise refused("closed", state=agreement.status)
    expires_at = queries.aware(agreement.expires_at)
    if expires_at is None or expires_at <= clock.now():
        raise refused("expired")
    db.session.refresh(signer)
    if signer.status not in SIGNER_OPEN:
        raise refused("signer_done", state=signer.status)


def token_problem(token: SigningToken) -> str | None:
    """Why a link can no longer be used to sign, or None."""
    if token.revoked_at is not None:
        return "revoked"
    if token.used_at is not None:
        return "used"
    if queries.aware(token.expires_at) <= clock.now():
        return "expired"
    return None


def _use_token(token: SigningToken, signer: Signer) -> None:
    """Mark the link used, in one conditional UPDATE: of two tabs, one wins."""
    db.session.refresh(token)
    problem = token_problem(token) or (None if token.signer_id == signer.id else "forged")
    if problem:
        raise refused(f"token_{problem}")
    now = clock.now()
    won = db.session.execute(
        sa.update(SigningToken).where(SigningToken.id == token.id, SigningToken.used_at.is_(None),
                                      SigningToken.revoked_at.is_(None), SigningToken.expires_at > now)
        .values(used_at=now).execution_options(synchronize_session=False)
    ).rowcount == 1
    if not won:
        raise refused("token_used")


def _set_signer_status(signer: Signer, status: str) -> None:
    now = clock.now()
    values = {"status": status, **({"signed_at": now} if status == "signed" else {})}
    won = db.session.execute(
        sa.update(Signer).where(Signer.id == signer.id, Signer.status.in_(SIGNER_OPEN))
        .values(**values).execution_options(synchronize_session=False)
    ).rowcount == 1
    if not won:
        raise refused("signer_done")
    db.session.refresh(signer)


def _transition(agreement: Agreement, new_status: str, **event) -> bool:
    """Move the agreement if it is still open (conditional UPDATE), then through `lifecycle.move`, which
    checks the move and writes its event. False when another request moved it first."""
    won = db.session.execute(
        sa.update(Agreement).where(Agreement.id == agreement.id, Agreement.status.in_(lifecycle.OPEN_FOR_SIGNING))
        .values(status=new_status).execution_options(synchronize_session=False)
    ).rowcount == 1
    if won:
        lifecycle.move(agreement, new_status, **event)
    return won


def mark_viewed(signer: Signer) -> None:
    """The signer saw the document after entering the code: event "viewed" once per signer; the
    agreement goes from sent to viewed the first time any signer does."""
    agreement = lock_agreement(signer.agreement_id)
    check_open(agreement, signer)
    if signer.status != "invited":
        return
    db.session.execute(sa.update(Signer).where(Signer.id == signer.id, Signer.status == "invited")
                       .values(status="viewed").execution_options(synchronize_session=False))
    db.session.refresh(signer)
    if agreement.status == "sent" and db.session.execute(
        sa.update(Agreement).where(Agreement.id == agreement.id, Agreement.status == "sent")
        .values(status="viewed").execution_options(synchronize_session=False)
    ).rowcount == 1:
        lifecycle.move(agreement, "viewed", signer=signer)
    else:
        record_event(agreement, "viewed", signer=signer)


def _clean(value: str | None, limit: int) -> str:
    text = " ".join((value or "").split())
    return text if len(text) <= limit else ""


def sign(signer: Signer, name: str, function: str, authority_confirmed: bool, document_sha256_seen: str,
         *, token: SigningToken) -> bool:
    """Sign with the link `token` for the document whose SHA-256 the signer was shown. Stores name and
    function (encrypted), uses up the link, writes event "signed"; when every counterparty signer has
    signed, the agreement becomes "signed" (event "all_signed"). Returns whether this did that."""
    name, function = _clean(name, NAME_MAX), _clean(function, NAME_MAX)
    if not name or not function:
        raise refused("details_missing")
    if authority_confirmed is not True:
        raise refused("authority_not_confirmed")
    agreement = lock_agreement(signer.agreement_id)
    check_open(agreement, signer)
    if not hmac.compare_digest((document_sha256_seen or "").strip().lower().encode(),
                               (agreement.document_sha256 or "").encode()):
        raise refused("document_changed")
    _use_token(token, signer)
    _set_signer_status(signer, "signed")
    signer.name, signer.function, signer.authority_confirmed = name, function, True
    record_event(agreement, "signed", signer=signer)
    audit.record("agreement.sign", "agreement_signer", signer.id, actor_kind="signer", actor_id=str(signer.id),
                 detail={"agreement_id": str(agreement.id)})
    if all(s.status == "signed" for s in queries.counterparty_signers(agreement)):
        return _transition(agreement, "signed", event="all_signed", signer=signer)
    return False


def decline(signer: Signer, reason: str, *, token: SigningToken) -> None:
    """Decline with a reason: the link is used up and the agreement becomes "declined" (event
    "declined"; the reason is kept on the agreement)."""
    reason = _clean(reason, REASON_MAX)
    if not reason:
        raise refused("reason_missing")
    agreement = lock_agreement(signer.agreement_id)
    check_open(agreement, signer)
    _use_token(token, signer)
    _set_signer_status(signer, "declined")
    agreement.closed_reason = reason
    audit.record("agreement.decline", "agreement_signer", signer.id, actor_kind="signer", actor_id=str(signer.id),
                 detail={"agreement_id": str(agreement.id)})
    if not _transition(agreement, "declined", signer=signer):
        raise refused("closed", state=agreement.status)
