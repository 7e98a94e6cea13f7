"""Settings from the environment: embedded defaults for a laptop, strict ones in production."""
from __future__ import annotations

import os
from dataclasses import dataclass, field, fields
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

DEMO_SECRET_KEY = "demo-secret-key-not-for-production"


class ConfigError(RuntimeError):
    """Raised when the configuration is unsafe for the chosen mode."""


PROJECT_ROOT = Path(__file__).resolve().parent.parent


def default_instance_path() -> Path:
    """Where a laptop keeps its databases, master key, Redis and files when SAAS_INSTANCE_PATH is unset.

    Never the current directory: a command run from elsewhere must find the same data, not start a new
    instance with a new master key. A source checkout (editable install) keeps it in `<checkout>/instance`;
    an installed package in the user's data folder (`$XDG_DATA_HOME/saas`, else `~/.local/share/saas`).
    """
    if (PROJECT_ROOT / "pyproject.toml").is_file() and (PROJECT_ROOT / "saas").is_dir():
        return PROJECT_ROOT / "instance"
    data_home = os.environ.get("XDG_DATA_HOME") or Path.home() / ".local" / "share"
    return Path(data_home) / "saas"


def _instance_path() -> Path:
    configured = os.environ.get("SAAS_INSTANCE_PATH")
    return (Path(configured).expanduser() if configured else default_instance_path()).resolve()


def _sqlite_url(path: Path) -> str:
    return f"sqlite:///{path}"


_SECRETS = ("secret_key", "master_key")
_URLS = ("database_url", "database_owner_url", "keys_database_url", "keys_database_owner_url", "redis_url", "smtp_url")


def _hide_password(url: str) -> str:
    parts = urlsplit(url)
    if parts.password is None:
        return url
    host = parts.netloc.rpartition("@")[2]
    return urlunsplit(parts._replace(netloc=f"{parts.username or ''}:***@{host}"))


@dataclass(repr=False)
class Settings:
    env: str = "development"
    instance_path: Path = field(default_factory=_instance_path)
    secret_key: str = DEMO_SECRET_KEY
    database_url: str = ""
    database_owner_url: str = ""
    keys_database_url: str = ""
    keys_database_owner_url: str = ""
    redis_url: str = ""
    master_key: str = ""
    master_key_file: str = ""
    storage_path: str = ""
    smtp_url: str = ""
    mail_from: str = "noreply@saas.local"
    # The mail relay (saas.modules.outbox.relay): a temporary failure is tried again after 1, 2, 4 ... minutes,
    # at most this far apart, until this many hours after the mail was queued; then it fails for good.
    mail_retry_first_seconds: int = 60
    mail_retry_max_seconds: int = 3600
    mail_give_up_hours: float = 48
    # How long a claimed mail ("sending") belongs to its relay; after that it is sent again (a crash mid-send).
    mail_lease_seconds: int = 120
    tenants_dir: str = ""
    # Where people reach the portal: links in mails sent by jobs (no request to take the host from).
    base_url: str = "http://127.0.0.1:5000"
    # Reverse proxies in front of the app whose X-Forwarded-For/-Proto to trust (signing events keep the IP).
    proxy_hops: int = 0
    app_role: str = "saas_app"
    # Retention sweeps: records per batch (0: the built-in size), and the heartbeat of a running run: how
    # often it beats and after how many seconds without one its worker counts as gone (resumed).
    sweep_batch_size: int = 0
    sweep_heartbeat_seconds: float = 20
    sweep_stale_seconds: float = 60
    argon2_time_cost: int = 3
    argon2_memory_cost: int = 65536
    testing: bool = False

    @classmethod
    def from_env(cls, **overrides) -> "Settings":
        env = os.environ
        s = cls(
            env=env.get("SAAS_ENV", "development"),
            secret_key=env.get("SECRET_KEY", DEMO_SECRET_KEY),
            database_url=env.get("DATABASE_URL", ""),
            database_owner_url=env.get("DATABASE_OWNER_URL", ""),
            keys_database_url=env.get("KEYS_DATABASE_URL", ""),
            keys_database_owner_url=env.get("KEYS_DATABASE_OWNER_URL", ""),
            redis_url=env.get("REDIS_URL", ""),
            master_key=env.get("SAAS_MASTER_KEY", ""),
            master_key_file=env.get("SAAS_MASTER_KEY_FILE", ""),
            storage_path=env.get("SAAS_STORAGE_PATH", ""),
            smtp_url=env.get("SMTP_URL", ""),
            mail_from=env.get("MAIL_FROM", "noreply@saas.local"),
            mail_retry_first_seconds=int(env.get("SAAS_MAIL_RETRY_FIRST_SECONDS", "60")),
            mail_retry_max_seconds=int(env.get("SAAS_MAIL_RETRY_MAX_SECONDS", "3600")),
            mail_give_up_hours=float(env.get("SAAS_MAIL_GIVE_UP_HOURS", "48")),
            mail_lease_seconds=int(env.get("SAAS_MAIL_LEASE_SECONDS", "120")),
            tenants_dir=env.get("SAAS_TENANTS_DIR", ""),
            base_url=env.get("SAAS_BASE_URL", "http://127.0.0.1:5000").rstrip("/"),
            proxy_hops=int(env.get("SAAS_PROXY_HOPS", "0")),
            app_role=env.get("SAAS_APP_ROLE", "saas_app"),
            sweep_batch_size=int(env.get("SAAS_SWEEP_BATCH_SIZE", "0")),
            sweep_heartbeat_seconds=float(env.get("SAAS_SWEEP_HEARTBEAT_SECONDS", "20")),
            sweep_stale_seconds=float(env.get("SAAS_SWEEP_STALE_SECONDS", "60")),
        )
        for key, value in overrides.items():
            setattr(s, key, value)
        s.fill_defaults()
        return s

    def __repr__(self) -> str:
        """Safe to log: secrets and URL passwords are masked."""
        shown = []
        for f in fields(self):
            value = getattr(self, f.name)
            if f.name in _SECRETS:
                value = "***" if value else ""
            elif f.name in _URLS:
                value = _hide_password(value)
            shown.append(f"{f.name}={value!r}")
        return f"Settings({', '.join(shown)})"

    @property
    def production(self) -> bool:
        return self.env == "production"

    def fill_defaults(self) -> None:
        """Embedded defaults: everything under instance/ so a laptop needs no services."""
        inst = self.instance_path
        if not self.database_url:
            self.database_url = _sqlite_url(inst / "saas.db")
        if not self.keys_database_url:
            self.keys_database_url = _derive_keys_url(self.database_url, inst)
        self.database_owner_url = self.database_owner_url or self.database_url
        self.keys_database_owner_url = self.keys_database_owner_url or self.keys_database_url
        if not self.master_key and not self.master_key_file:
            self.master_key_file = str(inst / "master.key")
        self.storage_path = self.storage_path or str(inst / "storage")
        self.tenants_dir = self.tenants_dir or str(PROJECT_ROOT / "tenants")

    def check_production(self) -> None:
        """Production refuses to start with demo secrets or embedded services."""
        if not self.production:
            return
        problems = []
        if self.secret_key == DEMO_SECRET_KEY:
            problems.append("SECRET_KEY is the demo key")
        if not self.master_key:
            problems.append("SAAS_MASTER_KEY must come from the environment")
        if not self.database_url.startswith("postgresql"):
            problems.append("DATABASE_URL must be a PostgreSQL URL")
        if not self.redis_url:
            problems.append("REDIS_URL must be set (no embedded Redis in production)")
        if not self.smtp_url:
            problems.append("SMTP_URL must be set")
        if not self.base_url.startswith("https://"):
            problems.append("SAAS_BASE_URL must be the https:// address of the portal")
        if problems:
            raise ConfigError("refusing to start in production: " + "; ".join(problems))

    def flask_config(self) -> dict:
        return {
            "SECRET_KEY": self.secret_key,
            "SQLALCHEMY_DATABASE_URI": self.database_url,
            "SQLALCHEMY_BINDS": {"keys": self.keys_database_url},
            "SQLALCHEMY_ENGINE_OPTIONS": {"pool_pre_ping": True},
            "TESTING": self.testing,
            "SESSION_COOKIE_HTTPONLY": True,
            "SESSION_COOKIE_SAMESITE": "Lax",
            "SESSION_COOKIE_SECURE": self.production,
            "REMEMBER_COOKIE_SECURE": self.production,
            "WTF_CSRF_TIME_LIMIT": None,
            "BABEL_DEFAULT_LOCALE": "nl",
            "BABEL_DEFAULT_TIMEZONE": "Europe/Amsterdam",
            "API_TITLE": "SaaS API",
            "API_VERSION": "v1",
            "OPENAPI_VERSION": "3.0.3",
            "OPENAPI_URL_PREFIX": "/api/v1",
            "OPENAPI_JSON_PATH": "openapi.json",
            "MAX_CONTENT_LENGTH": 20 * 1024 * 1024,
            "RATELIMIT_STORAGE_URI": "memory://",
            "RATELIMIT_HEADERS_ENABLED": True,
        }


def _derive_keys_url(database_url: str, inst: Path) -> str:
    """Keys live in their own database so a dump of the data holds no key (crypto-shredding)."""
    if database_url.startswith("sqlite"):
        return _sqlite_url(inst / "keys.db")
    base, _, name = database_url.rpartition("/")
    name, sep, query = name.partition("?")
    return f"{base}/{name}_keys{sep}{query}"
