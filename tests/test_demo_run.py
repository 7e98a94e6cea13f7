"""`saas demo run` on a clean instance folder: one command brings up web, worker and scheduler with the
demo data and an embedded Redis, and SIGTERM stops all of it."""
from __future__ import annotations

import http.cookiejar
import os
import signal
import socket
import subprocess
import sys
import threading
import urllib.parse
import urllib.request

import pytest

from saas.modules.demo.operations import DEMO_PASSWORD
from saas.testing.fixtures_jobs import SETTINGS_ENV
from saas.testing.fixtures_web import find_csrf_token
from saas.testing.services import free_port

STARTUP_TIMEOUT = 300
BANNER = "Press Ctrl-C to stop"


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None


def _browser():
    jar = http.cookiejar.CookieJar()
    return urllib.request.build_opener(urllib.request.HTTPCookieProcessor(jar), _NoRedirect())


def _read(opener, url, data=None):
    body = urllib.parse.urlencode(data).encode() if data is not None else None
    try:
        with opener.open(url, body, timeout=30) as response:
            return response.status, response.headers, response.read().decode()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.headers, exc.read().decode()


def _collect(process, lines: list[str], ready: threading.Event) -> None:
    for line in process.stdout:
        lines.append(line)
        if BANNER in line:
            ready.set()
    ready.set()


@pytest.mark.slow
def test_demo_run_serves_the_seeded_portal_and_stops_cleanly(tmp_path):
    env = {k: v for k, v in os.environ.items() if k not in SETTINGS_ENV}
    env.update(SAAS_INSTANCE_PATH=str(tmp_path / "instance"), PYTHONUNBUFFERED="1")
    port = free_port()
    process = subprocess.Popen(
        [sys.executable, "-c", "from saas.cli import cli; cli(prog_name='saas')", "demo", "run", "--port", str(port)],
        cwd=tmp_path, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )
    lines: list[str] = []
    ready = threading.Event()
    reader = threading.Thread(target=_collect, args=(process, lines, ready), daemon=True)
    reader.start()
    try:
        assert ready.wait(STARTUP_TIMEOUT) and process.poll() is None, "".join(lines[-40:])
        output = "".join(lines)
        assert f"http://127.0.0.1:{port}/" in output
        assert "admin@zest.demo" in output and "client@leadhunter.demo" in output and DEMO_PASSWORD in output

        base = f"http://127.0.0.1:{port}"
        browser = _browser()
        status, _, page = _read(browser, f"{base}/login")
        assert status == 200
        status, headers, _ = _read(browser, f"{base}/login", {
            "email": "admin@zest.demo", "password": DEMO_PASSWORD, "csrf_token": find_csrf_token(page)})
        assert (status, headers["Location"]) == (302, "/zest/")
        status, _, subjects = _read(browser, f"{base}/zest/subjects")
        assert status == 200 and "240" in subjects
    finally:
        process.send_signal(signal.SIGTERM)
        code = process.wait(60)
        reader.join(10)
        process.stdout.close()  # an unclosed pipe is a ResourceWarning, and warnings are errors
    assert code == 0, "".join(lines[-40:])
    assert "Stopping..." in "".join(lines)
    with socket.socket() as probe:
        assert probe.connect_ex(("127.0.0.1", port)) != 0  # the web child is gone too
