"""scripts/system-packages.sh waits for another package manager's lock instead of failing at once.

The script's apt_get runs a real `apt-get update` on private package lists (no sources, its own lock
file), while this test holds that lock the way apt does (fcntl) and lets go after a few seconds."""
from __future__ import annotations

import fcntl
import os
import shutil
import subprocess
import threading
import time
from pathlib import Path

import pytest

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(shutil.which("apt-get") is None, reason="apt-get is not installed (not Debian/Ubuntu)"),
]

SCRIPT = Path(__file__).resolve().parents[1] / "scripts" / "system-packages.sh"
HELD = 6  # seconds the lock is held by "another package manager"


def _apt_get_update(lists: Path, wait: int) -> tuple[subprocess.CompletedProcess, float]:
    private = (f"-o Dir::State::Lists={lists} -o Dir::Etc::sourcelist=/dev/null "
               f"-o Dir::Etc::sourceparts={lists}/no-parts -o Dir::Cache={lists}/cache")
    command = f'source "{SCRIPT}"; SUDO=""; apt_get {private} update -qq'
    started = time.monotonic()
    result = subprocess.run(["bash", "-c", command], env={**os.environ, "APT_LOCK_WAIT": str(wait)},
                            capture_output=True, text=True, timeout=120)
    return result, time.monotonic() - started


def _hold_lock(lock_file: Path, seconds: float) -> threading.Thread:
    fd = os.open(lock_file, os.O_RDWR | os.O_CREAT, 0o640)
    fcntl.lockf(fd, fcntl.LOCK_EX)

    def release():
        time.sleep(seconds)
        os.close(fd)

    thread = threading.Thread(target=release, daemon=True)
    thread.start()
    return thread


def _private_lists(tmp_path: Path) -> Path:
    lists = tmp_path / "lists"
    (lists / "partial").mkdir(parents=True)
    (lists / "cache" / "archives" / "partial").mkdir(parents=True)
    return lists


def test_a_held_apt_lock_is_waited_for(tmp_path):
    lists = _private_lists(tmp_path)
    holder = _hold_lock(lists / "lock", HELD)

    result, took = _apt_get_update(lists, wait=60)

    holder.join()
    assert result.returncode == 0, result.stderr
    assert took >= HELD - 1
    assert "waiting for another package manager to finish" in result.stderr


def test_the_wait_has_a_deadline_and_then_shows_apts_message(tmp_path):
    lists = _private_lists(tmp_path)
    holder = _hold_lock(lists / "lock", HELD + 4)

    result, took = _apt_get_update(lists, wait=2)

    holder.join()
    assert result.returncode == 100
    assert "Could not get lock" in result.stderr and took < HELD + 4
