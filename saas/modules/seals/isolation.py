"""Check a PDF from outside in a separate, limited process: `verify_untrusted(data) -> Verification`.

Why a process per check, and not the request worker or an RQ job:
- the request worker must stay free for everyone else: four crafted uploads used to hold every gunicorn
  worker for 30 s each (`/login` took 49 s). The worker now waits for a child that the kernel stops:
  CPU time (RLIMIT_CPU), address space (RLIMIT_AS), no files written (RLIMIT_FSIZE), lower priority
  (nice 10), and a wall-clock timeout after which it is killed;
- at most `SAAS_VERIFY_SLOTS` checks run at once on a machine (default 2), counted with lock files in
  the instance folder, so they hold across all gunicorn workers and die with their holder. A check that
  finds no free slot is refused at once ("busy, try again"): with -w 4 at least two workers always
  serve other pages;
- the child is a fresh interpreter with an empty environment: it holds no master key, no database
  connection and no secret that a flaw in a PDF parser could reach (a fork would inherit them all);
- an RQ job would need the uploaded file (an agreement, with the signers' names) in Redis, and would
  queue public uploads behind the sweeps and mails; the answer is wanted now, by someone waiting.

The child reads a JSON header line and the PDF on stdin and writes the Verification as JSON on stdout.
"""
from __future__ import annotations

import contextlib
import fcntl
import json
import os
import subprocess
import sys
from dataclasses import asdict
from datetime import datetime
from pathlib import Path

from saas.modules.seals.verify import Refused, Verification, VerifyLimits, verify_pdf

DEFAULT_SLOTS = 2
START_UP_SECONDS = 10   # importing pyHanko in a fresh interpreter, on a busy machine; not counted as CPU


def limits_from_app() -> VerifyLimits:
    from flask import current_app

    return VerifyLimits.from_config(current_app.config)


def _slots_from_app() -> tuple[Path, int]:
    from flask import current_app

    folder = Path(current_app.instance_path) / "verify-slots"
    return folder, int(current_app.config.get("SAAS_VERIFY_SLOTS", DEFAULT_SLOTS))


@contextlib.contextmanager
def _slot(folder: Path, slots: int):
    """Hold one of `slots` lock files, or raise Refused("busy"). flock: released when the holder dies."""
    folder.mkdir(parents=True, exist_ok=True)
    for number in range(slots):
        handle = open(folder / f"slot-{number}.lock", "a+b")  # noqa: SIM115 - held until the check ends
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            handle.close()
            continue
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)
            handle.close()
        return
    raise Refused("busy", slots)


def verify_untrusted(data: bytes, *, limits: VerifyLimits | None = None, root_der: bytes | None = None,
                     now: datetime | None = None) -> Verification:
    """Verify `data` in a limited child process (inside an app context: config, instance folder and the
    platform root come from the app). Raises Refused for a file beyond the limits, a check that took
    too long, or when all slots are taken."""
    from saas.core import clock
    from saas.modules.seals.verify import platform_root_der

    limits = limits or limits_from_app()
    if len(data) > limits.max_bytes:
        raise Refused("too_large", limits.max_bytes)   # before anything else is spent on it
    root_der = root_der if root_der is not None else platform_root_der()
    header = {"root_der": root_der.hex(), "now": (now or clock.now()).isoformat(), "limits": asdict(limits)}
    folder, slots = _slots_from_app()
    with _slot(folder, slots):
        return _run_child(json.dumps(header).encode() + b"\n" + data, limits)


def _child_environment() -> dict:
    """Only what Python needs to find the app's code: no secret of the parent reaches the child."""
    root = str(Path(__file__).resolve().parents[3])
    return {"PATH": os.defpath, "PYTHONPATH": root, "LANG": "C.UTF-8", "PYTHONDONTWRITEBYTECODE": "1"}


def _run_child(payload: bytes, limits: VerifyLimits) -> Verification:
    command = [sys.executable, "-s", "-m", "saas.modules.seals.isolation"]
    try:
        done = subprocess.run(command, input=payload, capture_output=True, env=_child_environment(),
                              timeout=limits.seconds + START_UP_SECONDS, cwd="/", check=False)
    except subprocess.TimeoutExpired:   # subprocess.run has killed it
        raise Refused("too_slow", limits.seconds) from None
    answer = _answer(done.stdout)
    if answer is None:   # killed by RLIMIT_CPU (SIGXCPU), out of memory, or crashed
        raise Refused("too_slow", limits.seconds)
    if "refused" in answer:
        raise Refused(answer["refused"], answer["limit"])
    answer["signed_at"] = datetime.fromisoformat(answer["signed_at"]) if answer["signed_at"] else None
    return Verification(**answer)


def _answer(stdout: bytes) -> dict | None:
    try:
        return json.loads(stdout.decode())
    except (UnicodeDecodeError, ValueError):
        return None


# ---- the child -----------------------------------------------------------------------------------

def _limit_myself(limits: VerifyLimits) -> None:
    import resource

    os.nice(10)
    resource.setrlimit(resource.RLIMIT_CPU, (limits.seconds, limits.seconds + 1))
    memory = limits.memory_mb * 1024 * 1024
    resource.setrlimit(resource.RLIMIT_AS, (memory, memory))
    resource.setrlimit(resource.RLIMIT_FSIZE, (0, 0))
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))


def _child_main() -> int:
    stdin = sys.stdin.buffer
    header = json.loads(stdin.readline())
    limits = VerifyLimits(**header["limits"])
    _limit_myself(limits)
    data = stdin.read(limits.max_bytes + 1)
    try:
        result = verify_pdf(data, root_der=bytes.fromhex(header["root_der"]),
                            now=datetime.fromisoformat(header["now"]), limits=limits)
    except Refused as refused:
        answer = {"refused": refused.code, "limit": refused.limit}
    except MemoryError:
        answer = {"refused": "too_slow", "limit": limits.seconds}
    else:
        answer = asdict(result)
        answer["signed_at"] = result.signed_at.isoformat() if result.signed_at else None
    sys.stdout.write(json.dumps(answer))
    sys.stdout.flush()
    return 0


if __name__ == "__main__":
    sys.exit(_child_main())
