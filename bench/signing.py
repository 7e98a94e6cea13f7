"""Latency of the public signing pages under 20 concurrent clients (p50, p95) and requests per second.

A real server in its own process (gunicorn when installed, else werkzeug's threaded server) on a throwaway
SQLite or PostgreSQL set-up, the same app the tests run. Each client is one signer with its own agreement,
link and keep-alive connection, and sends one request after another for the measured time:

- **landing**: GET /sign/<token>, the page a signer (or a mail scanner) opens from the mail;
- **signing page**: GET /sign/<token>/review with a session that entered the mailed code: the document's
  SHA-256, the PDF frame and the sign and decline forms.

Every answer is checked (status 200 and the agreement's number or SHA-256 in the page). Clients identify as
different addresses (X-Forwarded-For with SAAS_PROXY_HOPS=1), as 20 signers would.
"""
from __future__ import annotations

import contextlib
import http.client
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

TARGET_P95_MS = 250.0
PAGES = ("landing", "signing page")


class BenchError(RuntimeError):
    """A page answered something other than what the signer must see."""


@dataclass
class Signer:
    token: str
    number: str
    sha256: str
    session_cookie: str
    address: str


@dataclass
class Result:
    page: str
    latencies: list[float] = field(default_factory=list)   # seconds
    seconds: float = 0.0

    def percentile(self, p: float) -> float:
        ordered = sorted(self.latencies)
        return ordered[min(len(ordered) - 1, int(round(p / 100 * (len(ordered) - 1))))] * 1000

    @property
    def rps(self) -> float:
        return len(self.latencies) / self.seconds if self.seconds else 0.0


# --- set-up ------------------------------------------------------------------------------------------

@contextlib.contextmanager
def bench_settings(db_kind: str):
    from bench.encryption import _database_urls
    from saas.config import Settings

    with tempfile.TemporaryDirectory(prefix="saas-bench-signing-", ignore_cleanup_errors=True) as workdir:
        with _database_urls(db_kind) as urls:
            settings = Settings(env="development", instance_path=Path(workdir), **urls)
            settings.fill_defaults()
            yield settings


def prepare(app, clients: int) -> list[Signer]:
    """A tenant with one agreement per client, each signer invited and verified with the mailed code."""
    from saas.core import tenancy
    from saas.extensions import db
    from saas.modules.tenants import operations as tenants

    with app.app_context():
        tenancy.set_tenant(None)
        tenant, _ = tenants.upsert(f"bench-{uuid.uuid4().hex[:8]}", name="Bench Signing BV", plugins=[])
        db.session.commit()
        tenant_id = tenant.id
    return [_verified_signer(app, tenant_id, i) for i in range(clients)]


def _in_app(app, work, *args):
    """Database work in an app context of its own (the test client's requests must not share it)."""
    from saas.core import tenancy

    with app.app_context():
        try:
            return work(*args)
        finally:
            tenancy.set_tenant(None)


def _verified_signer(app, tenant_id: int, i: int) -> Signer:
    """Through the pages themselves (Flask's test client): link, code mail, code; keeps the session cookie."""
    from saas.testing.fixtures_web import find_csrf_token
    from saas.testing.signing import create_agreement, mailed_code

    made = _in_app(app, create_agreement, tenant_id)
    token = made.tokens[0]
    address = f"10.77.{i // 250}.{i % 250 + 1}"
    client = app.test_client()
    client.environ_base["REMOTE_ADDR"] = address
    landing = client.get(f"/sign/{token}")
    sent = client.post(f"/sign/{token}/code/send", data={"csrf_token": find_csrf_token(landing.get_data(as_text=True))})
    if sent.status_code != 302:
        raise BenchError(f"signer {i}: no code sent ({sent.status_code})")
    code = _in_app(app, mailed_code, made)
    page = client.get(f"/sign/{token}/code").get_data(as_text=True)
    entered = client.post(f"/sign/{token}/code", data={"csrf_token": find_csrf_token(page), "code": code})
    if entered.status_code != 302 or not entered.headers["Location"].endswith("/review"):
        raise BenchError(f"signer {i} could not enter the code ({entered.status_code})")
    return Signer(token, made.number, made.sha256, client.get_cookie("session").value, address)


# --- the server ------------------------------------------------------------------------------------------

def _server_env(settings, port: int) -> dict:
    from saas.testing.fixtures_jobs import SETTINGS_ENV, settings_environment

    env = {k: v for k, v in os.environ.items() if k not in SETTINGS_ENV}
    env.update(settings_environment(settings))
    env.update({"SAAS_PROXY_HOPS": "1", "SAAS_BASE_URL": f"http://127.0.0.1:{port}", "PYTHONUNBUFFERED": "1"})
    root = str(Path(__file__).resolve().parent.parent)
    env["PYTHONPATH"] = os.pathsep.join(p for p in (root, env.get("PYTHONPATH", "")) if p)
    return env


def server_kind(requested: str) -> str:
    if requested != "auto":
        return requested
    try:
        import gunicorn  # noqa: F401
    except ImportError:
        return "werkzeug"
    return "gunicorn"


@contextlib.contextmanager
def running_server(settings, kind: str, workers: int, threads: int):
    from saas.testing.services import _wait_port, free_port

    port = free_port()
    if kind == "gunicorn":
        command = [str(Path(sys.executable).parent / "gunicorn"), "--workers", str(workers), "--threads", str(threads),
                   "--bind", f"127.0.0.1:{port}", "--log-level", "warning", "wsgi:app"]
    else:
        command = [sys.executable, "-m", "bench.signing", "--serve", str(port)]
    root = Path(__file__).resolve().parent.parent
    with tempfile.TemporaryFile() as log:
        proc = subprocess.Popen(command, cwd=root, env=_server_env(settings, port), stdout=log,
                                stderr=subprocess.STDOUT)
        try:
            _wait_port(port, kind, timeout=60)
            yield f"http://127.0.0.1:{port}"
        finally:
            proc.terminate()
            try:
                proc.wait(20)
            except subprocess.TimeoutExpired:
                proc.kill()
            if proc.returncode not in (0, -15, 15):
                log.seek(0)
                print(log.read().decode(errors="replace")[-3000:], file=sys.stderr)


def serve(port: int) -> None:
    """`python -m bench.signing --serve PORT`: the werkzeug threaded server (what `saas demo run` uses)."""
    import logging

    from werkzeug.serving import make_server

    from saas import create_app

    logging.getLogger("werkzeug").setLevel(logging.WARNING)   # no access log: as gunicorn by default
    make_server("127.0.0.1", port, create_app(), threaded=True).serve_forever()


# --- the clients -------------------------------------------------------------------------------------------

def _path_and_check(page: str, signer: Signer) -> tuple[str, str, dict]:
    headers = {"X-Forwarded-For": signer.address, "User-Agent": "bench-signing/1.0"}
    if page == "landing":
        return f"/sign/{signer.token}", signer.number, headers
    headers["Cookie"] = f"session={signer.session_cookie}"
    return f"/sign/{signer.token}/review", signer.sha256, headers


def _client(base: str, page: str, signer: Signer, start: threading.Barrier, until: list, out: list, errors: list):
    host = urlsplit(base)
    path, expected, headers = _path_and_check(page, signer)
    connection = http.client.HTTPConnection(host.hostname, host.port, timeout=60)
    start.wait()
    try:
        while time.perf_counter() < until[0]:
            began = time.perf_counter()
            connection.request("GET", path, headers=headers)
            response = connection.getresponse()
            body = response.read()
            out.append(time.perf_counter() - began)
            if response.status != 200 or expected.encode() not in body:
                errors.append(f"{page}: {response.status}")
                return
            if response.getheader("Connection", "").lower() == "close":
                connection.close()
                connection = http.client.HTTPConnection(host.hostname, host.port, timeout=60)
    except OSError as exc:
        errors.append(f"{page}: {exc!r}")
    finally:
        connection.close()


def load(base: str, page: str, signers: list[Signer], seconds: float, warm_up: float) -> Result:
    """All clients at once, each request after the previous answer; the first `warm_up` seconds not counted."""
    for duration, keep in ((warm_up, False), (seconds, True)):
        start = threading.Barrier(len(signers) + 1)
        until, errors = [0.0], []
        per_client: list[list[float]] = [[] for _ in signers]
        threads = [threading.Thread(target=_client, args=(base, page, s, start, until, per_client[i], errors))
                   for i, s in enumerate(signers)]
        for thread in threads:
            thread.start()
        until[0] = time.perf_counter() + duration
        began = time.perf_counter()
        start.wait()
        for thread in threads:
            thread.join(duration + 120)
        elapsed = time.perf_counter() - began
        if errors:
            raise BenchError("; ".join(sorted(set(errors))[:5]))
        if keep:
            return Result(page, [x for client in per_client for x in client], elapsed)
    raise AssertionError("unreachable")


# --- run and report -------------------------------------------------------------------------------------

def run(db_kind: str, clients: int, seconds: float, server: str, workers: int, threads: int) -> bool:
    from saas import create_app

    kind = server_kind(server)
    with bench_settings(db_kind) as settings:
        from flask_migrate import upgrade

        app = create_app(settings)
        with app.app_context():
            upgrade()
        signers = prepare(app, clients)
        with running_server(settings, kind, workers, threads) as base:
            results = [load(base, page, signers, seconds, warm_up=min(3.0, seconds / 3)) for page in PAGES]
    return report(results, db_kind, kind, clients, seconds, workers, threads)


def report(results: list[Result], db_kind: str, kind: str, clients: int, seconds: float, workers: int,
           threads: int) -> bool:
    from saas.core import clock

    setup = f"gunicorn {workers} workers x {threads} threads" if kind == "gunicorn" else "werkzeug threaded, 1 process"
    print(f"\nSigning pages: {clients} concurrent clients, {seconds:.0f} s each, {db_kind}, {setup} "
          f"({clock.now().astimezone(clock.AMSTERDAM):%Y-%m-%d %H:%M %Z}, {os.cpu_count()} cores)")
    print(f"{'page':<16}{'requests':>10}{'req/s':>9}{'p50 ms':>9}{'p95 ms':>9}{'p99 ms':>9}{'max ms':>9}"
          f"{'mean ms':>9}")
    ok = True
    for r in results:
        p95 = r.percentile(95)
        ok = ok and p95 <= TARGET_P95_MS
        print(f"{r.page:<16}{len(r.latencies):>10}{r.rps:>9.1f}{r.percentile(50):>9.1f}{p95:>9.1f}"
              f"{r.percentile(99):>9.1f}{max(r.latencies) * 1000:>9.1f}{statistics.mean(r.latencies) * 1000:>9.1f}")
    print(f"target: p95 <= {TARGET_P95_MS:.0f} ms on both pages: {'met' if ok else 'NOT met'}")
    return ok


def main(argv=None) -> int:
    import argparse

    parser = argparse.ArgumentParser(prog="python -m bench signing", description=__doc__.splitlines()[0])
    parser.add_argument("--db", choices=("sqlite", "postgresql"), default="sqlite")
    parser.add_argument("--clients", type=int, default=20, help="concurrent clients (default 20)")
    parser.add_argument("--seconds", type=float, default=20, help="measured seconds per page (default 20)")
    parser.add_argument("--server", choices=("auto", "gunicorn", "werkzeug"), default="auto",
                        help="auto: gunicorn when installed, else werkzeug's threaded server")
    parser.add_argument("--workers", type=int, default=2, help="gunicorn worker processes (default 2)")
    parser.add_argument("--threads", type=int, default=8, help="threads per gunicorn worker (default 8)")
    parser.add_argument("--serve", type=int, metavar="PORT", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.serve:
        serve(args.serve)
        return 0
    if args.clients < 1 or args.seconds <= 0:
        parser.error("--clients and --seconds must be positive")
    run(args.db, args.clients, args.seconds, args.server, args.workers, args.threads)
    return 0


if __name__ == "__main__":
    sys.exit(main())
