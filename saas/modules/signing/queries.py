"""Reading signing links, codes and the document to sign. Nothing here writes."""
from __future__ import annotations

import base64
import binascii
import hashlib
import re
from datetime import datetime, timezone

import sqlalchemy as sa

from saas.extensions import db
from saas.modules.agreements.models import Agreement, Signer
from saas.modules.files import queries as files
from saas.modules.signing.models import OneTimeCode, SigningToken

# A link token is base64url of 32 random bytes followed by the tenant id (4 bytes): 48 characters.
# The tenant id inside lets a public request find the token within its tenant (the token table is
# tenant data, hidden by row-level security until the tenant is known), as personal API tokens do.
TOKEN_RANDOM_BYTES = 32
_TOKEN_SHAPE = re.compile(r"^[A-Za-z0-9_-]{48}$")
_MAX_TENANT_ID = 2 ** 31 - 1   # a PostgreSQL integer: a larger id in a forged token must not reach the query


class DocumentMismatch(RuntimeError):
    """The stored document is not the one the agreement names: it is never shown."""


def token_hash(raw: str) -> bytes:
    return hashlib.sha256(raw.encode()).digest()


def tenant_id_of(raw: str) -> int | None:
    """The tenant a well-formed link token names, or None for anything else."""
    if not _TOKEN_SHAPE.match(raw or ""):
        return None
    try:
        decoded = base64.urlsafe_b64decode(raw)
    except (binascii.Error, ValueError):
        return None
    tenant_id = int.from_bytes(decoded[TOKEN_RANDOM_BYTES:], "big")
    return tenant_id if 0 < tenant_id <= _MAX_TENANT_ID else None


def find_link(raw: str) -> tuple[SigningToken, Signer, Agreement] | None:
    """The token of the current tenant with this secret, with its signer and agreement (one query)."""
    row = db.session.execute(
        sa.select(SigningToken, Signer, Agreement)
        .join(Signer, Signer.id == SigningToken.signer_id).join(Agreement, Agreement.id == Signer.agreement_id)
        .where(SigningToken.token_hash == token_hash(raw))
    ).first()
    return tuple(row) if row is not None else None


def aware(moment: datetime | None) -> datetime | None:
    """SQLite hands back stored UTC times without their zone."""
    if moment is None or moment.tzinfo is not None:
        return moment
    return moment.replace(tzinfo=timezone.utc)


def counterparty_signers(agreement: Agreement) -> list[Signer]:
    query = (sa.select(Signer).where(Signer.agreement_id == agreement.id, Signer.side == "counterparty")
             .execution_options(populate_existing=True))
    return list(db.session.scalars(query))


def tokens_of(signer: Signer) -> list[SigningToken]:
    return list(db.session.scalars(sa.select(SigningToken).where(SigningToken.signer_id == signer.id)
                                   .order_by(SigningToken.created_at)))


def newest_code(signer: Signer) -> OneTimeCode | None:
    """The code a signer was sent last (a new code replaces the older ones)."""
    return db.session.scalar(
        sa.select(OneTimeCode).where(OneTimeCode.signer_id == signer.id)
        .order_by(OneTimeCode.created_at.desc(), OneTimeCode.expires_at.desc()).limit(1)
        .execution_options(populate_existing=True)
    )


def codes_sent_since(signer: Signer, since: datetime) -> int:
    return db.session.scalar(sa.select(sa.func.count()).select_from(OneTimeCode)
                             .where(OneTimeCode.signer_id == signer.id, OneTimeCode.created_at > since))


def document(agreement: Agreement) -> bytes:
    """The exact PDF the signers see and sign, checked against the SHA-256 the agreement holds."""
    stored = files.get(agreement.document_file_id) if agreement.document_file_id else None
    if stored is None or not agreement.document_sha256:
        raise DocumentMismatch("the agreement has no document to sign")
    content = files.read(stored)
    if hashlib.sha256(content).hexdigest() != agreement.document_sha256:
        raise DocumentMismatch("the stored document differs from the agreement's SHA-256")
    return content
