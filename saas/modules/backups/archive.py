"""The backup file: one tenant's rows, compressed, encrypted with a key of its own, with a MAC.

Layout:  MAGIC (8) | header length (4, big endian) | header (JSON) | body | HMAC-SHA256 (32)
- header: the manifest (no personal data: tenant, time, schema revision, row counts per table, the erasure
  ledger's position) and the backup key wrapped by the active master key (AES-GCM, bound to tenant and
  backup id), so a copy of the file alone opens nothing;
- body: AES-256-GCM of the zlib-compressed MessagePack payload, the magic and header as associated data;
- MAC: HMAC-SHA256 over everything before it, with a key derived from the backup key: one flipped byte
  anywhere in the file fails verification before anything is decrypted.
Ciphertext columns stay ciphertext: personal fields are sealed with subject keys that never leave the key
store, so an erased person's fields in an old backup are unreadable for good.
"""
from __future__ import annotations

import base64
import hashlib
import hmac
import json
import os
import secrets
import struct
import uuid
import zlib
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path

import msgpack
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from saas.core.crypto import aead as box
from saas.core.crypto.masterkey import MasterKeyError, MasterKeyRing

MAGIC = b"SAASBKP1"
FORMAT = 1
SUFFIX = ".sbk"
_LENGTH = struct.Struct(">I")
MAC_LEN = 32
KEY_BYTES = 32
# MessagePack extension codes for the column values JSON-like types do not cover.
_UUID, _DATETIME, _DATE, _DECIMAL = 1, 2, 3, 4


class BackupError(RuntimeError):
    """The file is not a readable backup: altered, truncated, of another format, or its key cannot be opened."""


@dataclass(frozen=True)
class Opened:
    manifest: dict
    payload: dict      # {"tables": {name: {"columns": [...], "rows": [[...], ...]}}}


# --- values ------------------------------------------------------------------------------------------

def _default(value):
    if isinstance(value, uuid.UUID):
        return msgpack.ExtType(_UUID, value.bytes)
    if isinstance(value, datetime):
        return msgpack.ExtType(_DATETIME, value.isoformat().encode())
    if isinstance(value, date):
        return msgpack.ExtType(_DATE, value.isoformat().encode())
    if isinstance(value, Decimal):
        return msgpack.ExtType(_DECIMAL, str(value).encode())
    raise TypeError(f"cannot store a {type(value).__name__} in a backup")


def _ext_hook(code: int, data: bytes):
    if code == _UUID:
        return uuid.UUID(bytes=data)
    if code == _DATETIME:
        return datetime.fromisoformat(data.decode())
    if code == _DATE:
        return date.fromisoformat(data.decode())
    if code == _DECIMAL:
        return Decimal(data.decode())
    return msgpack.ExtType(code, data)


def pack_payload(payload: dict) -> bytes:
    return zlib.compress(msgpack.packb(payload, default=_default, use_bin_type=True), 6)


def unpack_payload(data: bytes) -> dict:
    return msgpack.unpackb(zlib.decompress(data), ext_hook=_ext_hook, raw=False, strict_map_key=False)


# --- keys ----------------------------------------------------------------------------------------------

def _derive(key: bytes, purpose: str) -> bytes:
    return HKDF(hashes.SHA256(), 32, salt=None, info=f"saas-backup|{purpose}".encode()).derive(key)


def _wrap_aad(tenant_id: int, backup_id: str) -> bytes:
    return f"backup-key|{tenant_id}|{backup_id}".encode()


def _unwrap(master: MasterKeyRing, header: dict) -> bytes:
    manifest, key = header["manifest"], header["key"]
    try:
        cipher = master.aead(key["master_key_id"])
    except MasterKeyError as exc:
        raise BackupError(f"the backup key is wrapped by master key {key['master_key_id']!r}, "
                          "which is not in the master key ring") from exc
    try:
        return box.unwrap(cipher, base64.b64decode(key["wrapped"]),
                          _wrap_aad(manifest["tenant_id"], manifest["backup_id"]))
    except box.DecryptionError as exc:
        raise BackupError("the backup key does not open with the master key (altered or another platform's)") from exc


# --- writing -------------------------------------------------------------------------------------------

def seal(master: MasterKeyRing, manifest: dict, payload: dict) -> bytes:
    """The whole file as bytes (a fresh key per backup, wrapped by the active master key)."""
    key = secrets.token_bytes(KEY_BYTES)
    nonce = os.urandom(12)
    header = {
        "format": FORMAT, "manifest": manifest, "nonce": base64.b64encode(nonce).decode(),
        "key": {"master_key_id": master.active_id, "wrapped": base64.b64encode(box.wrap(
            master.aead(master.active_id), key, _wrap_aad(manifest["tenant_id"], manifest["backup_id"]))).decode()},
    }
    header_bytes = json.dumps(header, sort_keys=True, separators=(",", ":")).encode()
    head = MAGIC + _LENGTH.pack(len(header_bytes)) + header_bytes
    body = AESGCM(_derive(key, "data")).encrypt(nonce, pack_payload(payload), head)
    mac = hmac.new(_derive(key, "mac"), head + body, hashlib.sha256).digest()
    return head + body + mac


def write_file(path: Path, data: bytes) -> None:
    """0600 from the start, atomic (a reader sees no half file), durable."""
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


# --- reading -------------------------------------------------------------------------------------------

def read_header(data: bytes) -> tuple[dict, int]:
    """(header, where the body starts); the header is readable without any key (list shows it)."""
    if len(data) < len(MAGIC) + _LENGTH.size + MAC_LEN or not data.startswith(MAGIC):
        raise BackupError("not a backup file of this platform (wrong magic or too short)")
    (length,) = _LENGTH.unpack_from(data, len(MAGIC))
    start = len(MAGIC) + _LENGTH.size
    if start + length + MAC_LEN > len(data):
        raise BackupError("the backup file is truncated")
    try:
        header = json.loads(data[start:start + length])
        header["manifest"]["tenant_id"], header["key"]["wrapped"]   # noqa: B018  (the fields must be there)
    except (ValueError, KeyError, TypeError) as exc:
        raise BackupError("the backup header is damaged") from exc
    if header.get("format") != FORMAT:
        raise BackupError(f"unknown backup format {header.get('format')!r}")
    return header, start + length


def manifest_of(path: Path) -> dict:
    with open(path, "rb") as fh:
        start = fh.read(len(MAGIC) + _LENGTH.size)
        if len(start) < len(MAGIC) + _LENGTH.size or not start.startswith(MAGIC):
            raise BackupError("not a backup file of this platform")
        (length,) = _LENGTH.unpack_from(start, len(MAGIC))
        header = json.loads(fh.read(length))
    return header["manifest"]


def open_(master: MasterKeyRing, data: bytes) -> Opened:
    """Check the MAC, then decrypt and unpack. Raises BackupError saying what is wrong."""
    header, body_start = read_header(data)
    key = _unwrap(master, header)
    head, body, mac = data[:body_start], data[body_start:-MAC_LEN], data[-MAC_LEN:]
    expected = hmac.new(_derive(key, "mac"), head + body, hashlib.sha256).digest()
    if not hmac.compare_digest(mac, expected):
        raise BackupError("the MAC does not match: the file was altered or damaged")
    try:
        packed = AESGCM(_derive(key, "data")).decrypt(base64.b64decode(header["nonce"]), body, head)
    except InvalidTag as exc:
        raise BackupError("the body does not decrypt") from exc
    try:
        payload = unpack_payload(packed)
    except (zlib.error, ValueError, msgpack.exceptions.ExtraData) as exc:
        raise BackupError("the payload does not unpack") from exc
    return Opened(header["manifest"], payload)
