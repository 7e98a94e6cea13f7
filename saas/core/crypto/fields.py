"""Encrypted model attributes, sealed together: one AES-256-GCM value per row.

    class DataSubject(EncryptedRow, TenantScoped, db.Model):
        email_bidx = mapped_column(LargeBinary(16), index=True)
        email = EncryptedField(index="email", normalise=normalise_email)
        city = EncryptedField()

Every `EncryptedField` of a row lives in the row's `ciphertext` column: a JSON object of the fields that
have a value, encrypted with the row's key (the subject's, or the tenant's for rows of no one subject).
The associated data names tenant, table, column and row, so the value fails anywhere else; inside it each
value sits under its field name. Reading decrypts the row once; assigning changes the row's values and is
sealed once, at flush. One value per row instead of one per field: the Python around each AES call cost
more than the AES itself (bench/README.md). An indexed field also keeps a blind index (`<name>_bidx`).
"""
from __future__ import annotations

import json
from itertools import chain
from typing import Callable

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

_VALUES = "_saas_values"      # row.__dict__: the decrypted fields of the stored ciphertext
_WRITE_KEY = "_saas_write_key"
_READ_KEYS = "_saas_read_keys"
_UNLOADED = object()


class _Values:
    """The fields read from one stored ciphertext (None: a row without any), and whether they changed."""

    __slots__ = ("blob", "fields", "changed")

    def __init__(self, blob: bytes | None, fields: dict[str, str]):
        self.blob, self.fields, self.changed = blob, fields, False


def _values(row) -> _Values:
    """The row's fields, decrypted once per stored value. A reloaded or expired row (a rollback, another
    transaction's change) has a new stored value, so changes not yet flushed are dropped with it."""
    state = row.__dict__
    blob = state.get(COLUMN, _UNLOADED)
    if blob is _UNLOADED:   # not loaded yet, or expired: the attribute loads it (the common case skips that)
        blob = row.ciphertext
    found = state.get(_VALUES)
    if found is None or found.blob is not blob:
        found = state[_VALUES] = _Values(blob, {} if blob is None else _open(row, blob))
    return found


def _place(row) -> bytes:
    return box.place(row.tenant_id, row.__tablename__, COLUMN, row.id)


def _open(row, blob: bytes) -> dict[str, str]:
    return json.loads(box.open_(_read_cipher(row, blob), blob, _place(row)))


def seal_changes(row) -> None:
    """Encrypt the row's changed fields into its ciphertext: once per flush, not once per field."""
    found = row.__dict__.get(_VALUES)
    if found is None or not found.changed:
        return
    blob = None
    if found.fields:
        kind, generation, cipher, _ = _write_key(row)
        plaintext = json.dumps(found.fields, separators=(",", ":")).encode()
        blob = box.seal(cipher, kind, generation, plaintext, _place(row))
    row.ciphertext = blob
    row.__dict__[_VALUES] = _Values(blob, found.fields)


# A row reads and writes all its fields with the same key: look it up once per row (the look-up cost
# more than the AES). Forgotten when the row's key changes (rotation).

def _write_key(row):
    """(kind, generation, cipher, keyring) the row's values are written with."""
    found = row.__dict__.get(_WRITE_KEY)
    if found is None:
        found = row.__dict__[_WRITE_KEY] = (*row.encryption_key(), keyring())
    return found


def _read_cipher(row, blob: bytes):
    """The cipher for the key a stored value names in its header."""
    key_id = box.header_of(blob)
    ciphers = row.__dict__.setdefault(_READ_KEYS, {})
    cipher = ciphers.get(key_id)
    if cipher is None:
        cipher = ciphers[key_id] = row.decryption_key(*key_id)
    return cipher


def forget_keys(row) -> None:
    """After a key change: the next read or write looks the key up again."""
    row.__dict__.pop(_WRITE_KEY, None)
    row.__dict__.pop(_READ_KEYS, None)


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
        return _values(row).fields.get(self.name)

    def __set__(self, row, value):
        if row.tenant_id is None:
            row.tenant_id = require_tenant_id()
        found = _values(row)
        empty = value is None or value == ""
        if empty:
            found.fields.pop(self.name, None)
        else:
            found.fields[self.name] = str(value)
        if not found.changed:
            found.changed = True
            if instance_state(row).key is not None:   # a stored row: make the flush write it
                flag_modified(row, COLUMN)
        if self.index:
            ring = _write_key(row)[3]
            setattr(row, self.index_column,
                    None if empty else ring.blind_index(row.tenant_id, self.index, self.normalise(str(value))))


def is_current(row) -> bool:
    """Whether the row's ciphertext already uses the row's newest key."""
    blob = row.ciphertext
    return blob is None or box.header_of(blob) == tuple(row.encryption_key()[:2])


def reencrypt(row) -> bool:
    """Write the row's fields again under its newest key (key rotation). True if it changed."""
    if is_current(row):
        return False
    found = _values(row)
    forget_keys(row)
    found.changed = True
    seal_changes(row)
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
