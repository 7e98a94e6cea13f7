"""`saas erasure replay`, run as an operator runs it after restoring a backup of the data database: the
installed console script in a subprocess, on SQLite or PostgreSQL (SAAS_TEST_DB). A real backup is taken
before two people are erased and restored after (the key store, with its ledger, is not restored)."""
from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import make_url

from tests.test_cli_commands import DB_KIND, Saas, _new_saas

pytestmark = pytest.mark.slow

# Run inside `saas shell` (the app context of the instance under test), as one exec'd script each.
SETUP = """
import json
from datetime import date
from saas.core import tenancy
from saas.extensions import db
from saas.modules.subjects.models import DataSubject
from saas.modules.tenants import operations as tenant_operations

tenant, _ = tenant_operations.upsert("replay", name="Replay", plugins=["fiscal"])
db.session.commit()
tenancy.set_tenant(tenant.id)
ids = {}
# 'gone' ended in 2010: the fiscal 7 years are over, an erasure purges. 'held' and 'kept' ended in 2024: the
# fiscal fields are held, an erasure restricts 'held' to them.
for name, ended in (("gone", date(2010, 1, 1)), ("held", date(2024, 5, 1)), ("kept", date(2024, 5, 1))):
    person = DataSubject(category="client_contact", relationship_ended_on=ended)
    person.given_name, person.family_name, person.email = "Quirijn", name.title(), name + "@voorbeeld-mail.nl"
    person.notes, person.iban = "Belt na 17 uur", "NL91ABNA0417164300"
    db.session.add(person)
    db.session.flush()
    ids[name] = str(person.id)
db.session.commit()
tenancy.set_tenant(None)
print("IDS " + json.dumps({"tenant": tenant.id, **ids}))
"""

ERASE = """
import uuid
from saas.core import tenancy
from saas.extensions import db
from saas.modules.erasure import operations as erasure
from saas.modules.subjects.models import DataSubject

tenancy.set_tenant(IDS["tenant"])
for name in ("gone", "held"):
    outcome = erasure.erase_subject(db.session.get(DataSubject, uuid.UUID(IDS[name])), reason="rights_request")
    db.session.commit()
    print("ERASED", name, outcome.status)
tenancy.set_tenant(None)
"""

STATE = """
import json, uuid
from saas.core import tenancy
from saas.core.crypto.keyring import KeyMissing
from saas.extensions import db
from saas.modules.subjects.models import DataSubject

db.session.commit()
tenancy.set_tenant(IDS["tenant"])
state = {}
for name in ("gone", "held", "kept"):
    person = db.session.get(DataSubject, uuid.UUID(IDS[name]))
    try:
        state[name] = None if person is None else {"email": person.email, "notes": person.notes,
                                                   "iban": person.iban, "restricted": person.restricted_at is not None}
    except KeyMissing:   # the row is back, its key is not: unreadable, but not erased yet
        state[name] = "unreadable"
        db.session.rollback()
db.session.commit()
tenancy.set_tenant(None)
print("STATE " + json.dumps(state))
"""


def _run_script(saas: Saas, tmp_path: Path, name: str, script: str, ids: dict | None = None) -> str:
    path = tmp_path / f"{name}.py"
    path.write_text(f"IDS = {json.dumps(ids or {})}\n" + script)
    return saas("shell", stdin=f"exec(open({str(path)!r}).read())\n").stdout


def _line(output: str, tag: str) -> str:
    """The value of the line the script printed with this tag (the interactive shell prefixes `>>> `)."""
    return next(line for line in output.splitlines() if f"{tag} " in line).split(f"{tag} ", 1)[1]


def _state(saas, tmp_path, ids) -> dict:
    return json.loads(_line(_run_script(saas, tmp_path, "state", STATE, ids), "STATE"))


class DataBackup:
    """A copy of the data database only (SQLite: the file; PostgreSQL: a database made from it as template)."""

    def __init__(self, saas: Saas, pg_server):
        self.saas, self.pg_server = saas, pg_server

    def _sqlite_copy(self, source: Path, target: Path) -> None:
        with sqlite3.connect(source) as src, sqlite3.connect(target) as dst:
            src.backup(dst)

    def _pg(self, *statements: str) -> None:
        engine = sa.create_engine(self.pg_server.admin_url, isolation_level="AUTOCOMMIT", poolclass=sa.pool.NullPool)
        with engine.connect() as connection:
            for statement in statements:
                connection.execute(sa.text(statement))
        engine.dispose()

    @property
    def _name(self) -> str:
        return make_url(self.saas.env["DATABASE_OWNER_URL"]).database

    def take(self) -> None:
        if DB_KIND == "sqlite":
            self._sqlite_copy(self.saas.instance / "saas.db", self.saas.instance.parent / "backup.db")
        else:
            self._pg(f'CREATE DATABASE "{self._name}_backup" TEMPLATE "{self._name}"')

    def restore(self) -> None:
        if DB_KIND == "sqlite":
            self._sqlite_copy(self.saas.instance.parent / "backup.db", self.saas.instance / "saas.db")
        else:
            owner = make_url(self.saas.env["DATABASE_OWNER_URL"]).username
            self._pg(f'DROP DATABASE "{self._name}" WITH (FORCE)',
                     f'CREATE DATABASE "{self._name}" TEMPLATE "{self._name}_backup" OWNER "{owner}"',
                     f'DROP DATABASE "{self._name}_backup"')


def test_a_restored_backup_is_erased_and_restricted_again_by_the_replay(tmp_path, pg_server, redis_server):
    saas = _new_saas(tmp_path / "instance-root", pg_server, redis_server)
    saas("db", "upgrade")
    ids = json.loads(_line(_run_script(saas, tmp_path, "setup", SETUP), "IDS"))
    backup = DataBackup(saas, pg_server)
    backup.take()                                               # last night's backup: all three whole

    erased = _run_script(saas, tmp_path, "erase", ERASE, ids)
    assert "ERASED gone purged" in erased and "ERASED held restricted" in erased, erased
    after_erasure = _state(saas, tmp_path, ids)
    assert after_erasure["gone"] is None and after_erasure["held"]["email"] is None

    backup.restore()                                            # the data database only, as the README says
    saas("db", "upgrade")
    restored = _state(saas, tmp_path, ids)
    assert restored["gone"] == "unreadable"                    # the row is back; its key stays destroyed
    assert restored["held"]["email"] == "held@voorbeeld-mail.nl"
    assert restored["held"]["restricted"] is False

    replayed = saas("erasure", "replay").stdout
    assert "replay: 1 erased again, 1 restricted again" in replayed, replayed
    state = _state(saas, tmp_path, ids)
    assert state["gone"] is None
    assert state["held"] == {"email": None, "notes": None, "iban": "NL91ABNA0417164300", "restricted": True}
    assert state["kept"] == {"email": "kept@voorbeeld-mail.nl", "notes": "Belt na 17 uur",
                             "iban": "NL91ABNA0417164300", "restricted": False}

    again = saas("erasure", "replay", "--tenant", "replay").stdout   # idempotent
    assert again.strip() == "replay: 0 erased again, 0 restricted again"
    assert _state(saas, tmp_path, ids) == state
    unknown = saas("erasure", "replay", "--tenant", "no-such-tenant", ok=False)
    assert unknown.returncode == 1 and "no-such-tenant" in unknown.stderr and unknown.stdout == ""
