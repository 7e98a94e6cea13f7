"""Unwraps and caches keys. Tenant keys are cached per process; subject keys per session,
so a destroyed key is gone at the next transaction of every process."""
from __future__ import annotations

import hashlib
import hmac
import secrets
import uuid

import sqlalchemy as sa
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from flask import current_app

from saas.core.crypto import aead as box
from saas.core.crypto.masterkey import KEY_BYTES, MasterKeyRing
from saas.core.crypto.models import ShreddedSubject, SubjectKey, TenantKey
from saas.extensions import db

DATA, INDEX = "data", "index"
_PREFETCH_CHUNK = 500


class KeyMissing(box.DecryptionError):
    """The key was destroyed (erasure) or never existed here."""


def tenant_key_aad(tenant_id: int, purpose: str, version: int) -> bytes:
    return f"tenant-key|{tenant_id}|{purpose}|{version}".encode()


def subject_key_aad(tenant_id: int, subject_id) -> bytes:
    return f"subject-key|{tenant_id}|{subject_id}".encode()


class Keyring:
    def __init__(self, master: MasterKeyRing):
        self.master = master
        self._tenant_keys: dict[tuple[int, str, int], bytes] = {}
        self._active_version: dict[tuple[int, str], int] = {}
        self._index_subkeys: dict[tuple[int, str], bytes] = {}
        self._tenant_aeads: dict[tuple[int, int], AESGCM] = {}

    # --- tenant keys -------------------------------------------------------------------------
    def create_tenant_keys(self, tenant_id: int) -> None:
        """Give a new tenant its data key and blind-index key (idempotent; run as that tenant)."""
        for purpose in (DATA, INDEX):
            exists = db.session.scalar(
                sa.select(TenantKey.version).where(TenantKey.tenant_id == tenant_id, TenantKey.purpose == purpose)
            )
            if exists is None:
                self.add_tenant_key(tenant_id, purpose, version=1, state="active")

    def add_tenant_key(self, tenant_id: int, purpose: str, version: int, state: str) -> TenantKey:
        raw = secrets.token_bytes(KEY_BYTES)
        mk = self.master.active_id
        row = TenantKey(
            tenant_id=tenant_id, purpose=purpose, version=version, state=state, master_key_id=mk,
            wrapped=box.wrap(self.master.aead(mk), raw, tenant_key_aad(tenant_id, purpose, version)),
        )
        db.session.add(row)
        self._tenant_keys[(tenant_id, purpose, version)] = raw
        return row

    def _load_tenant_key(self, tenant_id: int, purpose: str, version: int | None) -> tuple[int, bytes]:
        query = sa.select(TenantKey).where(TenantKey.tenant_id == tenant_id, TenantKey.purpose == purpose)
        if version is None:
            query = query.where(TenantKey.state == "active")
        else:
            query = query.where(TenantKey.version == version)
        row = db.session.scalar(query.order_by(TenantKey.version.desc()).limit(1))
        if row is None:
            raise KeyMissing(f"tenant {tenant_id} has no {purpose} key {version or 'active'}")
        raw = box.unwrap(self.master.aead(row.master_key_id), row.wrapped,
                         tenant_key_aad(tenant_id, purpose, row.version))
        self._tenant_keys[(tenant_id, purpose, row.version)] = raw
        return row.version, raw

    def tenant_key(self, tenant_id: int, purpose: str = DATA, version: int | None = None) -> tuple[int, bytes]:
        if version is None:
            version = self._active_version.get((tenant_id, purpose))
            if version is None:
                version, raw = self._load_tenant_key(tenant_id, purpose, None)
                self._active_version[(tenant_id, purpose)] = version
                return version, raw
        raw = self._tenant_keys.get((tenant_id, purpose, version))
        if raw is None:
            version, raw = self._load_tenant_key(tenant_id, purpose, version)
        return version, raw

    def tenant_aead(self, tenant_id: int, version: int | None = None) -> tuple[int, AESGCM]:
        """The tenant data key as a cipher, for tenant-level data that belongs to no one subject."""
        version, raw = self.tenant_key(tenant_id, DATA, version)
        cipher = self._tenant_aeads.get((tenant_id, version))
        if cipher is None:
            cipher = self._tenant_aeads[(tenant_id, version)] = AESGCM(raw)
        return version, cipher

    def forget_active(self, tenant_id: int) -> None:
        """After a rotation: the next use reads which version is active again."""
        for purpose in (DATA, INDEX):
            self._active_version.pop((tenant_id, purpose), None)

    def index_key(self, tenant_id: int, field: str) -> bytes:
        """A blind-index key per tenant and field, derived from the tenant's own index key."""
        cached = self._index_subkeys.get((tenant_id, field))
        if cached is None:
            _, raw = self.tenant_key(tenant_id, INDEX)
            cached = HKDF(hashes.SHA256(), 32, salt=None, info=f"bidx|{field}".encode()).derive(raw)
            self._index_subkeys[(tenant_id, field)] = cached
        return cached

    def blind_index(self, tenant_id: int, field: str, normalised: str) -> bytes:
        return hmac.new(self.index_key(tenant_id, field), normalised.encode(), hashlib.sha256).digest()[:16]

    # --- subject keys ------------------------------------------------------------------------
    def _session_cache(self) -> dict:
        return db.session.info.setdefault("saas_subject_keys", {})

    def new_subject_key(self, tenant_id: int, subject_id: uuid.UUID, generation: int = 1) -> tuple[int, AESGCM]:
        version, tkey = self.tenant_key(tenant_id, DATA)
        raw = secrets.token_bytes(KEY_BYTES)
        wrapped = box.wrap(AESGCM(tkey), raw, subject_key_aad(tenant_id, subject_id))
        existing = db.session.get(SubjectKey, subject_id)
        if existing is None:
            db.session.add(SubjectKey(tenant_id=tenant_id, subject_id=subject_id, generation=generation,
                                      tenant_key_version=version, wrapped=wrapped))
        else:
            existing.generation, existing.tenant_key_version, existing.wrapped = generation, version, wrapped
        entry = (generation, AESGCM(raw))
        self._session_cache()[subject_id] = entry
        return entry

    def _unwrap_subject(self, row: SubjectKey) -> tuple[int, AESGCM]:
        _, tkey = self.tenant_key(row.tenant_id, DATA, row.tenant_key_version)
        raw = box.unwrap(AESGCM(tkey), row.wrapped, subject_key_aad(row.tenant_id, row.subject_id))
        return row.generation, AESGCM(raw)

    def prefetch(self, subject_ids) -> None:
        """Load many subject keys in one query per chunk (list pages, exports, sweeps)."""
        cache = self._session_cache()
        missing = [sid for sid in subject_ids if sid not in cache]
        for start in range(0, len(missing), _PREFETCH_CHUNK):
            chunk = missing[start:start + _PREFETCH_CHUNK]
            for row in db.session.scalars(sa.select(SubjectKey).where(SubjectKey.subject_id.in_(chunk))):
                cache[row.subject_id] = self._unwrap_subject(row)

    def subject_key(self, subject_id: uuid.UUID, siblings=()) -> tuple[int, AESGCM]:
        cache = self._session_cache()
        entry = cache.get(subject_id)
        if entry is None:
            self.prefetch([subject_id, *siblings])
            entry = cache.get(subject_id)
        if entry is None:
            raise KeyMissing("this subject's key was destroyed")
        return entry

    def destroy_subject_key(self, tenant_id: int, subject_id: uuid.UUID, reason: str) -> None:
        """Crypto-shredding: the key goes, a ledger line stays (ids only)."""
        db.session.execute(sa.delete(SubjectKey).where(SubjectKey.subject_id == subject_id))
        if db.session.get(ShreddedSubject, subject_id) is None:
            db.session.add(ShreddedSubject(tenant_id=tenant_id, subject_id=subject_id, reason=reason))
        self._session_cache().pop(subject_id, None)


def keyring() -> Keyring:
    return current_app.extensions["saas.keyring"]
