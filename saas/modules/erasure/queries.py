"""Reads of the erasure ledger (the key store's `shredded_subject`): a person whose key is gone is erased,
whatever rows a crash of the old order or a restore of an older copy of the data left behind."""
from __future__ import annotations

import uuid
from collections.abc import Iterable

import sqlalchemy as sa

from saas.core.bulk import chunks, id_in
from saas.core.crypto.models import RestrictedSubject, ShreddedSubject
from saas.extensions import db


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
