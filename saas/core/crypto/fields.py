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

from saas.core.crypto import aead as box
from saas.core.crypto.keyring import keyring
from saas.core.tenancy import require_tenant_id

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
    """Mixin: rows whose personal fields belong to one data subject (encrypted with its key)."""

    __encrypted__ = True

    def encryption_subject_id(self):
        """The subject whose key protects this row (a subject returns its own id); None means
        tenant-level data, protected by the tenant data key."""
        return self.subject_id

    def encryption_key(self, generation: int | None = None):
        """(kind, generation, cipher) for this row; `generation` picks an older tenant key to read."""
        subject_id = self.encryption_subject_id()
        if subject_id is None:
            version, cipher = keyring().tenant_aead(self.tenant_id, generation)
            return box.KIND_TENANT, version, cipher
        key_generation, cipher = keyring().subject_key(subject_id)
        return box.KIND_SUBJECT, key_generation, cipher


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
        return box.place(obj.tenant_id, obj.__tablename__, self.name, obj.id)

    def __get__(self, obj, owner=None):
        if obj is None:
            return self
        blob = getattr(obj, self.column)
        if blob is None:
            return None
        cache = obj.__dict__.setdefault("_saas_plain", {})
        hit = cache.get(self.name)
        if hit is not None and hit[0] is blob:
            return hit[1]
        kind, generation = box.header_of(blob)
        key_kind, key_generation, cipher = obj.encryption_key(generation if kind == box.KIND_TENANT else None)
        if (key_kind, key_generation) != (kind, generation):
            raise box.DecryptionError("value was written with another key")
        value = self.decode(box.open_(cipher, blob, self._aad(obj)))
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
        kind, generation, cipher = obj.encryption_key()
        blob = box.seal(cipher, kind, generation, self.encode(value), self._aad(obj))
        setattr(obj, self.column, blob)
        obj.__dict__.setdefault("_saas_plain", {})[self.name] = (blob, value)
        if self.index:
            normalised = self.normalise(str(value))
            setattr(obj, self.index_column, keyring().blind_index(obj.tenant_id, self.index, normalised))

    def reencrypt(self, obj, old_value) -> None:
        """Write the value again under the row's current key (used by key rotation)."""
        obj.__dict__.get("_saas_plain", {}).pop(self.name, None)
        self.__set__(obj, old_value)


def encrypted_fields(model) -> list[EncryptedField]:
    return [v for v in vars(model).values() if isinstance(v, EncryptedField)]
