"""Encrypted model attributes, sealed together: one AES-256-GCM value per row.

    class DataSubject(EncryptedRow, TenantScoped, db.Model):
        email_bidx = mapped_column(LargeBinary(16), index=True)
        email = EncryptedField(index="email", normalise=normalise_email)
        city = EncryptedField()

Every `EncryptedField` of a row lives in the row's `ciphertext` column: a MessagePack map of the fields
that have a value, encrypted with the row's key (the subject's, or the tenant's for rows of no one subject).
The associated data names tenant, table, column and row, so the value fails anywhere else; inside it each
value sits under its field name. Reading decrypts the row once; assigning changes the row's values and is
sealed once, at flush. One value per row instead of one per field: the Python around each AES call cost
more than the AES itself (bench/README.md). An indexed field also keeps a blind index (`<name>_bidx`).
"""
from __future__ import annotations

from itertools import chain
from typing import Callable

import msgpack
import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.orm import Mapped, Session, mapped_column
from sqlalchemy.orm.attributes import flag_modified, instance_state

from saas.core.crypto import aead as box
from saas.core.crypto.keyring import keyring, remember_loaded_subject, session_subject_key
from saas.core.tenancy import require_tenant_id
from saas.extensions import db

COLUMN = "ciphertext"


def normalise_email(value: str) -> str:
    return value.strip().lower()


def normalise_text(value: str) -> str:
    return " ".join(value.split()).casefold()


def normalise_phone(value: str) -> str:
    digits = "".join(filter(str.isdigit, value))
    return "31" + digits[1:] if digits.startswith("0") else digits


class EncryptedRow:
    """Mixin: rows with encrypted fields, all sealed in one `ciphertext` column.

    Rows whose fields belong to one data subject are encrypted with that subject's key. `__subject_link__`
    names the column that says whose data a row is; by default `subject_id`, or `id` for a table without
    that column (the subjects themselves). Key rotation finds rows through it.
    """

    __encrypted__ = True
    __subject_link__: str | None = None

    ciphertext: Mapped[bytes | None] = mapped_column(sa.LargeBinary)

    def encryption_subject_id(self):
        """The subject whose key protects this row (a subject returns its own id); None means
        tenant-level data, protected by the tenant data key."""
        return self.subject_id

    def encryption_key(self):
        """(kind, generation, cipher) to write this row's values with: the newest key."""
        subject_id = self.encryption_subject_id()
        if subject_id is None:
            version, cipher = keyring().tenant_aead(self.tenant_id)
            return box.KIND_TENANT, version, cipher
        generation, cipher = session_subject_key(_session_of(self), self.tenant_id, subject_id)
        return box.KIND_SUBJECT, generation, cipher

    def decryption_key(self, kind: int, generation: int):
        """The key a stored value names in its header (an older one stays readable during a rotation)."""
        if kind == box.KIND_TENANT:
            return keyring().tenant_aead(self.tenant_id, generation)[1]
        subject_id = self.encryption_subject_id()
        if kind != box.KIND_SUBJECT or subject_id is None:
            raise box.DecryptionError("value was written with another key")
        return session_subject_key(_session_of(self), self.tenant_id, subject_id, generation)[1]


# --- a row's values ----------------------------------------------------------------------------------
# Kept in the row's own __dict__ as plain entries, not in an object of their own: a load of thousands of
# rows should add as few objects as possible for the garbage collector to walk.
_SOURCE = "_saas_source"      # the stored ciphertext the fields were read from (None: none stored)
_FIELDS = "_saas_fields"      # {field name: text}, decrypted once per stored value
_CHANGED = "_saas_changed"    # present when the fields differ from the stored value (sealed at flush)
_UNLOADED = object()


def _values(row) -> dict[str, str]:
    """The row's fields. A reloaded or expired row (a rollback, another transaction's change) has a new
    stored value, so changes not yet flushed are dropped with it."""
    state = row.__dict__
    blob = state.get(COLUMN, _UNLOADED)
    if blob is _UNLOADED:   # a new row has none yet; a stored one not loaded (expired) loads it here
        blob = None if instance_state(row).key is None else row.ciphertext
    fields = state.get(_FIELDS)
    if fields is None or state[_SOURCE] is not blob:
        fields = state[_FIELDS] = {} if blob is None else _open(row, blob)
        state[_SOURCE] = blob
        state.pop(_CHANGED, None)
    return fields


def _mark_changed(row) -> None:
    state = row.__dict__
    if _CHANGED not in state:
        state[_CHANGED] = True
        if instance_state(row).key is not None:   # a stored row: make the flush write it
            flag_modified(row, COLUMN)


def _place(row) -> bytes:
    return box.place(row.tenant_id, row.__tablename__, COLUMN, row.id)


def _open(row, blob: bytes) -> dict[str, str]:
    cipher = row.decryption_key(*box.header_of(blob))
    return msgpack.unpackb(box.open_(cipher, blob, _place(row)))


def seal_changes(row) -> None:
    """Encrypt the row's changed fields into its ciphertext, with the row's newest key: once per flush,
    not once per field."""
    state = row.__dict__
    if _CHANGED not in state:
        return
    fields = state[_FIELDS]
    blob = None
    if fields:
        kind, generation, cipher = row.encryption_key()
        blob = box.seal(cipher, kind, generation, msgpack.packb(fields), _place(row))
    row.ciphertext = blob
    state[_SOURCE] = blob
    del state[_CHANGED]


def _session_of(row) -> Session:
    """The row's own session (cheap), or the current one for a row not added yet."""
    return instance_state(row).session or db.session


@event.listens_for(EncryptedRow, "load", propagate=True)
def _remember_subject(row, context) -> None:
    subject_id = row.encryption_subject_id()
    if subject_id is not None:
        remember_loaded_subject(context.session, subject_id)


@event.listens_for(Session, "before_flush")
def _seal_before_flush(session, _context, _instances) -> None:
    for row in chain(session.new, session.dirty):
        if isinstance(row, EncryptedRow):
            seal_changes(row)


@event.listens_for(EncryptedRow, "before_insert", propagate=True)
@event.listens_for(EncryptedRow, "before_update", propagate=True)
def _seal_in_flush(_mapper, _connection, row) -> None:
    """A row that joined the session during the flush (a cascade) is sealed here."""
    seal_changes(row)


class EncryptedField:
    """One personal field of an `EncryptedRow`, read and written as text."""

    def __init__(self, index: str | None = None, normalise: Callable[[str], str] | None = None):
        self.index = index
        self.normalise = normalise or normalise_text

    def __set_name__(self, owner, name):
        self.name = name
        self.index_column = f"{name}_bidx"

    def __get__(self, row, owner=None):
        if row is None:
            return self
        return _values(row).get(self.name)

    def __set__(self, row, value):
        if row.tenant_id is None:
            row.tenant_id = require_tenant_id()
        fields = _values(row)
        empty = value is None or value == ""
        if empty:
            fields.pop(self.name, None)
        else:
            fields[self.name] = str(value)
        _mark_changed(row)
        if self.index:
            setattr(row, self.index_column, None if empty else
                    keyring().blind_index(row.tenant_id, self.index, self.normalise(str(value))))


def is_current(row) -> bool:
    """Whether the row's ciphertext already uses the row's newest key."""
    blob = row.ciphertext
    return blob is None or box.header_of(blob) == row.encryption_key()[:2]


def reencrypt(row) -> bool:
    """Write the row's fields again under its newest key (key rotation). True if it changed."""
    if is_current(row):
        return False
    _values(row)          # read with the key its header names
    _mark_changed(row)
    seal_changes(row)     # written with the newest
    return True


def encrypted_fields(model) -> list[EncryptedField]:
    found = {name: v for cls in reversed(model.__mro__) for name, v in vars(cls).items() if isinstance(v, EncryptedField)}
    return list(found.values())


def encrypted_models() -> list[type]:
    """Every mapped class with encrypted fields, found in the mapper registry."""
    found = {m.class_ for m in db.Model.registry.mappers if issubclass(m.class_, EncryptedRow)}
    return sorted(found, key=lambda cls: cls.__tablename__)


def subject_link(model):
    """The column that names the subject of a row of `model` (see `EncryptedRow`)."""
    name = model.__subject_link__ or ("subject_id" if "subject_id" in model.__table__.c else "id")
    return getattr(model, name)
