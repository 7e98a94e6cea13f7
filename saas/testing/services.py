"""Throwaway PostgreSQL and Redis for the tests, started from the installed binaries.

Set SAAS_TEST_PG_ADMIN_URL / SAAS_TEST_REDIS_URL to use running servers instead. A service that
cannot be started is a loud failure, never a skip.

Under pytest-xdist each worker (PYTEST_XDIST_WORKER=gw0, gw1, ...) is a session of its own and starts its
own servers. On running servers the workers share, each worker gets databases of its own (`per_worker`
names) and a Redis database of its own (the URL's number plus the worker's), so no worker drops, empties
or reads another one's data.
"""
from __future__ import annotations

import glob
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path


class ServiceError(RuntimeError):
    pass


def worker_index() -> int:
    """0, 1, ... for xdist workers gw0, gw1, ...; 0 without xdist."""
    worker = os.environ.get("PYTEST_XDIST_WORKER", "")
    return int(worker[2:]) if worker.startswith("gw") else 0


def per_worker(name: str) -> str:
    """A database name of this xdist worker's own ("saas_test_gw1"); unchanged without xdist."""
    worker = os.environ.get("PYTEST_XDIST_WORKER")
    return f"{name}_{worker}" if worker else name


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _wait_port(port: int, what: str, timeout: float = 30) -> None:
    deadline = time.time() + timeout
    while time.time() < deadline:
        with socket.socket() as s:
            if s.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.1)
    raise ServiceError(f"{what} did not start on port {port}")


@dataclass
class RedisServer:
    url: str
    process: subprocess.Popen | None = None
    workdir: str | None = None

    def stop(self) -> None:
        if self.process:
            self.process.terminate()
            self.process.wait(10)
        if self.workdir:
            shutil.rmtree(self.workdir, ignore_errors=True)


def start_redis() -> RedisServer:
    if os.environ.get("SAAS_TEST_REDIS_URL"):
        return RedisServer(_redis_database_of_worker(os.environ["SAAS_TEST_REDIS_URL"]))
    binary = shutil.which("redis-server")
    if not binary:
        raise ServiceError("redis-server is not installed (apt-get install redis-server) and SAAS_TEST_REDIS_URL is unset")
    port = free_port()
    workdir = tempfile.mkdtemp(prefix="saas-redis-")
    proc = subprocess.Popen(
        [binary, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
         "--dir", workdir, "--maxmemory-policy", "noeviction"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )
    _wait_port(port, "redis-server")
    return RedisServer(f"redis://127.0.0.1:{port}/0", proc, workdir)


def _redis_database_of_worker(url: str) -> str:
    """The shared server's URL with this worker's own database number (the tests empty queues)."""
    from redis.connection import parse_url

    base = int(parse_url(url).get("db", 0))
    database = base + worker_index()
    if database > 15:
        raise ServiceError(f"SAAS_TEST_REDIS_URL: no Redis database {database} for xdist worker {worker_index()}")
    head = url.split("?", 1)[0]
    query = url[len(head):]
    scheme, rest = head.split("://", 1)
    netloc = rest.split("/", 1)[0]
    return f"{scheme}://{netloc}/{database}{query}"


def _pg_bin(name: str) -> str:
    found = shutil.which(name) or next(iter(sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{name}"), reverse=True)), None)
    if not found:
        raise ServiceError(f"PostgreSQL binary {name} not found and SAAS_TEST_PG_ADMIN_URL is unset")
    return found


@dataclass
class PostgresServer:
    admin_url: str          # superuser, for creating roles and databases
    host: str
    port: int
    datadir: str | None = None
    run_as: str | None = None

    def url(self, user: str, database: str) -> str:
        return f"postgresql+psycopg://{user}@{self.host}:{self.port}/{database}"

    def stop(self) -> None:
        if self.datadir:
            _run_as([_pg_bin("pg_ctl"), "-D", self.datadir, "-m", "immediate", "stop"], self.run_as)
            shutil.rmtree(Path(self.datadir).parent, ignore_errors=True)  # the data, socket and log


def _run_as(cmd: list[str], user: str | None) -> subprocess.CompletedProcess:
    if user:
        cmd = ["runuser", "-u", user, "--", *cmd]
    result = subprocess.run(cmd, capture_output=True, text=True)
    if result.returncode != 0:
        raise ServiceError(f"{' '.join(cmd)} failed: {result.stderr.strip()}")
    return result


def start_postgres() -> PostgresServer:
    if os.environ.get("SAAS_TEST_PG_ADMIN_URL"):
        from sqlalchemy.engine import make_url

        url = make_url(os.environ["SAAS_TEST_PG_ADMIN_URL"])
        return PostgresServer(os.environ["SAAS_TEST_PG_ADMIN_URL"], url.host or "127.0.0.1", url.port or 5432)
    run_as = "postgres" if os.geteuid() == 0 else None
    base = Path(tempfile.mkdtemp(prefix="saas-pg-"))
    datadir = base / "data"
    if run_as:
        pw = pwd.getpwnam(run_as)
        os.chown(base, pw.pw_uid, pw.pw_gid)
    _run_as([_pg_bin("initdb"), "-D", str(datadir), "-A", "trust", "-U", "postgres", "--no-sync"], run_as)
    port = free_port()
    opts = f"-p {port} -k {base} -c listen_addresses=127.0.0.1 -c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=200"
    _run_as([_pg_bin("pg_ctl"), "-D", str(datadir), "-o", opts, "-l", str(base / "log"), "-w", "start"], run_as)
    _wait_port(port, "postgres")
    return PostgresServer(f"postgresql+psycopg://postgres@127.0.0.1:{port}/postgres", "127.0.0.1", port, str(datadir), run_as)


def create_databases(pg: PostgresServer, name: str, owner: str = "saas_owner", app_role: str = "saas_app") -> dict:
    """Roles and the two databases (data and key store) the app expects; returns URLs."""
    import sqlalchemy as sa

    engine = sa.create_engine(pg.admin_url, isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        for role in (owner, app_role):
            # Roles belong to the server: xdist workers sharing one may create them at the same moment.
            conn.execute(sa.text(
                f'DO $$ BEGIN CREATE ROLE "{role}" LOGIN NOSUPERUSER NOBYPASSRLS; '
                f'EXCEPTION WHEN duplicate_object OR unique_violation THEN NULL; END $$'
            ))
        for db in (name, f"{name}_keys"):
            conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{db}" WITH (FORCE)'))
            conn.execute(sa.text(f'CREATE DATABASE "{db}" OWNER "{owner}"'))
    engine.dispose()
    return {
        "database_url": pg.url(app_role, name),
        "database_owner_url": pg.url(owner, name),
        "keys_database_url": pg.url(app_role, f"{name}_keys"),
        "keys_database_owner_url": pg.url(owner, f"{name}_keys"),
    }
