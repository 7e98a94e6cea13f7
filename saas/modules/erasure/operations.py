"""The one erasure of a data subject, and the steps every erasure is made of.

Who calls it: the portal's erase page and `DELETE /api/v1/<tenant>/subjects/<id>` (a rights request), the
re-consent "no" on the public consent page, and the retention sweeps (their purge and restrict actions call
`purge_ids`, `restrict_ids` and `destroy_keys` in batches, with their own decision records). Who may erase
is the access policy's question, asked by the callers; this module only does it.

An erasure asks the legal holds of the tenant's plugins first (`ErasureException`, e.g. the fiscal 7 years
of AWR art. 52(4)). While a hold runs, the held fields stay, restricted to that reason, the rest goes, and the
subject key stays: the kept fields must remain readable. Without a running hold everything goes: the rows
naming the person (consents, call notes, assignment links, mails, files), the subject row, then the key.

The rows and the key live in two databases. The order, so that a crash at any point loses nothing and
repeats nothing:
1. data: the decision (a `RetentionDecision`, completed=False), the rows deleted, one audit line: one commit;
2. key store: the subject key destroyed and the erasure ledger line written (a restore replays it): one commit;
3. data: the decision marked completed: one commit.
A crash after 1 leaves an unfinished decision: `finish_pending` (run by every erasure and every sweep)
does 2 and 3 again; destroying a key that is already gone changes nothing. The key is never destroyed
before the rows are gone, and never while a hold keeps fields readable.
"""
from __future__ import annotations

import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date
from functools import cache

import sqlalchemy as sa

from saas.core import clock
from saas.core import bulk
from saas.core.bulk import id_in, insert_rows
from saas.core.crypto.fields import EncryptedRow, encrypted_fields, subject_link
from saas.core.crypto.keyring import keyring
from saas.core.crypto.models import RestrictedSubject
from saas.core.models import ondelete_rule
from saas.core.tenancy import CrossTenantWrite, new_id, require_tenant_id
from saas.extensions import db
from saas.modules.audit import operations as audit
from saas.modules.erasure import queries
from saas.modules.files import storage
from saas.modules.files.models import StoredFile
from saas.modules.retention import queries as retention_queries
from saas.modules.retention import suppression
from saas.modules.retention.models import RetentionDecision
from saas.modules.retention.policies import active_holds, hold_end, hold_runs
from saas.modules.subjects.models import DataSubject
from saas.plugins.definitions import ErasureException, RecordView

ERASURE = "erasure"          # the decisions' policy name and the key ledger's reason for an erasure on request
SHREDDED = "retention"       # the key ledger's reason for a sweep's purges
PURGED, RESTRICTED = "purged", "restricted"
AUDIT_ACTION = "subject.erase"


# --- the outcome ---------------------------------------------------------------------------------------

@dataclass(frozen=True)
class KeptFields:
    """Fields a legal hold keeps, restricted to its reason, until (not including) `until`; `until` is None
    while the hold's start date is still open (e.g. the relationship has not ended)."""

    fields: tuple[str, ...]
    legal_basis: str
    until: date | None
    hold: str                # the hold's definition key, e.g. "fiscal.client_contact_fiscal_fields@v1"


@dataclass(frozen=True)
class ErasureOutcome:
    """What one erasure did, to show the person who asked: ids, field and table names only."""

    subject_id: uuid.UUID
    status: str                                        # PURGED: all gone; RESTRICTED: some fields kept
    erased_fields: tuple[str, ...]
    kept: tuple[KeptFields, ...] = ()
    removed: dict[str, int] = field(default_factory=dict)   # other tables: rows deleted (or unlinked)

    @property
    def kept_fields(self) -> tuple[str, ...]:
        return tuple(sorted({name for kept in self.kept for name in kept.fields}))


# --- the one erasure -----------------------------------------------------------------------------------

def erase_subject(subject: DataSubject, *, reason: str, suppress: bool = False) -> ErasureOutcome:
    """Erase one data subject (art. 17): restricted to what a running legal hold keeps, otherwise purged
    with its key. `reason` says why (e.g. "rights_request", "unsubscribed"), ids-only. `suppress` also puts
    the person's blind indexes on the suppression list. Commits (the steps of the module docstring);
    safe to call again after a crash at any point, and on a subject erased before."""
    require_own_tenant(subject)
    finish_pending()
    today = clock.today()
    if queries.is_erased(subject.id):
        # The key went before the rows (the old order, or a restored copy): nothing can be kept readable
        # any more, so the rows go too, and the ledger says so already.
        return _purge_one(subject, reason, False, today)
    view = retention_queries.record_view(subject)
    holds = tuple(h for h in active_holds(retention_queries.current_tenant()) if hold_runs(h, view, today))
    if holds:
        return _restrict_one(subject, view, holds, reason, today)
    return _purge_one(subject, reason, suppress, today)


def require_own_tenant(record) -> None:
    """A record of another tenant is refused before anything is written (the bulk statements are filtered
    by tenant, but a key ledger line would name the wrong tenant)."""
    if record.tenant_id != require_tenant_id():
        raise CrossTenantWrite(f"{type(record).__name__} belongs to another tenant")


def _restrict_one(subject: DataSubject, view: RecordView, holds: Sequence[ErasureException], reason: str,
                  today: date) -> ErasureOutcome:
    kept_names = frozenset(name for hold in holds for name in hold.fields)
    kept = tuple(KeptFields(tuple(hold.fields), hold.reason, hold_end(hold, view), hold.key) for hold in holds)
    erased = tuple(f.name for f in encrypted_fields(DataSubject) if f.name not in kept_names)
    subject_id = subject.id
    removed: dict[str, int] = {}
    if not view.restricted:     # restricted before (an earlier request): nothing more to erase
        duties = "; ".join(dict.fromkeys(hold.reason for hold in holds))
        removed = restrict_ids([subject_id], kept_names, duties)   # the record page shows the legal duty, not a code
        _decide(subject_id, view.category, RESTRICTED, today, f"{reason}; {duties}", completed=True)
        audit.record(AUDIT_ACTION, "data_subject", subject_id, detail={
            "outcome": RESTRICTED, "reason": reason, "holds": [hold.key for hold in holds],
            "kept": sorted(kept_names)})
    db.session.commit()
    return ErasureOutcome(subject_id, RESTRICTED, erased, kept, removed)


def _purge_one(subject: DataSubject, reason: str, suppress: bool, today: date) -> ErasureOutcome:
    subject_id, category = subject.id, subject.category
    if suppress:
        suppress_ids([(subject_id, ERASURE)])   # the suppression list names the kind of removal, not the request
    removed = purge_ids([subject_id])
    decision_id = _decide(subject_id, category, PURGED, today, reason, completed=False)
    audit.record(AUDIT_ACTION, "data_subject", subject_id,
                 detail={"outcome": PURGED, "reason": reason, "suppressed": suppress})
    db.session.commit()                                   # step 1: the rows are gone
    finish_purges([(decision_id, subject_id, ERASURE)])   # steps 2 and 3: the key, then the decision
    return ErasureOutcome(subject_id, PURGED, tuple(f.name for f in encrypted_fields(DataSubject)), (), removed)


def _decide(subject_id: uuid.UUID, category: str, status: str, today: date, reason: str,
            *, completed: bool) -> uuid.UUID:
    """The erasure as a retention decision: shown in the same list as a sweep's, and the journal that
    lets a crashed purge be finished. One per subject and day (a repeat on the same day finds it)."""
    decision_id = new_id()
    insert_rows(RetentionDecision, [{
        "id": decision_id, "tenant_id": require_tenant_id(), "record_kind": "subject", "record_id": subject_id,
        "category": category, "policy": ERASURE, "policy_version": 1,
        "action": "purge" if status == PURGED else "restrict", "due_on": today, "decided_at": clock.now(),
        "sweep_run_id": None, "completed": completed, "reason": (reason or "")[:200] or None,
    }], skip_existing=True)
    existing = db.session.scalar(sa.select(RetentionDecision.id).where(
        RetentionDecision.record_id == subject_id, RetentionDecision.policy == ERASURE,
        RetentionDecision.due_on == today))
    return existing or decision_id


# --- the steps, one subject or a sweep's batch -----------------------------------------------------------

def suppress_ids(pairs: Iterable[tuple[uuid.UUID, str]]) -> None:
    """Blind indexes to the suppression list before the rows go (read as plain columns, no decryption)."""
    reason_of = dict(pairs)
    for chunk in bulk.chunks(list(reason_of)):
        rows = db.session.execute(sa.select(DataSubject.id, DataSubject.email_bidx, DataSubject.phone_bidx)
                                  .where(id_in(DataSubject.id, chunk)))
        suppression.suppress_many([(email_bidx, phone_bidx, reason_of[subject_id])
                                   for subject_id, email_bidx, phone_bidx in rows])


def restrict_ids(ids: Sequence[uuid.UUID], kept: frozenset[str], reason: str | None) -> dict[str, int]:
    """Erase every encrypted field (and blind index) of these subjects but `kept`, and the rows that
    name them (consents, call notes, mails, assignment links) unless a kept name is their table's; the
    subject key stays, for the kept fields. The fields share one ciphertext per row, so each row is
    read and sealed again with only the kept ones. Returns the rows removed per table."""
    erased = [f.name for f in encrypted_fields(DataSubject) if f.name not in kept]
    removed: dict[str, int] = {}
    for chunk in bulk.chunks(list(ids)):
        keyring().prefetch(chunk)
        for subject in db.session.scalars(sa.select(DataSubject).where(id_in(DataSubject.id, chunk))):
            for name in erased:
                setattr(subject, name, None)
            subject.restricted_at = clock.now()
            subject.restriction_reason = (reason or "")[:200] or None
            subject.needs_verification_since = None
        db.session.flush()
        _add(removed, delete_dependent_rows(chunk, keep=kept))
        _ledger_restricted(chunk, kept, reason)
    return removed


def _ledger_restricted(ids: Sequence[uuid.UUID], kept: frozenset[str], reason: str | None) -> None:
    """The restriction in the key store's ledger, in the same transaction (a restore of an older copy of
    the data replays it: `replay_ledger`). The newest restriction of a subject replaces an older line."""
    db.session.execute(sa.delete(RestrictedSubject).where(id_in(RestrictedSubject.subject_id, ids))
                       .execution_options(synchronize_session=False))
    now, tenant_id, names = clock.now(), require_tenant_id(), ",".join(sorted(kept))[:300]
    insert_rows(RestrictedSubject, [{"tenant_id": tenant_id, "subject_id": subject_id, "kept_fields": names,
                                     "reason": (reason or "")[:200] or None, "restricted_at": now}
                                    for subject_id in ids])


def purge_ids(ids: Sequence[uuid.UUID]) -> dict[str, int]:
    """Delete these subjects and every row that names them (step 1 of a purge; the keys follow).
    Returns the rows removed per other table."""
    ids = list(dict.fromkeys(ids))
    removed: dict[str, int] = {}
    for chunk in bulk.chunks(ids):
        _add(removed, delete_dependent_rows(chunk))
        db.session.execute(sa.delete(DataSubject).where(id_in(DataSubject.id, chunk))
                           .execution_options(synchronize_session=False))
    bulk.forget_loaded(DataSubject, ids, expunge=True)
    return removed


def _add(total: dict[str, int], more: dict[str, int]) -> None:
    for name, count in more.items():
        total[name] = total.get(name, 0) + count


@cache
def subject_dependents() -> tuple[tuple[type, object, str], ...]:
    """(model, its column naming the subject, what happens to its rows) for every table that names a data
    subject: by a foreign key (its ON DELETE: CASCADE deletes, SET NULL clears), or as the subject whose
    key encrypts the row (mails, files). Dependents first, so deletes respect each other's keys.
    Done by hand because SQLite, the laptop default, does not enforce foreign keys."""
    subject_table = DataSubject.__table__
    order = {table: index for index, table in enumerate(db.metadata.sorted_tables)}
    found = {}
    for mapper in db.Model.registry.mappers:
        model, table = mapper.class_, mapper.local_table
        if table is subject_table or not getattr(model, "__tenant_scoped__", False):
            continue
        for fk in table.foreign_keys:
            # Keys between tenant tables are (tenant_id, x_id): the subject is named by x_id.
            if fk.references(subject_table) and fk.parent.name != "tenant_id":
                rule = ondelete_rule(fk)
                if rule not in ("CASCADE", "SET NULL"):
                    raise RuntimeError(f"{table.name}.{fk.parent.name} references data_subject without ON DELETE "
                                       "CASCADE or SET NULL: say what a purge does with its rows")
                found[model] = (getattr(model, fk.parent.key), rule)
        if model not in found and issubclass(model, EncryptedRow) and model.__subject_link__ is None:
            link = subject_link(model)
            if link.key != "id":
                found[model] = (link, "CASCADE")
    ranked = sorted(found.items(), key=lambda item: -order.get(item[0].__table__, 0))
    return tuple((model, column, rule) for model, (column, rule) in ranked)


def delete_dependent_rows(subject_ids: Sequence[uuid.UUID], keep: Iterable[str] = ()) -> dict[str, int]:
    """Rows of other tables that name these subjects: deleted (or their link cleared, for SET NULL),
    except tables named in `keep`. Stored files also leave the disk once this commits.
    Returns the rows affected per table (tables without any left out)."""
    keep = set(keep)
    removed: dict[str, int] = {}
    for model, column, rule in subject_dependents():
        if model.__tablename__ in keep:
            continue
        if model is StoredFile:
            for stored in db.session.scalars(sa.select(StoredFile).where(id_in(StoredFile.subject_id, subject_ids))):
                storage.remove_after_commit(stored)
        if rule == "SET NULL":
            statement = sa.update(model).where(id_in(column, subject_ids)).values({column.key: None})
        else:
            statement = sa.delete(model).where(id_in(column, subject_ids))
        result = db.session.execute(statement.execution_options(synchronize_session=False))
        if result.rowcount and result.rowcount > 0:
            removed[model.__tablename__] = removed.get(model.__tablename__, 0) + result.rowcount
        if rule != "SET NULL":
            _forget_rows_of(model, column.key, subject_ids)
    return removed


def _forget_rows_of(model, column: str, subject_ids) -> None:
    wanted = set(subject_ids)
    for key, obj in list(db.session.identity_map.items()):
        if key[0] is model and sa.inspect(obj).dict.get(column) in wanted:
            db.session.expunge(obj)


def destroy_keys(pending: Sequence[tuple[uuid.UUID, uuid.UUID, str]]) -> None:
    """Step 2, after step 1 committed: destroy the subjects' keys (ledger lines with the reason: "erasure"
    for an erasure on request, "retention" for a sweep's purges) and commit. Safe to repeat."""
    if not pending:
        return
    tenant_id = require_tenant_id()
    by_reason: dict[str, list[uuid.UUID]] = {}
    for _, subject_id, policy in pending:
        by_reason.setdefault(policy if policy == ERASURE else SHREDDED, []).append(subject_id)
    for reason, subject_ids in by_reason.items():
        keyring().destroy_subject_keys(tenant_id, subject_ids, reason)
    db.session.commit()


def mark_completed(decision_ids: Sequence[uuid.UUID]) -> None:
    """Step 3: the purges whose keys are gone are complete. Caller commits."""
    for chunk in bulk.chunks(list(decision_ids)):
        db.session.execute(sa.update(RetentionDecision)
                           .where(id_in(RetentionDecision.id, chunk), sa.not_(RetentionDecision.completed))
                           .values(completed=True).execution_options(synchronize_session=False))


def finish_purges(pending: Sequence[tuple[uuid.UUID, uuid.UUID, str]]) -> None:
    """Steps 2 and 3 of a purge, after step 1 committed. Commits twice. Safe to repeat."""
    destroy_keys(pending)
    mark_completed([decision_id for decision_id, _, _ in pending])
    db.session.commit()


@dataclass(frozen=True)
class Replayed:
    """What a replay of the ledger changed in one tenant: people erased again, people restricted again."""

    erased: int = 0
    restricted: int = 0

    @property
    def total(self) -> int:
        return self.erased + self.restricted


def replay_ledger(batch: int = bulk.CHUNK) -> Replayed:
    """After restoring an older copy of the data (the key store is never restored), before anything else
    is written: the rows of every subject whose key is gone go again, and every restriction is applied
    again to a subject the copy holds unrestricted. Idempotent (a second run changes nothing); one
    ids-only audit line when it changed something. Commits."""
    erased, restricted, after = 0, 0, None
    while ids := queries.ledger_ids(after, batch):
        after = ids[-1]
        present = list(db.session.scalars(sa.select(DataSubject.id).where(id_in(DataSubject.id, ids))))
        if present:
            purge_ids(present)
            erased += len(present)
    after = None
    while lines := queries.restricted_lines(after, batch):
        after = lines[-1].subject_id
        reason_of = {line.subject_id: line for line in lines}
        revived = list(db.session.scalars(sa.select(DataSubject.id).where(
            id_in(DataSubject.id, list(reason_of)), DataSubject.restricted_at.is_(None))))
        for subject_id in revived:
            line = reason_of[subject_id]
            restrict_ids([subject_id], frozenset(filter(None, line.kept_fields.split(","))), line.reason)
        restricted += len(revived)
    if erased or restricted:
        audit.record("subject.erase.replay", "tenant", require_tenant_id(),
                     detail={"subjects": erased + restricted, "erased": erased, "restricted": restricted})
    db.session.commit()
    return Replayed(erased, restricted)


def finish_pending() -> int:
    """Finish the purges a crash left between the two databases (rows gone, key maybe not). Returns how many."""
    done = 0
    while pending := retention_queries.pending_purges():
        finish_purges(pending)
        done += len(pending)
    return done
