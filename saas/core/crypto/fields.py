"""Encrypted model attributes.

    class DataSubject(EncryptedRow, TenantScoped, db.Model):
        email_enc = mapped_column(LargeBinary)
        email_bidx = mapped_column(LargeBinary(16), index=True)
        email = EncryptedField(index="email", normalise=normalise_email)

Reading `subject.email` decrypts `email_enc`; assigning encrypts it and refreshes the blind index.
"""
from __future__ import annotations

import json
from datetime import date
from typing import Callable

from sqlalchemy import event
from sqlalchemy.orm import Session
from sqlalchemy.orm.attributes import instance_state

from saas.core.crypto import aead as box
from saas.core.crypto.keyring import keyring, remember_loaded_subject, session_subject_key
from saas.core.tenancy import require_tenant_id
from saas.extensions import db

_CODECS: dict[str, tuple[Callable, Callable]] = {
    "text": (lambda v: str(v).encode(), lambda b: b.decode()),
    "date": (lambda v: v.isoformat().encode(), lambda b: date.fromisoformat(b.decode())),
    "json": (lambda v: json.dumps(v, separators=(",", ":")).encode(), lambda b: json.loads(b)),
}


def normalise_email(value: str) -> str:
    return value.strip().lower()


def normalise_text(value: str) -> str:
    return " ".join(value.split()).casefold()


def normalise_phone(value: str) -> str:
    digits = "".join(ch for ch in value if ch.isdigit())
    return "31" + digits[1:] if digits.startswith("0") else digits


class EncryptedRow:
    """Mixin: rows whose personal fields belong to one data subject (encrypted with its key).

    `__subject_link__` names the column that says whose data a row is; by default `subject_id`, or `id`
    for a table without that column (the subjects themselves). Key rotation finds rows through it.
    """

    __encrypted__ = True
    __subject_link__: str | None = None

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


# A row reads and writes all its fields with the same key: look it up once per row, not once per field
# (the look-up cost more than the AES). Forgotten when the row's key changes (rotation).
_WRITE_KEY = "_saas_write_key"
_READ_KEYS = "_saas_read_keys"


def _write_key(row):
    """(kind, generation, cipher, keyring) the row's values are written with."""
    found = row.__dict__.get(_WRITE_KEY)
    if found is None:
        found = row.__dict__[_WRITE_KEY] = (*row.encryption_key(), keyring())
    return found


def _read_cipher(row, blob: bytes):
    """The cipher for the key a stored value names in its header."""
    key_id = box.header_of(blob)
    ciphers = row.__dict__.get(_READ_KEYS)
    if ciphers is None:
        ciphers = row.__dict__[_READ_KEYS] = {}
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


class EncryptedField:
    def __init__(self, kind: str = "text", index: str | None = None, normalise: Callable[[str], str] | None = None):
        self.encode, self.decode = _CODECS[kind]
        self.index = index
        self.normalise = normalise or normalise_text

    def __set_name__(self, owner, name):
        self.name = name
        self.column = f"{name}_enc"
        self.index_column = f"{name}_bidx"

    def _aad(self, obj) -> bytes:
        # The row id as text is made once per row: formatting a UUID costs more than the decryption.
        row_id = obj.id
        cached = obj.__dict__.get("_saas_row_text")
        if cached is None or cached[0] is not row_id:
            cached = obj.__dict__["_saas_row_text"] = (row_id, str(row_id))
        return box.place(obj.tenant_id, obj.__tablename__, self.name, cached[1])

    def __get__(self, obj, owner=None):
        if obj is None:
            return self
        blob = getattr(obj, self.column)
        if blob is None:
            return None
        state = obj.__dict__
        cache = state.get("_saas_plain")
        if cache is None:
            cache = state["_saas_plain"] = {}
        else:
            hit = cache.get(self.name)
            if hit is not None and hit[0] is blob:
                return hit[1]
        value = self.decode(box.open_(_read_cipher(obj, blob), blob, self._aad(obj)))
        cache[self.name] = (blob, value)
        return value

    def __set__(self, obj, value):
        if obj.tenant_id is None:
            obj.tenant_id = require_tenant_id()
        if value is None or value == "":
            setattr(obj, self.column, None)
            if self.index:
                setattr(obj, self.index_column, None)
            return
        kind, generation, cipher, ring = _write_key(obj)
        blob = box.seal(cipher, kind, generation, self.encode(value), self._aad(obj))
        setattr(obj, self.column, blob)
        obj.__dict__.setdefault("_saas_plain", {})[self.name] = (blob, value)
        if self.index:
            normalised = self.normalise(str(value))
            setattr(obj, self.index_column, ring.blind_index(obj.tenant_id, self.index, normalised))

    def is_current(self, obj) -> bool:
        """Whether the stored value already uses the row's newest key."""
        blob = getattr(obj, self.column)
        if blob is None:
            return True
        kind, generation, _ = obj.encryption_key()
        return box.header_of(blob) == (kind, generation)

    def reencrypt(self, obj) -> bool:
        """Write the value again under the row's newest key (key rotation). True if it changed."""
        if self.is_current(obj):
            return False
        value = self.__get__(obj)
        obj.__dict__.get("_saas_plain", {}).pop(self.name, None)
        forget_keys(obj)
        self.__set__(obj, value)
        return True


def encrypted_fields(model) -> list[EncryptedField]:
    found = {name: v for cls in reversed(model.__mro__) for name, v in vars(cls).items() if isinstance(v, EncryptedField)}
    return list(found.values())


def encrypted_models() -> list[type]:
    """Every mapped class with encrypted fields, found in the mapper registry."""
    from saas.extensions import db

    found = {m.class_ for m in db.Model.registry.mappers if issubclass(m.class_, EncryptedRow)}
    return sorted(found, key=lambda cls: cls.__tablename__)


def subject_link(model):
    """The column that names the subject of a row of `model` (see `EncryptedRow`)."""
    name = model.__subject_link__ or ("subject_id" if "subject_id" in model.__table__.c else "id")
    return getattr(model, name)
