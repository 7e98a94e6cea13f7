"""Fixtures for the jobs tests: a real `saas worker` subprocess with the test app's settings.

    def test_x(run_worker):
        run_worker(queues=["default"])                      # a burst worker, waits until the queues are empty
        proc = run_worker(queues=["default"], wait=False)   # a running subprocess.Popen

`worker_env` is the environment that makes any `saas ...` subprocess use the same databases, Redis,
master key and instance folder as the `app` fixture; other helpers can reuse it.
"""
from __future__ import annotations

import os
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SAAS = str(Path(sys.executable).parent / "saas")

# Environment variable -> Settings attribute: everything Settings.from_env reads.
SETTINGS_ENV = {
    "SAAS_ENV": "env",
    "SECRET_KEY": "secret_key",
    "DATABASE_URL": "database_url",
    "DATABASE_OWNER_URL": "database_owner_url",
    "KEYS_DATABASE_URL": "keys_database_url",
    "KEYS_DATABASE_OWNER_URL": "keys_database_owner_url",
    "REDIS_URL": "redis_url",
    "SAAS_MASTER_KEY": "master_key",
    "SAAS_MASTER_KEY_FILE": "master_key_file",
    "SAAS_INSTANCE_PATH": "instance_path",
    "SAAS_STORAGE_PATH": "storage_path",
    "SMTP_URL": "smtp_url",
    "MAIL_FROM": "mail_from",
    "SAAS_TENANTS_DIR": "tenants_dir",
    "SAAS_APP_ROLE": "app_role",
}


def wait_for(predicate, what: str, timeout: float = 30):
    """Poll until predicate() is truthy and return its value (a subprocess worker needs a moment)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what}")


def settings_environment(settings) -> dict[str, str]:
    """The environment variables that make Settings.from_env() give these settings."""
    return {name: str(getattr(settings, attr) or "") for name, attr in SETTINGS_ENV.items()}


@pytest.fixture()
def worker_env(app, settings) -> dict[str, str]:
    """os.environ plus the test app's settings, with the checkout first on the path (its saas.testing jobs)."""
    env = {k: v for k, v in os.environ.items() if k not in SETTINGS_ENV}
    env.update(settings_environment(settings))
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(ROOT), env.get("PYTHONPATH", "")) if p)
    env["PYTHONUNBUFFERED"] = "1"
    return env


@pytest.fixture()
def run_worker(worker_env, tmp_path):
    """Start `saas worker` as a real forking worker. With wait=True (the default) it runs in burst mode
    to completion and must exit cleanly; with wait=False the Popen is returned (and killed at teardown)."""
    started: list[subprocess.Popen] = []

    def _run(burst: bool = True, queues=("default",), wait: bool = True, timeout: float = 60):
        command = [SAAS, "worker", *queues] + (["--burst"] if burst else [])
        log = tmp_path / f"worker-{uuid.uuid4().hex[:6]}.log"
        with open(log, "wb") as out:
            proc = subprocess.Popen(command, cwd=ROOT, env=worker_env, stdout=out, stderr=subprocess.STDOUT)
        proc.log_path = log
        started.append(proc)
        if not wait:
            return proc
        try:
            proc.wait(timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            raise AssertionError(f"worker did not finish in {timeout}s:\n{log.read_text()}") from None
        assert proc.returncode == 0, f"worker exited with {proc.returncode}:\n{log.read_text()}"
        return proc

    yield _run
    for proc in started:
        if proc.poll() is None:
            proc.kill()
            proc.wait(10)


@pytest.fixture()
def job_queue(ctx):
    """The `default` queue, emptied, so a burst worker runs only this test's jobs."""
    from saas.jobs.queues import queue

    q = queue("default")
    q.empty()
    return q


@pytest.fixture()
def work_in_process(app):
    """Run an AppSimpleWorker in this process until its queues are empty; RQ's signal handlers are
    put back afterwards so Ctrl+C still stops pytest."""
    import signal

    from saas.jobs.worker import AppSimpleWorker

    def _work(queues=("default",)):
        saved = {sig: signal.getsignal(sig) for sig in (signal.SIGINT, signal.SIGTERM)}
        try:
            return AppSimpleWorker(list(queues), app=app).work(burst=True, with_scheduler=False)
        finally:
            for sig, handler in saved.items():
                signal.signal(sig, handler)

    return _work
