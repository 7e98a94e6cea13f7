"""The master key ring (KEK): from the environment in production, a 0600 key file on a laptop.

Format, both places: `id:base64key[,id:base64key...]`; the first entry is the active key and the
others stay readable during a rotation.
"""
from __future__ import annotations

import base64
import os
import secrets
from dataclasses import dataclass
from pathlib import Path

from cryptography.hazmat.primitives.ciphers.aead import AESGCM

KEY_BYTES = 32


class MasterKeyError(RuntimeError):
    pass


@dataclass(frozen=True)
class MasterKeyRing:
    keys: tuple[tuple[str, bytes], ...]  # (id, key), active first

    @property
    def active_id(self) -> str:
        return self.keys[0][0]

    def aead(self, key_id: str) -> AESGCM:
        for kid, key in self.keys:
            if kid == key_id:
                return AESGCM(key)
        raise MasterKeyError(f"master key {key_id!r} is not in the key ring")

    def serialise(self) -> str:
        return ",".join(f"{kid}:{base64.b64encode(key).decode()}" for kid, key in self.keys)

    def with_new_active(self) -> "MasterKeyRing":
        return MasterKeyRing(((new_key_id(), secrets.token_bytes(KEY_BYTES)),) + self.keys)

    def only_active(self) -> "MasterKeyRing":
        return MasterKeyRing(self.keys[:1])


def new_key_id() -> str:
    return "mk-" + secrets.token_hex(4)


def parse(text: str) -> MasterKeyRing:
    entries = []
    for part in text.strip().split(","):
        kid, sep, b64 = part.strip().partition(":")
        if not sep:
            raise MasterKeyError("master key entries look like id:base64key")
        key = base64.b64decode(b64)
        if len(key) != KEY_BYTES:
            raise MasterKeyError(f"master key {kid!r} must be {KEY_BYTES} bytes")
        entries.append((kid, key))
    if not entries:
        raise MasterKeyError("the master key ring is empty")
    return MasterKeyRing(tuple(entries))


def generate() -> MasterKeyRing:
    return MasterKeyRing(((new_key_id(), secrets.token_bytes(KEY_BYTES)),))


def write_file(path: Path, ring: MasterKeyRing) -> None:
    """Write atomically with 0600 permissions from the start (never world-readable, not even briefly),
    and durably: keys wrapped by a new master key must never outlive the file that holds it."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as fh:
        fh.write(ring.serialise() + "\n")
        fh.flush()
        os.fsync(fh.fileno())
    os.chmod(tmp, 0o600)
    os.replace(tmp, path)
    _fsync_dir(path.parent)


def create_file(path: Path, ring: MasterKeyRing) -> MasterKeyRing:
    """Write a new key file unless another process made one first; returns the ring on disk. The file
    appears whole (hard link of a finished 0600 file) and never replaces one: the first writer wins."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f"{path.name}.{os.getpid()}.new")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(fd, "w") as fh:
            fh.write(ring.serialise() + "\n")
            fh.flush()
            os.fsync(fh.fileno())
        os.link(tmp, path)
    except FileExistsError:
        pass
    finally:
        tmp.unlink(missing_ok=True)
    _fsync_dir(path.parent)
    return parse(path.read_text())


def _fsync_dir(folder: Path) -> None:
    fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def load(env_value: str, file_path: str, create: bool) -> MasterKeyRing:
    if env_value:
        return parse(env_value)
    path = Path(file_path)
    if not path.exists():
        if not create:
            raise MasterKeyError(f"no master key: {path} does not exist")
        write_file(path, generate())
    return parse(path.read_text())
