"""Unwraps and caches keys.

Raw tenant keys are cached per process (a version's key never changes). Which version is active, and
the subject keys, are cached per session (one request or job), so a rotation or a destroyed key is
seen by the next request of every process. Keys are only handed out inside their own tenant.
"""
from __future__ import annotations

import functools
import hashlib
import hmac
import secrets
import uuid
from collections.abc import Callable

import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.orm import Session
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from flask import current_app

from saas.core import bulk, clock
from saas.core.crypto import aead as box
from saas.core.crypto import masterkey
from saas.core.crypto.masterkey import KEY_BYTES, MasterKeyError, MasterKeyRing
from saas.core.crypto.models import ShreddedSubject, SubjectKey, TenantKey
from saas.core.tenancy import current_tenant_id, sync_database_tenant
from saas.extensions import db

DATA, INDEX = "data", "index"
_PREFETCH_CHUNK = 2000   # ids per key query: fewer round trips, still far below SQLite's variable limit
_DESTROY_CHUNK = 5000
_SUBJECT_KEYS = "saas_subject_keys"        # session.info: tenant id -> subject id (.int) -> {generation: cipher}
_LOADED_SUBJECTS = "saas_loaded_subjects"  # session.info: subjects of rows loaded (.int -> id), fetched together
_PENDING_KEYS = "saas_pending_subject_keys"  # session.info: new key rows, written in one insert at flush
_ACTIVE_VERSIONS = "saas_active_tenant_keys"


class KeyMissing(box.DecryptionError):
    """The key was destroyed (erasure), retired, belongs to another tenant or never existed here."""


def tenant_key_aad(tenant_id: int, purpose: str, version: int) -> bytes:
    return f"tenant-key|{tenant_id}|{purpose}|{version}".encode()


def subject_key_aad(tenant_id: int, subject_hex: str, generation: int) -> bytes:
    """Binds a wrapped key to its tenant, subject (the id as 32 hex digits) and generation."""
    return f"subject-key|{tenant_id}|{subject_hex}|{generation}".encode()


def _check_tenant(tenant_id: int) -> None:
    """Fail closed: a cached key must not leak into another tenant's work."""
    if current_tenant_id() != tenant_id:
        raise KeyMissing("keys are used only inside their own tenant")


def remember_loaded_subject(session, subject_id) -> None:
    """Called for every encrypted row loaded: the first key needed fetches all of them at once."""
    loaded = session.info.get(_LOADED_SUBJECTS)
    if loaded is None:
        loaded = session.info[_LOADED_SUBJECTS] = {}
    loaded[subject_id.int] = subject_id


class Keyring:
    def __init__(self, master: MasterKeyRing | Callable[[], MasterKeyRing]):
        # A callable is called on first use: creating an app reads no key file and opens no database.
        self._master = master if isinstance(master, MasterKeyRing) else None
        self._load_master = None if isinstance(master, MasterKeyRing) else master
        self._tenant_keys: dict[tuple[int, str, int], bytes] = {}
        self._index_subkeys: dict[tuple[int, str], bytes] = {}
        self._index_hmacs: dict[tuple[int, str], hmac.HMAC] = {}
        self._tenant_aeads: dict[tuple[int, int], AESGCM] = {}

    # --- master key ------------------------------------------------------------------------
    @property
    def master(self) -> MasterKeyRing:
        if self._master is None:
            self._master = self._load_master()
        return self._master

    @master.setter
    def master(self, ring: MasterKeyRing) -> None:
        self._master = ring

    def _master_aead(self, key_id: str) -> AESGCM:
        ring = self.master  # outside the try: a ring that cannot be loaded at all says why itself
        try:
            return ring.aead(key_id)
        except MasterKeyError:
            self._reload_master_file()  # another process may have rotated the key file
            return self.master.aead(key_id)

    def _reload_master_file(self) -> None:
        settings = current_app.extensions["saas.settings"]
        if not settings.master_key:
            self.master = masterkey.load("", settings.master_key_file, create=False)

    def rewrap_tenant_key(self, row: TenantKey) -> bool:
        """Wrap a tenant key with the active master key (master key rotation). True if it changed."""
        active = self.master.active_id
        if row.wrapped is None or row.master_key_id == active:
            return False
        aad = tenant_key_aad(row.tenant_id, row.purpose, row.version)
        raw = box.unwrap(self._master_aead(row.master_key_id), row.wrapped, aad)
        row.wrapped, row.master_key_id = box.wrap(self.master.aead(active), raw, aad), active
        return True

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
        if row is None or row.wrapped is None:
            raise KeyMissing(f"tenant {tenant_id} has no {purpose} key {version or 'active'}")
        raw = box.unwrap(self._master_aead(row.master_key_id), row.wrapped,
                         tenant_key_aad(tenant_id, purpose, row.version))
        self._tenant_keys[(tenant_id, purpose, row.version)] = raw
        return row.version, raw

    def tenant_key(self, tenant_id: int, purpose: str = DATA, version: int | None = None) -> tuple[int, bytes]:
        _check_tenant(tenant_id)
        if version is None:
            active = db.session.info.setdefault(_ACTIVE_VERSIONS, {})
            version = active.get((tenant_id, purpose))
            if version is None:
                version, raw = self._load_tenant_key(tenant_id, purpose, None)
                active[(tenant_id, purpose)] = version
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
        """After a rotation: the next use in this session reads which version is active again."""
        active = db.session.info.get(_ACTIVE_VERSIONS, {})
        for purpose in (DATA, INDEX):
            active.pop((tenant_id, purpose), None)

    def index_key(self, tenant_id: int, field: str) -> bytes:
        """A blind-index key per tenant and field, derived from the tenant's own index key."""
        _check_tenant(tenant_id)
        cached = self._index_subkeys.get((tenant_id, field))
        if cached is None:
            _, raw = self.tenant_key(tenant_id, INDEX)
            cached = HKDF(hashes.SHA256(), 32, salt=None, info=f"bidx|{field}".encode()).derive(raw)
            self._index_subkeys[(tenant_id, field)] = cached
        return cached

    def blind_index(self, tenant_id: int, field: str, normalised: str) -> bytes:
        _check_tenant(tenant_id)
        keyed = self._index_hmacs.get((tenant_id, field))
        if keyed is None:
            keyed = self._index_hmacs[(tenant_id, field)] = hmac.new(self.index_key(tenant_id, field), digestmod=hashlib.sha256)
        mac = keyed.copy()   # the keyed state is computed once; a copy costs less than a new HMAC
        mac.update(normalised.encode())
        return mac.digest()[:16]

    # --- subject keys ------------------------------------------------------------------------
    def _subject_cache(self, tenant_id: int) -> dict:
        """subject id -> {generation: cipher} of one tenant: a key is only ever found in its own tenant.
        Keyed by the id's integer: hashing a UUID runs Python code, an int's does not, and neither the
        ints nor the dicts of ciphers are objects the garbage collector walks, however many subjects a
        list or a sweep loads."""
        return db.session.info.setdefault(_SUBJECT_KEYS, {}).setdefault(tenant_id, {})

    def _forget_subjects(self, subject_ids) -> None:
        for cache in db.session.info.get(_SUBJECT_KEYS, _NONE).values():
            for subject_id in subject_ids:
                cache.pop(subject_id.int, None)

    def new_subject_key(self, tenant_id: int, subject_id: uuid.UUID, generation: int = 1) -> tuple[int, AESGCM]:
        """A fresh key for a new subject (generation 1) or the next generation during a rotation."""
        cache = self._subject_cache(tenant_id)
        if generation > 1 and subject_id.int not in cache:
            self.prefetch([subject_id])  # the older generation must stay readable
        version, tenant_cipher = self.tenant_aead(tenant_id)
        raw = secrets.token_bytes(KEY_BYTES)
        # A plain row, inserted with the others of this flush in one statement: an ORM object per new
        # subject in a second database cost more than encrypting all of its fields.
        db.session.info.setdefault(_PENDING_KEYS, []).append({
            "tenant_id": tenant_id, "subject_id": subject_id, "generation": generation,
            "tenant_key_version": version, "created_at": clock.now(),
            "wrapped": box.wrap(tenant_cipher, raw, subject_key_aad(tenant_id, subject_id.hex, generation)),
        })
        cipher = AESGCM(raw)
        if generation == 1:
            cache[subject_id.int] = {generation: cipher}
        else:
            cache.setdefault(subject_id.int, {})[generation] = cipher
        return generation, cipher

    def _unwrapper(self):
        """Unwraps subject key rows; the tenant key each names is looked up once per call, not per row."""
        @functools.cache
        def tenant_cipher(tenant_id: int, version: int) -> AESGCM:
            return self.tenant_aead(tenant_id, version)[1]

        def unwrap(tenant_id: int, subject_hex: str, generation: int, tenant_key_version: int, wrapped: bytes):
            aad = subject_key_aad(tenant_id, subject_hex, generation)
            return AESGCM(box.unwrap(tenant_cipher(tenant_id, tenant_key_version), wrapped, aad))
        return unwrap

    def prefetch(self, subject_ids) -> None:
        """Load many subject keys in one query per chunk (list pages, exports, sweeps)."""
        cache = db.session.info.get(_SUBJECT_KEYS, _NONE).get(current_tenant_id(), _NONE)
        missing = list({sid.int: sid for sid in subject_ids if sid.int not in cache}.values())
        if missing:
            write_pending_keys(db.session)
        unwrap = self._unwrapper()
        caches: dict[int, dict] = {}   # tenant id -> its cache, looked up once (not per row)
        for start in range(0, len(missing), _PREFETCH_CHUNK):
            chunk = missing[start:start + _PREFETCH_CHUNK]
            # Plain rows, not ORM objects: a list of thousands of subjects would otherwise double the
            # objects the session tracks (and the time spent building them).
            query = sa.select(*_KEY_COLUMNS).where(bulk.id_in(SubjectKey.subject_id, chunk))
            for subject_text, tenant_id, generation, version, wrapped in db.session.execute(query):
                tenant_cache = caches.get(tenant_id)
                if tenant_cache is None:
                    tenant_cache = caches[tenant_id] = self._subject_cache(tenant_id)
                subject_hex = subject_text.replace("-", "")
                tenant_cache.setdefault(int(subject_hex, 16), {})[generation] = unwrap(
                    tenant_id, subject_hex, generation, version, wrapped)

    def missing_keys(self, subject_ids) -> set[uuid.UUID]:
        """The ids among these (of the current tenant) that have no key: their data cannot be read any more
        (crypto-shredded, whether or not the erasure ledger says so). Fetches the keys of the others."""
        ids = list(subject_ids)
        self.prefetch(ids)
        cache = self._subject_cache(current_tenant_id())
        return {subject_id for subject_id in ids if not cache.get(subject_id.int)}

    def subject_key(self, tenant_id: int, subject_id: uuid.UUID, generation: int | None = None) -> tuple[int, AESGCM]:
        """(generation, cipher): the newest generation to write, or the one a stored value names."""
        _check_tenant(tenant_id)
        cache = self._subject_cache(tenant_id)
        keys = cache.get(subject_id.int)
        if keys is None:
            self.prefetch([subject_id, *db.session.info.pop(_LOADED_SUBJECTS, _NONE).values()])
            keys = cache.get(subject_id.int)
        if not keys:
            raise KeyMissing("this subject's key was destroyed")
        generation = max(keys) if generation is None else generation
        if generation not in keys:
            raise KeyMissing(f"generation {generation} of this subject's key is gone")
        return generation, keys[generation]

    def rotate_subject_keys(self, tenant_id: int, subject_ids, version: int) -> int:
        """Give each subject a key generation wrapped by tenant key `version` (the active one), keeping
        the older generation until the data has moved. A resumed run reuses what it made before."""
        ids = list(subject_ids)
        write_pending_keys(db.session)
        found: dict = {}
        newest: dict = {}
        unwrap = self._unwrapper()
        for row in db.session.scalars(sa.select(SubjectKey).where(SubjectKey.subject_id.in_(ids))):
            found.setdefault(row.subject_id.int, {})[row.generation] = unwrap(
                row.tenant_id, row.subject_id.hex, row.generation, row.tenant_key_version, row.wrapped)
            if row.subject_id not in newest or row.generation > newest[row.subject_id].generation:
                newest[row.subject_id] = row
        self._subject_cache(tenant_id).update(found)
        added = 0
        for subject_id, row in newest.items():
            if row.tenant_key_version != version:
                self.new_subject_key(tenant_id, subject_id, row.generation + 1)
                added += 1
        return added

    def drop_old_subject_keys(self, subject_ids, version: int) -> None:
        """After the data moved: the generations wrapped by older tenant keys go."""
        ids = list(subject_ids)
        write_pending_keys(db.session)
        db.session.execute(sa.delete(SubjectKey).where(
            SubjectKey.subject_id.in_(ids), SubjectKey.tenant_key_version < version,
        ))
        self._forget_subjects(ids)

    def destroy_subject_key(self, tenant_id: int, subject_id: uuid.UUID, reason: str) -> None:
        """Crypto-shredding: the key goes, a ledger line stays (ids only)."""
        write_pending_keys(db.session)
        db.session.execute(sa.delete(SubjectKey).where(SubjectKey.subject_id == subject_id))
        if db.session.get(ShreddedSubject, subject_id) is None:
            db.session.add(ShreddedSubject(tenant_id=tenant_id, subject_id=subject_id, reason=reason))
        self._subject_cache(tenant_id).pop(subject_id.int, None)

    def destroy_subject_keys(self, tenant_id: int, subject_ids, reason: str) -> None:
        """`destroy_subject_key` for many subjects at once (a retention sweep's purges): a statement per
        chunk instead of per subject. Idempotent: a subject already in the ledger keeps its first line."""
        ids = list(dict.fromkeys(subject_ids))
        write_pending_keys(db.session)
        cache = self._subject_cache(tenant_id)
        for start in range(0, len(ids), _DESTROY_CHUNK):
            chunk = ids[start:start + _DESTROY_CHUNK]
            db.session.execute(sa.delete(SubjectKey).where(bulk.id_in(SubjectKey.subject_id, chunk))
                               .execution_options(synchronize_session=False))
            now = clock.now()
            bulk.insert_rows(ShreddedSubject, [
                {"tenant_id": tenant_id, "subject_id": subject_id, "reason": reason, "shredded_at": now}
                for subject_id in chunk], skip_existing=True)
            for subject_id in chunk:
                cache.pop(subject_id.int, None)


_NONE: dict = {}
# The subject id comes back as text (32 hex digits on SQLite, with dashes on PostgreSQL), not as a UUID:
# making a UUID object per key row cost more than unwrapping the key. The cache wants the id's integer,
# the associated data its hex.
_KEY_COLUMNS = (sa.cast(SubjectKey.subject_id, sa.String), SubjectKey.tenant_id, SubjectKey.generation,
                SubjectKey.tenant_key_version, SubjectKey.wrapped)


def session_subject_key(session, tenant_id: int, subject_id, generation: int | None = None) -> tuple[int, AESGCM]:
    """`Keyring.subject_key` for a key the session already holds, without the app and scoped-session
    look-ups: a list reads several fields of every row, and those look-ups cost more than the decryption.
    Same cache, same checks; anything else (a miss, a destroyed or foreign key) takes the full path."""
    keys = session.info.get(_SUBJECT_KEYS, _NONE).get(tenant_id, _NONE).get(subject_id.int)
    if keys:
        generation = max(keys) if generation is None else generation
        cipher = keys.get(generation)
        if cipher is not None:
            _check_tenant(tenant_id)
            return generation, cipher
    return keyring().subject_key(tenant_id, subject_id, generation)


def write_pending_keys(session, *_args) -> None:
    """Insert the key rows made since the last flush, all in one statement (before flush and commit)."""
    rows = session.info.pop(_PENDING_KEYS, None)
    if rows:
        connection = session.connection(bind_arguments={"mapper": SubjectKey.__mapper__})
        sync_database_tenant(connection)   # PostgreSQL checks the rows against the tenant (RLS)
        bulk.insert_rows(SubjectKey, rows, connection=connection)   # one statement on PostgreSQL


def _drop_pending_keys(session, transaction) -> None:
    """Keys made in a transaction that did not commit belong to rows that were never written."""
    if transaction.parent is None:
        session.info.pop(_PENDING_KEYS, None)


def install(session_class=Session) -> None:
    if not event.contains(session_class, "before_flush", write_pending_keys):
        event.listen(session_class, "before_flush", write_pending_keys)
        event.listen(session_class, "before_commit", write_pending_keys)
        event.listen(session_class, "after_transaction_end", _drop_pending_keys)


def keyring() -> Keyring:
    return current_app.extensions["saas.keyring"]
