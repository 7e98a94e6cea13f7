"""`saas backup ...` as an operator runs it: the installed console script in a subprocess, on SQLite or
PostgreSQL (SAAS_TEST_DB). The restore drill end to end: backup, erase two people through the erasure path,
dry run, restore: the purged person is neither readable nor present, the restricted one is restricted again,
the third comes back whole; a tampered file and wrong input fail with a clear message."""
from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from tests.test_cli_commands import _new_saas
from tests.test_erasure_replay_cli import ERASE, SETUP, _line, _run_script, _state

pytestmark = pytest.mark.slow


def test_backup_create_list_verify_and_the_restore_drill(tmp_path, pg_server, redis_server):
    saas = _new_saas(tmp_path / "instance-root", pg_server, redis_server)
    saas("db", "upgrade")
    ids = json.loads(_line(_run_script(saas, tmp_path, "setup", SETUP), "IDS"))

    usage = saas("backup", "create", ok=False)
    assert usage.returncode == 2 and "--tenant SLUG or --all" in usage.stderr
    created = saas("backup", "create", "--tenant", "replay").stdout
    path = Path(re.search(r"-> (\S+\.sbk)", created).group(1))
    assert created.startswith("replay: ") and path.parent == saas.instance / "backups" / "replay"
    assert oct(path.stat().st_mode & 0o777) == "0o600"
    assert str(path) in saas("backup", "list", "--tenant", "replay").stdout
    assert f"{path}: OK (replay, " in saas("backup", "verify", str(path)).stdout

    erased = _run_script(saas, tmp_path, "erase", ERASE, ids)
    assert "ERASED gone purged" in erased and "ERASED held restricted" in erased, erased
    after_erasure = _state(saas, tmp_path, ids)

    dry = saas("backup", "restore", "--tenant", "replay", str(path), "--dry-run").stdout
    assert "would come back: " in dry and "data_subject 2" in dry, dry
    assert f"not restored, erased after the backup: 1 {ids['gone']}" in dry
    assert f"restricted again: 1 {ids['held']}" in dry
    assert "voorbeeld-mail" not in dry and "Quirijn" not in dry              # ids and counts only
    assert _state(saas, tmp_path, ids) == after_erasure                       # the dry run wrote nothing

    done = saas("backup", "restore", "--tenant", "replay", str(path)).stdout
    assert "came back: " in done and f"erased after the backup: 1 {ids['gone']}" in done
    state = _state(saas, tmp_path, ids)
    assert state["gone"] is None                                              # not present, so not readable
    assert state["held"] == {"email": None, "notes": None, "iban": "NL91ABNA0417164300", "restricted": True}
    assert state["kept"] == {"email": "kept@voorbeeld-mail.nl", "notes": "Belt na 17 uur",
                             "iban": "NL91ABNA0417164300", "restricted": False}

    tampered = tmp_path / "tampered.sbk"
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0x01
    tampered.write_bytes(bytes(data))
    bad = saas("backup", "verify", str(tampered), ok=False)
    assert bad.returncode == 1 and "NOT OK" in bad.stderr and "MAC" in bad.stderr
    refused = saas("backup", "restore", "--tenant", "replay", str(tampered), ok=False)
    assert refused.returncode == 1 and "MAC" in refused.stderr
    unknown = saas("backup", "restore", "--tenant", "no-such-tenant", str(path), ok=False)
    assert unknown.returncode == 1 and "no-such-tenant" in unknown.stderr
    assert _state(saas, tmp_path, ids) == state
