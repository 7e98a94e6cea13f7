"""Reads of the erasure ledger (the key store's `shredded_subject`): a person whose key is gone is erased,
whatever rows a crash of the old order or a restore of an older copy of the data left behind."""
from __future__ import annotations

import logging
import uuid
from collections.abc import Iterable

import sqlalchemy as sa

from saas.core import bulk, clock, transaction
from saas.core.bulk import chunks, id_in
from saas.core.crypto.keyring import keyring
from saas.core.crypto.models import RestrictedSubject, ShreddedSubject
from saas.core.tenancy import require_tenant_id, tenant_context
from saas.extensions import db
from saas.modules.audit import operations as audit

_NOTED = "saas_keyless_noted"   # session.info: keyless people already noted by this session
KEY_MISSING = "key missing"   # the ledger's reason for a person found without a key (no erasure recorded it)
log = logging.getLogger(__name__)


def erased_ids(subject_ids: Iterable[uuid.UUID]) -> set[uuid.UUID]:
    """The ids among these whose key was destroyed (one query per chunk, in the key store)."""
    ids = list(dict.fromkeys(subject_ids))
    found: set[uuid.UUID] = set()
    for chunk in chunks(ids):
        found.update(db.session.scalars(sa.select(ShreddedSubject.subject_id)
                                        .where(id_in(ShreddedSubject.subject_id, chunk))))
    return found


def is_erased(subject_id: uuid.UUID) -> bool:
    return bool(erased_ids([subject_id]))


def gone_ids(subject_ids: Iterable[uuid.UUID]) -> set[uuid.UUID]:
    """The ids among these that are erased: in the ledger, or without a key (a killed purge, a key store
    that lost it). Such a person is not found and not listed, never an error. Fetches the keys of the rest
    (a list reads them next). A keyless person the ledger does not know yet is noted once (`note_keyless`)."""
    ids = list(dict.fromkeys(subject_ids))
    if not ids:
        return set()
    erased = erased_ids(ids)
    keyless = keyring().missing_keys([subject_id for subject_id in ids if subject_id not in erased])
    if keyless:
        note_keyless(keyless)
    return erased | keyless


def is_gone(subject_id: uuid.UUID) -> bool:
    return bool(gone_ids([subject_id]))


def note_keyless(subject_ids: Iterable[uuid.UUID]) -> None:
    """The one write of these reads: a ledger line (reason "key missing") and an audit line per person, so
    the admin learns it once, not on every request. Written when the request's transaction has ended, in a
    session of its own: that request may end in a 404 and roll back (and on SQLite holds the write lock)."""
    noted = db.session().info.setdefault(_NOTED, set())
    ids = sorted(set(subject_ids) - noted)
    if not ids:
        return
    noted.update(ids)
    tenant_id = require_tenant_id()
    transaction.after_commit(_write_note, tenant_id, ids)
    transaction.after_rollback(_write_note, tenant_id, ids)


def _write_note(tenant_id: int, ids: list[uuid.UUID]) -> None:
    session = db.session.session_factory()
    try:
        with tenant_context(tenant_id):
            bulk.insert_rows(ShreddedSubject, [
                {"tenant_id": tenant_id, "subject_id": subject_id, "reason": KEY_MISSING, "shredded_at": clock.now()}
                for subject_id in ids], skip_existing=True,
                connection=session.connection(bind_arguments={"mapper": sa.inspect(ShreddedSubject)}))
            audit.record_many("subject.key_missing", "data_subject", ids, session=session)
            session.commit()
    except Exception:  # noqa: BLE001 - a note that fails is tried again by the next request that meets them
        session.rollback()
        log.exception("could not note %d person(s) without a key in tenant %s", len(ids), tenant_id)
        return
    finally:
        session.close()
    log.warning("%d person(s) without a key in tenant %s: treated as erased, noted in the erasure ledger",
                len(ids), tenant_id)


def ledger_ids(after: uuid.UUID | None, limit: int) -> list[uuid.UUID]:
    """The next `limit` erased subjects of the tenant by id after `after` (a restore's replay)."""
    query = sa.select(ShreddedSubject.subject_id).order_by(ShreddedSubject.subject_id).limit(limit)
    if after is not None:
        query = query.where(ShreddedSubject.subject_id > after)
    return list(db.session.scalars(query))


def restricted_lines(after: uuid.UUID | None, limit: int) -> list[RestrictedSubject]:
    """The next `limit` restriction ledger lines of the tenant by subject id after `after`."""
    query = sa.select(RestrictedSubject).order_by(RestrictedSubject.subject_id).limit(limit)
    if after is not None:
        query = query.where(RestrictedSubject.subject_id > after)
    return list(db.session.scalars(query))
