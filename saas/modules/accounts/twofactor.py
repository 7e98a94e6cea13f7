"""TOTP two-factor login (pyotp) and recovery codes. Callers commit.

The TOTP secret is platform-level user data (a user spans tenants), so it is wrapped by the master key,
like the platform CA key (saas.modules.seals.pki), with associated data naming the user: a value copied to
another user does not open. A master key rotation re-wraps it (`rewrap_secrets`).
Recovery codes carry 80 random bits; only their SHA-256 is stored, and each works once.
"""
from __future__ import annotations

import base64
import hashlib
import hmac
import secrets

import pyotp
import segno
import sqlalchemy as sa

from saas.core import clock
from saas.core.crypto import aead as box
from saas.core.crypto.keyring import keyring
from saas.extensions import db
from saas.modules.accounts.models import RecoveryCode, User

ISSUER = "AVG SaaS"
STEP_SECONDS = 30
RECOVERY_CODES = 10


def _aad(user: User) -> bytes:
    return f"user-totp|{user.id.hex}".encode()


def _store_secret(user: User, secret: str) -> None:
    ring = keyring().master
    user.totp_secret_wrapped = box.wrap(ring.aead(ring.active_id), secret.encode(), _aad(user))
    user.totp_master_key_id = ring.active_id


def _secret(user: User) -> str:
    raw = box.unwrap(keyring()._master_aead(user.totp_master_key_id), user.totp_secret_wrapped, _aad(user))
    return raw.decode()


def start_enrolment(user: User) -> str:
    """A new secret, kept (wrapped) on the user but not in force until a code confirms it. Returns the
    otpauth:// URI for the authenticator app."""
    if user.has_totp:
        raise ValueError("two-factor login is already on")
    secret = pyotp.random_base32()
    _store_secret(user, secret)
    user.totp_last_step = None
    return provisioning_uri(user)


def provisioning_uri(user: User) -> str:
    return pyotp.TOTP(_secret(user)).provisioning_uri(name=user.email, issuer_name=ISSUER)


def manual_key(user: User) -> str:
    """The secret in groups of four, for typing into an app without a camera."""
    secret = _secret(user)
    return " ".join(secret[i:i + 4] for i in range(0, len(secret), 4))


def qr_svg(uri: str) -> str:
    """The QR code as inline SVG, made on the server (no external service sees the secret)."""
    return segno.make(uri, error="m").svg_inline(scale=4, dark="#000", light="#fff")


def _clean(code: str) -> str:
    return "".join(ch for ch in (code or "") if ch.isalnum()).upper()


def verify_totp(user: User, code: str) -> bool:
    """A code of the current 30-second step or its neighbours, each step accepted once (no replay)."""
    code = _clean(code)
    if user.totp_secret_wrapped is None or not code.isdigit() or len(code) != 6:
        return False
    totp = pyotp.TOTP(_secret(user))
    step = int(clock.now().timestamp()) // STEP_SECONDS
    last = user.totp_last_step if user.totp_last_step is not None else -1
    for candidate in (step - 1, step, step + 1):
        if candidate > last and hmac.compare_digest(totp.generate_otp(candidate), code):
            user.totp_last_step = candidate
            return True
    return False


def current_code(user: User) -> str:
    """The code an authenticator app shows now (for tests and the CLI, never for a web page)."""
    return pyotp.TOTP(_secret(user)).generate_otp(int(clock.now().timestamp()) // STEP_SECONDS)


def confirm_enrolment(user: User, code: str) -> list[str] | None:
    """Turn two-factor login on when the code is right; returns the recovery codes (shown once)."""
    if user.has_totp or not verify_totp(user, code):
        return None
    user.totp_enabled_at = clock.now()
    return new_recovery_codes(user)


def disable(user: User) -> None:
    user.totp_secret_wrapped = user.totp_master_key_id = user.totp_enabled_at = user.totp_last_step = None
    db.session.execute(sa.delete(RecoveryCode).where(RecoveryCode.user_id == user.id))


# ---- recovery codes -----------------------------------------------------------------------------------

def _hash(code: str) -> str:
    return hashlib.sha256(_clean(code).encode()).hexdigest()


def new_recovery_codes(user: User) -> list[str]:
    """Replace the user's recovery codes with new ones; the old ones stop working."""
    db.session.execute(sa.delete(RecoveryCode).where(RecoveryCode.user_id == user.id))
    codes = []
    for _ in range(RECOVERY_CODES):
        raw = base64.b32encode(secrets.token_bytes(10)).decode()   # 16 characters, 80 bits
        codes.append("-".join(raw[i:i + 4] for i in range(0, 16, 4)))
        db.session.add(RecoveryCode(user_id=user.id, code_hash=_hash(raw)))
    db.session.flush()
    return codes


def use_recovery_code(user: User, code: str) -> bool:
    """Spend one recovery code. The conditional update makes two requests with the same code win once."""
    if len(_clean(code)) != 16:
        return False
    result = db.session.execute(
        sa.update(RecoveryCode)
        .where(RecoveryCode.user_id == user.id, RecoveryCode.code_hash == _hash(code), RecoveryCode.used_at.is_(None))
        .values(used_at=clock.now())
        .execution_options(synchronize_session=False)
    )
    return result.rowcount == 1


def verify_second_factor(user: User, code: str) -> str | None:
    """'totp' or 'recovery' for the factor that matched, None when neither did."""
    if verify_totp(user, code):
        return "totp"
    if use_recovery_code(user, code):
        return "recovery"
    return None


def rewrap_secrets() -> int:
    """Master key rotation: wrap every TOTP secret with the active master key. Returns how many changed."""
    active = keyring().master.active_id
    changed = 0
    for user in db.session.scalars(sa.select(User).where(User.totp_secret_wrapped.is_not(None),
                                                         User.totp_master_key_id != active)):
        _store_secret(user, _secret(user))
        changed += 1
    db.session.commit()
    return changed
