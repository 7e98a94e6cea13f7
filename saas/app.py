"""Application factory: config -> extensions -> tenancy -> feature modules -> plugins."""
from __future__ import annotations

import importlib
import logging

from flask import Flask

from saas.config import Settings

# Feature folders, each with the same file names (models, schemas, operations, queries, views, api, jobs, cli).
MODULES = (
    "tenants", "access", "accounts", "clients", "subjects", "audit", "files", "keys", "dashboard", "jobs_admin",
    "outbox", "companies", "consents", "assignments", "retention", "agreements", "signing", "seals", "demo",
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
    app = Flask(__name__, instance_path=str(settings.instance_path), instance_relative_config=False)
    app.config.update(settings.flask_config())
    app.extensions["saas.settings"] = settings
    settings.instance_path.mkdir(parents=True, exist_ok=True)
    logging.basicConfig(level=logging.INFO if not settings.testing else logging.WARNING)
    for chatty in ("weasyprint", "fontTools"):   # a line per PDF layout step is noise, not news
        logging.getLogger(chatty).setLevel(logging.WARNING)

    if settings.proxy_hops:
        from werkzeug.middleware.proxy_fix import ProxyFix

        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=settings.proxy_hops, x_proto=settings.proxy_hops)
    _init_extensions(app, settings)
    _init_modules(app)
    _init_plugins(app, settings)
    return app


def _init_extensions(app: Flask, settings: Settings) -> None:
    from saas.core import tenancy, web
    from saas.core.crypto import masterkey
    from saas.core.crypto import keyring as keyring_module
    from saas.core.crypto.keyring import Keyring
    from saas.extensions import api, babel, csrf, db, limiter, login_manager, migrate
    from saas.jobs import queues

    for module in MODULES:
        feature_module(module, "models")
    from saas.core.crypto import models as _key_models  # noqa: F401  (registers the key store tables)

    db.init_app(app)
    migrate.init_app(app, db, directory=str(_migrations_dir()))
    tenancy.install()
    keyring_module.install()
    app.extensions["saas.keyring"] = Keyring(
        masterkey.load(settings.master_key, settings.master_key_file, create=not settings.production)
    )
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
    web.init_app(app)


def _init_modules(app: Flask) -> None:
    from saas.extensions import api

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
