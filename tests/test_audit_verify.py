"""The hash-chained audit log: `verify` finds the first changed, inserted or deleted entry."""
from __future__ import annotations

from types import SimpleNamespace

import pytest
import sqlalchemy as sa

from saas.cli import cli
from saas.core import tenancy
from saas.extensions import db
from saas.modules.audit import operations as audit
from saas.modules.audit.queries import verify
from saas.testing.core import database_only


ENTRIES = 5
COLUMNS = "tenant_id, seq, at, actor_kind, actor_id, action, object_type, object_id, outcome, detail, prev_hash, hash"


@pytest.fixture()
def logged(make_tenant):
    """A tenant with five audit entries."""
    tenant = make_tenant()
    db.session.commit()
    with tenancy.tenant_context(tenant.id):
        for n in range(1, ENTRIES + 1):
            audit.record("subject.read", "data_subject", f"id-{n}", detail={"n": n})
        db.session.commit()
    return tenant


def _forged_hash(row: dict, **changes) -> str:
    return audit.entry_hash(SimpleNamespace(**{**row, **changes}))


def _copy_row(tamper, tenant, source: dict, seq: int, prev_hash: str, action: str = "subject.export") -> None:
    """Insert a forged entry at `seq` made from `source`, with a hash that matches its own content."""
    forged = _forged_hash(source, seq=seq, action=action, prev_hash=prev_hash)
    tamper(tenant, f"INSERT INTO audit_entry ({COLUMNS}) "
                   "SELECT tenant_id, :seq, at, actor_kind, actor_id, :action, object_type, object_id, outcome, "
                   "detail, :prev_hash, :hash FROM audit_entry WHERE tenant_id = :tenant_id AND seq = :source",
           seq=seq, action=action, prev_hash=prev_hash, hash=forged, source=source["seq"])


def _shift(tamper, tenant, seqs, by: int) -> None:
    """Renumber entries one by one (in an order that never collides), as a careful forger would."""
    for seq in seqs:
        tamper(tenant, "UPDATE audit_entry SET seq = :new WHERE tenant_id = :tenant_id AND seq = :old",
               old=seq, new=seq + by)


def test_intact_log_verifies(logged, make_tenant):
    result = verify(logged.id)
    assert result.ok and result.count == ENTRIES and str(result) == f"ok: {ENTRIES} entries"
    assert verify(make_tenant().id).ok


def test_changed_entry(logged, tamper):
    tamper(logged, "UPDATE audit_entry SET outcome = 'ok', action = 'subject.list' "
                   "WHERE tenant_id = :tenant_id AND seq = 3")
    result = verify(logged.id)
    assert (result.ok, result.seq, result.kind) == (False, 3, "changed")


def test_changed_last_entry_with_a_recomputed_hash(logged, tamper, audit_rows):
    last = audit_rows(logged)[-1]
    tamper(logged, "UPDATE audit_entry SET action = 'subject.list', hash = :hash "
                   "WHERE tenant_id = :tenant_id AND seq = :seq",
           hash=_forged_hash(last, action="subject.list"), seq=last["seq"])
    result = verify(logged.id)
    assert (result.seq, result.kind) == (ENTRIES, "changed")


def test_entry_inserted_beyond_the_head(logged, tamper, audit_rows):
    rows = audit_rows(logged)
    _copy_row(tamper, logged, rows[1], seq=ENTRIES + 1, prev_hash=rows[-1]["hash"])
    result = verify(logged.id)
    assert (result.seq, result.kind) == (ENTRIES + 1, "inserted")


def test_entry_that_does_not_chain(logged, tamper, audit_rows):
    row = audit_rows(logged)[2]
    bogus = "f" * 64
    tamper(logged, "UPDATE audit_entry SET prev_hash = :prev, hash = :hash WHERE tenant_id = :tenant_id AND seq = 3",
           prev=bogus, hash=_forged_hash(row, prev_hash=bogus))
    result = verify(logged.id)
    assert (result.seq, result.kind) == (3, "inserted")


def test_entry_inserted_in_the_middle_with_the_rest_renumbered(logged, tamper, audit_rows):
    rows = audit_rows(logged)
    _shift(tamper, logged, [5, 4, 3], by=1)
    _copy_row(tamper, logged, rows[0], seq=3, prev_hash=rows[1]["hash"])
    result = verify(logged.id)
    assert (result.seq, result.kind) == (3, "inserted")


def test_entry_deleted_in_the_middle(logged, tamper):
    tamper(logged, "DELETE FROM audit_entry WHERE tenant_id = :tenant_id AND seq = 3")
    result = verify(logged.id)
    assert (result.ok, result.count, result.seq, result.kind) == (False, 2, 3, "deleted")


def test_entry_deleted_in_the_middle_with_the_rest_renumbered(logged, tamper):
    tamper(logged, "DELETE FROM audit_entry WHERE tenant_id = :tenant_id AND seq = 2")
    _shift(tamper, logged, [3, 4, 5], by=-1)
    result = verify(logged.id)
    assert (result.seq, result.kind) == (2, "deleted")


def test_last_entry_deleted(logged, tamper):
    tamper(logged, f"DELETE FROM audit_entry WHERE tenant_id = :tenant_id AND seq = {ENTRIES}")
    result = verify(logged.id)
    assert (result.count, result.seq, result.kind) == (ENTRIES - 1, ENTRIES, "deleted")


def test_tampering_in_one_tenant_leaves_the_others_valid(logged, make_tenant, tamper):
    other = make_tenant()
    with tenancy.tenant_context(other.id):
        audit.record("tenant.configure", "tenant", other.id)
        db.session.commit()
    tamper(logged, "DELETE FROM audit_entry WHERE tenant_id = :tenant_id AND seq = 1")
    assert not verify(logged.id).ok
    assert verify(other.id).ok


def test_cli_prints_ok_or_the_first_problem_with_exit_code(app, logged, tamper):
    runner = app.test_cli_runner()
    result = runner.invoke(cli, ["audit", "verify", "--tenant", logged.slug])
    assert (result.exit_code, result.output.strip()) == (0, f"ok: {ENTRIES} entries")
    tamper(logged, "DELETE FROM audit_entry WHERE tenant_id = :tenant_id AND seq = 4")
    result = runner.invoke(cli, ["audit", "verify", "--tenant", logged.slug])
    assert result.exit_code == 1
    assert result.output.startswith("seq 4: deleted")
    assert runner.invoke(cli, ["audit", "verify", "--tenant", "no-such-tenant"]).exit_code == 1


# Only PostgreSQL has roles and triggers to enforce append-only; SQLite relies on verify above.
postgresql_only = database_only("postgresql", "roles and a trigger keep the audit log append-only")


def _run(url: str, tenant, sql: str) -> None:
    engine = sa.create_engine(url)
    try:
        with engine.begin() as conn:
            conn.execute(sa.text("SELECT set_config('app.tenant_id', :t, true)"), {"t": str(tenant.id)})
            conn.execute(sa.text(sql), {"tenant_id": tenant.id})
    finally:
        engine.dispose()


@postgresql_only
@pytest.mark.parametrize("sql", [
    "UPDATE audit_entry SET action = 'x' WHERE tenant_id = :tenant_id",
    "DELETE FROM audit_entry WHERE tenant_id = :tenant_id",
    "TRUNCATE audit_entry",
])
def test_app_role_cannot_change_or_delete_entries(logged, settings, sql):
    db.session.commit()
    with pytest.raises(sa.exc.ProgrammingError, match="permission denied"):
        _run(settings.database_url, logged, sql)
    assert verify(logged.id).ok


@postgresql_only
@pytest.mark.parametrize("sql", [
    "UPDATE audit_entry SET action = 'x' WHERE tenant_id = :tenant_id",
    "DELETE FROM audit_entry WHERE tenant_id = :tenant_id",
])
def test_even_the_owner_is_stopped_by_the_trigger(logged, settings, sql):
    db.session.commit()
    with pytest.raises(sa.exc.DBAPIError, match="append-only"):
        _run(settings.database_owner_url, logged, sql)
    assert verify(logged.id).ok
