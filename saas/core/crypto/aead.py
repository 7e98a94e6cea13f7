"""AES-256-GCM values with a key id header and associated data binding their place.

Layout: version(1) | key kind(1) | key generation(4, big endian) | nonce(12) | ciphertext+tag.
The associated data names tenant, table, column and row, so a ciphertext moved anywhere else fails.
"""
from __future__ import annotations

import os
import struct
import uuid

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

FORMAT_VERSION = 1
KIND_SUBJECT = ord("s")
KIND_TENANT = ord("t")
_HEADER = struct.Struct(">BBI")
HEADER_LEN = _HEADER.size + 12


class DecryptionError(RuntimeError):
    """The value cannot be read: wrong place, tampered, or its key was destroyed."""


def place(tenant_id: int, table: str, column: str, row_id: uuid.UUID) -> bytes:
    return f"{tenant_id}|{table}|{column}|{row_id.hex}".encode()   # .hex: a third of str()'s time


def header(kind: int, generation: int) -> bytes:
    """The first bytes of every value written with this key (lets SQL find values by key)."""
    return _HEADER.pack(FORMAT_VERSION, kind, generation)


def seal(aead: AESGCM, kind: int, generation: int, plaintext: bytes, aad: bytes) -> bytes:
    header = _HEADER.pack(FORMAT_VERSION, kind, generation)
    nonce = os.urandom(12)
    return header + nonce + aead.encrypt(nonce, plaintext, header + aad)


def header_of(blob: bytes) -> tuple[int, int]:
    """(key kind, key generation) of a stored value, to pick the key before decrypting."""
    version, kind, generation = _HEADER.unpack_from(blob)
    if version != FORMAT_VERSION:
        raise DecryptionError(f"unknown ciphertext format {version}")
    return kind, generation


def open_(aead: AESGCM, blob: bytes, aad: bytes) -> bytes:
    header, nonce, body = blob[: _HEADER.size], blob[_HEADER.size:HEADER_LEN], blob[HEADER_LEN:]
    try:
        return aead.decrypt(nonce, body, header + aad)
    except InvalidTag as exc:
        raise DecryptionError("ciphertext does not belong here or was altered") from exc


def wrap(aead: AESGCM, key: bytes, aad: bytes) -> bytes:
    nonce = os.urandom(12)
    return nonce + aead.encrypt(nonce, key, aad)


def unwrap(aead: AESGCM, wrapped: bytes, aad: bytes) -> bytes:
    try:
        return aead.decrypt(wrapped[:12], wrapped[12:], aad)
    except InvalidTag as exc:
        raise DecryptionError("wrapped key does not belong here or was altered") from exc
