"""The installed `saas` console script, run as a user runs it: in a subprocess, from a folder outside the
checkout, with its own instance folder (SAAS_INSTANCE_PATH), on SQLite or PostgreSQL (SAAS_TEST_DB).
At least one command of every group; the README's commands as the README writes them."""
from __future__ import annotations

import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
import uuid
from dataclasses import dataclass, replace
from pathlib import Path

import pytest
import sqlalchemy as sa
from redis import Redis
from rq.job import Job

from saas.testing import services

pytestmark = pytest.mark.slow

DB_KIND = os.environ.get("SAAS_TEST_DB", "sqlite")
ROOT = Path(__file__).resolve().parents[1]
# Every setting the app reads from the environment: a subprocess gets only those a test gives it.
SETTING_NAMES = (
    "SAAS_ENV", "SECRET_KEY", "DATABASE_URL", "DATABASE_OWNER_URL", "KEYS_DATABASE_URL", "KEYS_DATABASE_OWNER_URL",
    "REDIS_URL", "SAAS_MASTER_KEY", "SAAS_MASTER_KEY_FILE", "SAAS_INSTANCE_PATH", "SAAS_STORAGE_PATH", "SMTP_URL",
    "MAIL_FROM", "SAAS_TENANTS_DIR", "SAAS_BASE_URL", "SAAS_PROXY_HOPS", "SAAS_APP_ROLE", "FLASK_APP",
)
REDIS_DB = 9  # a database of the test Redis of its own: queued jobs here never reach another test's worker
UPGRADE_HINT = "run `saas db upgrade`"


def saas_executable() -> str:
    beside_python = Path(sys.executable).parent / "saas"
    found = str(beside_python) if beside_python.exists() else shutil.which("saas")
    assert found, "the saas console script is not installed (make install)"
    return found


SAAS = saas_executable()


@dataclass(frozen=True)
class Saas:
    """Runs the console script with one environment, from a folder that is not the checkout."""

    env: dict
    cwd: Path
    instance: Path

    def __call__(self, *args: str, ok: bool = True, stdin: str | None = None, timeout: float = 300):
        result = subprocess.run([SAAS, *args], cwd=self.cwd, env=self.env, input=stdin, capture_output=True,
                                text=True, timeout=timeout)
        shown = f"saas {' '.join(args)} -> {result.returncode}\n{result.stdout}\n{result.stderr}"
        assert "Traceback" not in result.stdout + result.stderr, shown
        assert (result.returncode == 0) == ok, shown
        return result

    def popen(self, *args: str) -> subprocess.Popen:
        return subprocess.Popen([SAAS, *args], cwd=self.cwd, env=self.env, stdout=subprocess.PIPE,
                                stderr=subprocess.STDOUT, text=True)

    def without(self, *names: str) -> "Saas":
        return replace(self, env={k: v for k, v in self.env.items() if k not in names})

    def with_env(self, **values: str) -> "Saas":
        return replace(self, env={**self.env, **values})


def _redis_url(redis_server) -> str:
    return redis_server.url.rsplit("/", 1)[0] + f"/{REDIS_DB}"


def _new_saas(folder: Path, pg_server, redis_server) -> Saas:
    (folder / "elsewhere").mkdir(parents=True)
    env = {k: v for k, v in os.environ.items() if k not in SETTING_NAMES}
    env.update(SAAS_INSTANCE_PATH=str(folder / "instance"), REDIS_URL=_redis_url(redis_server), PYTHONUNBUFFERED="1")
    if pg_server is not None:
        urls = services.create_databases(pg_server, f"saas_cli_{uuid.uuid4().hex[:10]}")
        env.update({name.upper(): url for name, url in urls.items()})
    Redis.from_url(env["REDIS_URL"]).flushdb()
    return Saas(env, folder / "elsewhere", folder / "instance")


@pytest.fixture()
def saas(tmp_path, pg_server, redis_server) -> Saas:
    """A fresh instance: databases created (PostgreSQL) or absent (SQLite), nothing upgraded."""
    return _new_saas(tmp_path, pg_server, redis_server)


@pytest.fixture(scope="module")
def ready(tmp_path_factory, pg_server, redis_server) -> Saas:
    """One instance for the module, set up with the README's commands; Leadhunter has 12 demo subjects."""
    runner = _new_saas(tmp_path_factory.mktemp("cli"), pg_server, redis_server)
    runner("db", "upgrade")
    synced = runner("tenants", "sync").stdout
    assert all(f"created      {slug}" in synced for slug in ("zest", "kantoor", "client-ict", "kvgo", "leadhunter"))
    seeded = runner("demo", "seed", "--tenant", "leadhunter", "--subjects", "12").stdout
    assert "leadhunter: 7 accounts" in seeded and "12 data subjects" in seeded
    return runner


def _tables(saas: Saas) -> int:
    """Tables in the instance's PostgreSQL databases (data and key store)."""
    count = 0
    for name in ("DATABASE_OWNER_URL", "KEYS_DATABASE_OWNER_URL"):
        engine = sa.create_engine(saas.env[name], poolclass=sa.pool.NullPool)
        with engine.connect() as connection:
            count += connection.execute(sa.text(
                "SELECT count(*) FROM information_schema.tables WHERE table_schema = 'public'")).scalar_one()
    return count


def _free_port() -> int:
    return services.free_port()


def _wait_for_port(port: int, process: subprocess.Popen, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        assert process.poll() is None, process.stdout.read()
        with socket.socket() as probe:
            if probe.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.2)
    raise AssertionError(f"nothing listens on {port}")


def _stop(process: subprocess.Popen) -> str:
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
    try:
        output, _ = process.communicate(timeout=30)
    except subprocess.TimeoutExpired:
        process.kill()
        output, _ = process.communicate()
    return output


# --- no side effects ---------------------------------------------------------------------------------
@pytest.mark.skipif(DB_KIND != "sqlite", reason="no database involved: runs in the sqlite lane")
def test_help_of_every_command_creates_nothing_and_starts_no_redis(saas):
    embedded = saas.without("REDIS_URL")  # an embedded Redis would be started, and leave files in the instance

    top = embedded("--help")
    commands = [line.split()[0] for line in top.stdout.split("Commands:")[1].splitlines() if line.strip()]
    assert {"db", "tenants", "plugins", "sweep", "demo", "agreements", "seals", "keys", "worker", "cron", "routes",
            "tokens", "users", "audit", "openapi", "limiter", "run", "shell"} <= set(commands)
    for command in ("sweep", "keys"):  # a command and a group; `--help` above loaded every one of them
        assert "Usage: saas " + command in embedded(command, "--help").stdout

    assert not saas.instance.exists()
    assert list(saas.cwd.iterdir()) == []
    assert "Redis" not in top.stderr


@pytest.mark.skipif(DB_KIND != "sqlite", reason="refused before any database is used: runs in the sqlite lane")
def test_unsafe_production_settings_are_named_without_a_traceback(saas):
    refused = saas.with_env(SAAS_ENV="production")("tenants", "list", ok=False)
    assert refused.stderr.startswith("Error: refusing to start in production: SECRET_KEY is the demo key")
    assert not saas.instance.exists()


def test_routes_and_plugins_list_on_a_database_that_is_not_upgraded(saas):
    routes = saas.without("REDIS_URL")("routes")
    assert "/login" in routes.stdout

    for command in (["plugins", "list"], ["tenants", "list"], ["sweep", "--tenant", "zest", "--wait"]):
        refused = saas(*command, ok=False)
        assert refused.returncode == 1 and UPGRADE_HINT in refused.stderr, refused.stderr
        assert "not upgraded" in refused.stderr and refused.stdout == ""

    if DB_KIND == "sqlite":
        assert not saas.instance.exists(), "no database file, key file or Redis was made"
    else:
        assert _tables(saas) == 0
        assert not saas.instance.exists()

    saas("db", "upgrade")
    listed = saas("plugins", "list").stdout
    assert "leadgen" in listed and "tenants: -" in listed
    assert not (saas.instance / "master.key").exists(), "listing plugins needs no key"
    assert not (saas.instance / "redis.db").exists()


# --- the README's commands, a group at a time ------------------------------------------------------------
def test_db_and_tenants(ready):
    assert ready("db", "current").stdout.strip()
    assert "nothing to change" in ready("tenants", "sync").stdout
    listed = ready("tenants", "list").stdout
    assert "leadhunter" in listed and "leadgen" in listed
    assert "tenants: leadhunter" in ready("plugins", "list").stdout


def test_readme_sweep_commands_with_a_real_redis(ready):
    today = ready("sweep", "--tenant", "leadhunter", "--dry-run", "--wait").stdout
    assert today.startswith("Dry run") and "evaluated 0 record" not in today and "evaluated " in today

    forecast = ready("sweep", "--tenant", "leadhunter", "--forecast", "365").stdout
    assert forecast.startswith("Forecast from") and "queued" not in forecast

    swept = ready("sweep", "--tenant", "leadhunter", "--now", "2027-06-01", "--wait").stdout
    assert "of leadhunter as of 2027-06-01: finished" in swept and "evaluated 0 record" not in swept

    queued = ready("sweep", "--tenant", "leadhunter", "--now", "2027-06-02").stdout
    job_id = queued.strip().rpartition("queued as job ")[2].rstrip(".")
    ready("worker", "sweeps", "--burst")
    job = Job.fetch(job_id, connection=Redis.from_url(ready.env["REDIS_URL"]))
    assert job.get_status() == "finished", job.latest_result()


def test_users_and_api_tokens(ready):
    email = f"cli-{uuid.uuid4().hex[:6]}@leadhunter.example"
    created = ready("users", "create", "--email", email, "--name", "Cli Admin", "--tenant", "leadhunter").stdout
    assert "member of leadhunter as admin" in created and "password: " in created
    assert "password set" in ready("users", "set-password", "--email", email, "--password-stdin",
                                   stdin="een-lang-genoeg-wachtwoord\n").stdout

    made = ready("tokens", "create", "--tenant", "leadhunter", "--email", email)
    prefix = made.stderr.split("prefix ")[1].split(",")[0]
    assert made.stdout.strip() and prefix in ready("tokens", "list", "--tenant", "leadhunter").stdout
    assert f"revoked {prefix}" in ready("tokens", "revoke", "--tenant", "leadhunter", "--prefix", prefix).stdout
    assert "revoked" in ready("tokens", "list", "--tenant", "leadhunter").stdout
    assert "no tenant" in ready("tokens", "list", "--tenant", "no-such-tenant", ok=False).stderr


def test_agreements_seals_and_audit(ready, tmp_path):
    assert "already installed" in ready("agreements", "templates", "seed", "--tenant", "leadhunter").stdout
    assert "VO-" in ready("agreements", "list", "--tenant", "leadhunter").stdout
    ca = ready("seals", "ca-cert").stdout
    assert ca.startswith("-----BEGIN CERTIFICATE-----")
    assert "Seal certificate" in ready("seals", "issue", "--tenant", "kvgo").stdout
    not_a_pdf = tmp_path / "platform-ca.pem"
    not_a_pdf.write_text(ca)
    for group in ("seals", "agreements"):
        checked = ready(group, "verify", str(not_a_pdf), ok=False)
        assert checked.returncode == 1 and checked.stdout.startswith("INVALID")
    assert ready("audit", "verify", "--tenant", "leadhunter").stdout.startswith("ok")


def test_keys(ready):
    assert ready("keys", "generate-master").stdout.startswith("mk-")
    rotated = ready("keys", "rotate", "--tenant", "leadhunter", "--wait").stdout
    assert re.search(r": [1-9]\d* subject\(s\)", rotated) and "finished: True" in rotated
    master = ready("keys", "rotate-master").stdout
    assert "is active;" in master and "Dropped mk-" in master
    again = ready("keys", "rotate", "--tenant", "leadhunter", "--wait").stdout  # reads every row: still readable
    assert re.search(r": [1-9]\d* subject\(s\)", again) and "finished: True" in again


def test_openapi_limiter_and_shell(ready):
    assert json.loads(ready("openapi", "print").stdout)["info"]["title"]
    assert "RATELIMIT" in ready("limiter", "config").stdout
    shell = ready("shell", stdin="from saas.extensions import db\nprint('tenants', db.session.execute(db.text("
                                 "'SELECT count(*) FROM tenant')).scalar())\n")
    assert "tenants 5" in shell.stdout


def test_worker_cron_and_web_server_start_and_stop(ready):
    port = _free_port()
    web = ready.popen("run", "--port", str(port), "--no-reload", "--no-debugger")
    cron = ready.popen("cron")
    worker = ready.popen("worker")
    try:
        _wait_for_port(port, web)
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/login", timeout=30) as response:
            assert response.status == 200
        time.sleep(3)
        assert cron.poll() is None and worker.poll() is None
    finally:
        outputs = [_stop(process) for process in (web, cron, worker)]
    assert not any("Traceback" in output for output in outputs), outputs


def test_a_master_key_is_never_made_beside_a_database_that_holds_keys(ready):
    key_file = ready.instance / "master.key"
    kept = key_file.read_bytes()
    key_file.unlink()
    try:
        refused = ready("demo", "seed", "--tenant", "kvgo", "--subjects", "2", ok=False)
        assert "does not exist, but the database already holds 5 tenant(s)" in refused.stderr
        assert not key_file.exists()
    finally:
        key_file.write_bytes(kept)
        key_file.chmod(0o600)


# --- the demo's port -------------------------------------------------------------------------------------
def test_the_demo_port_is_the_base_of_its_links():
    from saas.modules.demo.cli import demo_base_url, demo_environment

    assert demo_base_url("127.0.0.1", 5102) == "http://127.0.0.1:5102"
    assert demo_base_url("0.0.0.0", 5102) == "http://127.0.0.1:5102"
    assert demo_base_url("::1", 5102) == "http://[::1]:5102"
    env = demo_environment({"PATH": "/bin"}, "redis://r/0", Path("/x"), "127.0.0.1", 5102)
    assert env == {"PATH": "/bin", "REDIS_URL": "redis://r/0", "SAAS_INSTANCE_PATH": "/x",
                   "SAAS_BASE_URL": "http://127.0.0.1:5102"}
    chosen = demo_environment({"SAAS_BASE_URL": "https://demo.example.nl/"}, "", Path("/x"), "0.0.0.0", 5102)
    assert chosen["SAAS_BASE_URL"] == "https://demo.example.nl"


def test_mails_of_a_demo_on_another_port_link_to_that_port(saas):
    from saas import create_app
    from saas.config import Settings
    from saas.core.tenancy import tenant_context
    from saas.extensions import db
    from saas.modules.demo.cli import demo_environment
    from saas.modules.outbox.models import OutboxMail
    from saas.modules.tenants.queries import find_by_slug

    port = 5102
    demo = saas.with_env(**demo_environment(saas.env, saas.env["REDIS_URL"], saas.instance, "127.0.0.1", port))
    demo("db", "upgrade")
    demo("tenants", "sync")
    demo("demo", "seed", "--tenant", "leadhunter", "--subjects", "3")  # sends Leadhunter's agreement invitations

    urls = {key.lower(): demo.env[key] for key in ("DATABASE_URL", "DATABASE_OWNER_URL", "KEYS_DATABASE_URL",
                                                    "KEYS_DATABASE_OWNER_URL") if key in demo.env}
    settings = Settings.from_env(env="development", instance_path=saas.instance, redis_url=demo.env["REDIS_URL"],
                                 master_key="", master_key_file=str(saas.instance / "master.key"), **urls)
    app = create_app(settings)
    with app.app_context():
        with tenant_context(find_by_slug("leadhunter").id):
            bodies = [mail.body for mail in db.session.scalars(sa.select(OutboxMail))]
        db.session.remove()
        for engine in db.engines.values():
            engine.dispose()
    links = [body for body in bodies if "http://" in body]
    assert links, "the seed mails its agreement invitations"
    assert all(f"http://127.0.0.1:{port}/" in body and ":5000" not in body for body in links)
