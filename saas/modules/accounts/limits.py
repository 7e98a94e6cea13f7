"""Rate limits of the login-like forms (per IP; the lockout per account lives in operations)."""
from __future__ import annotations

from flask import current_app

DEFAULT_LOGIN_RATE_LIMIT = "10 per minute"


def login_rate_limit() -> str:
    return current_app.config.get("SAAS_LOGIN_RATE_LIMIT", DEFAULT_LOGIN_RATE_LIMIT)


def attempt_failed(response) -> bool:
    """Only failed attempts count against the per-IP limit: an office behind one address that typed a
    few wrong passwords still gets in with the right one."""
    return response.status_code >= 400
