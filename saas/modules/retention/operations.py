"""Applying retention decisions in the tenant's session, and the single-record actions built on them
(verify a flagged record, mark a person as left, erase for a rights request or an unsubscribe).

`apply(decided)` takes many (view, decision) pairs and does each action in a few statements: one UPDATE
per batch for the flags, batched DELETEs for the purges, one bulk INSERT of the decisions and one of the
audit lines. The single-record functions go through the same path. Audit lines carry ids only.

A purge spans two databases (the rows here, the subject key in the key store). The order, so that a crash
at any point loses nothing and repeats nothing (see `RetentionDecision.completed`):
1. data: the decision (completed=False) is stored, the rows deleted, the audit written: one commit;
2. key store: the subject keys destroyed, the ledger lines written: one commit (`destroy_keys`);
3. data: the decisions marked completed (`mark_completed`; a sweep does it in its next batch's transaction).
A run killed after step 1 finds the unfinished purges (`queries.pending_purges`) and does 2 and 3 again;
destroying a key that is already gone changes nothing.
"""
from __future__ import annotations

import uuid
from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta
from functools import cache

import sqlalchemy as sa
from flask_babel import force_locale, gettext

from saas.core import clock
from saas.core.bulk import id_in, insert_rows
from saas.core.crypto.fields import EncryptedRow, encrypted_fields, subject_link
from saas.core.crypto.keyring import keyring
from saas.core.tenancy import CrossTenantWrite, new_id, require_tenant_id
from saas.core.web import external_url
from saas.extensions import db
from saas.modules.audit import operations as audit
from saas.modules.companies.models import Company
from saas.modules.consents import operations as consents
from saas.modules.consents.models import ConsentRequest
from saas.modules.files import storage
from saas.modules.files.models import StoredFile
from saas.modules.outbox.operations import queue_mail
from saas.modules.retention import queries, suppression
from saas.modules.retention.engine import Decision, Ruleset
from saas.modules.retention.models import RetentionDecision
from saas.modules.retention.policies import EffectivePolicy, Period, active_holds, effective_policies, hold_runs
from saas.modules.subjects.models import DataSubject
from saas.plugins.definitions import ErasureException, RecordView, RetentionPolicy

CHUNK = 5000                       # ids per statement (an array on PostgreSQL; SQLite allows 32,766 parameters)
RECONSENT_VALID = timedelta(days=60)
RECONSENT_TEMPLATE = "retention.reconsent"
ANSWER_ENDPOINT = "consents_public.answer"
NO_EMAIL = "no_email"
SHREDDED = "retention"             # the key store ledger's reason for a sweep's purges
ERASURE = "erasure"                # the policy name of decisions made by an erasure (not by a sweep)
PURGED, RESTRICTED = "purged", "restricted"


def _erasure_policy(suppress: bool) -> EffectivePolicy:
    """Erasures on request are decisions too (crash-safe like a sweep's purge, shown in the same list)."""
    definition = RetentionPolicy(name=ERASURE, version=1, category="", anchor="created_on", action="purge",
                                 suppress=suppress, plugin="core",
                                 description="Erased on request (rights request, unsubscribe, left the company).")
    return EffectivePolicy(definition, Period(), "created_on", True)


@dataclass
class Applied:
    """What `apply` did: counts per (policy key, action), and the purges still to finish in the key store."""

    counts: Counter = field(default_factory=Counter)
    pending: list[tuple[uuid.UUID, uuid.UUID, str]] = field(default_factory=list)  # decision, subject, policy


def _chunks(ids: Sequence, size: int = CHUNK):
    for start in range(0, len(ids), size):
        yield ids[start:start + size]


# --- apply -----------------------------------------------------------------------------------------

def apply(decided: Iterable[tuple[RecordView, Decision]], *, today: date,
          sweep_run_id: uuid.UUID | None = None) -> Applied:
    """Carry out decisions made by the engine, store them and audit them. The caller left out decisions
    made before; one that slips through (same record, policy and due date) is not stored twice. Purges
    are finished by `finish_purges` (or a sweep's next batches) after the caller commits."""
    tenant_id = require_tenant_id()
    by_action: dict[str, list[tuple[RecordView, Decision]]] = defaultdict(list)
    for view, decision in decided:
        by_action[decision.action].append((view, decision))
    reasons: dict[tuple[uuid.UUID, str], str] = {}
    _flag(by_action["flag"], today)
    reasons.update(_request_reconsent(by_action["reconsent"]))
    _restrict(by_action["restrict"])
    _purge(by_action["purge"])

    applied = Applied()
    rows = []
    now = clock.now()
    for action, items in by_action.items():
        for view, decision in items:
            decision_id = new_id()
            reason = reasons.get((view.id, decision.policy.name)) or decision.reason
            rows.append({
                "id": decision_id, "tenant_id": tenant_id, "record_kind": view.kind, "record_id": view.id,
                "category": view.category, "policy": decision.policy.name,
                "policy_version": decision.policy.version, "action": action, "due_on": decision.due_on,
                "decided_at": now, "sweep_run_id": sweep_run_id, "completed": action != "purge",
                "reason": reason[:200] if reason else None,
            })
            applied.counts[(decision.policy.key, action)] += 1
            if action == "purge":
                applied.pending.append((decision_id, view.id, decision.policy.name))
    insert_rows(RetentionDecision, rows, skip_existing=True)
    _audit(by_action, sweep_run_id)
    return applied


def _audit(by_action: dict, sweep_run_id) -> None:
    """Ends of records (purge, restrict) one line per record; the rest one line per policy and batch
    in a sweep (the decisions name the records), one line per record otherwise."""
    for action, items in by_action.items():
        by_policy: dict[str, list[RecordView]] = defaultdict(list)
        for view, decision in items:
            by_policy[decision.policy.key].append(view)
        for key, views in by_policy.items():
            if sweep_run_id is not None and action not in ("purge", "restrict"):
                audit.record(f"retention.{action}", "sweep_run", sweep_run_id,
                             detail={"policy": key, "count": len(views)})
                continue
            for kind, ids in _by_kind(views).items():
                audit.record_many(f"retention.{action}", _object_type(kind), ids, detail={"policy": key})


def _by_kind(views: Iterable[RecordView]) -> dict[str, list[uuid.UUID]]:
    found: dict[str, list[uuid.UUID]] = defaultdict(list)
    for view in views:
        found[view.kind].append(view.id)
    return found


def _object_type(kind: str) -> str:
    return "company" if kind == "company" else "data_subject"


def _forget(model, ids, *, expunge: bool = False) -> None:
    """Loaded objects of rows changed by a bulk statement: expired (read again) or, when deleted, dropped."""
    wanted = set(ids)
    for key, obj in list(db.session.identity_map.items()):
        if key[0] is model and key[1][0] in wanted:   # by identity key: reading an expired row would load it
            if expunge:
                db.session.expunge(obj)
            else:
                db.session.expire(obj)


# --- flag ------------------------------------------------------------------------------------------

def _flag(items: list[tuple[RecordView, Decision]], today: date) -> None:
    """Unusable until verified: the date is set once (a second flag policy due the same day keeps it)."""
    for kind, ids in _by_kind(view for view, _ in items).items():
        model = Company if kind == "company" else DataSubject
        ids = list(dict.fromkeys(ids))
        for chunk in _chunks(ids):
            db.session.execute(
                sa.update(model).where(id_in(model.id, chunk), model.needs_verification_since.is_(None))
                .values(needs_verification_since=today).execution_options(synchronize_session=False))
        _forget(model, ids)


# --- re-consent --------------------------------------------------------------------------------------

def _request_reconsent(items: list[tuple[RecordView, Decision]]) -> dict[tuple[uuid.UUID, str], str]:
    """A re-consent mail per subject (decrypting only these subjects' e-mail addresses). Returns the
    reasons of those that could not be asked (no e-mail address)."""
    if not items:
        return {}
    ids = list(dict.fromkeys(view.id for view, _ in items))
    subjects = {}
    for chunk in _chunks(ids):
        query = sa.select(DataSubject).where(id_in(DataSubject.id, chunk))
        subjects.update({subject.id: subject for subject in db.session.scalars(query)})
    keyring().prefetch(ids)
    tenant = queries.current_tenant()
    skipped = {}
    for view, decision in items:
        subject = subjects.get(view.id)
        if subject is None or not subject.email:
            skipped[(view.id, decision.policy.name)] = NO_EMAIL
            continue
        _send_reconsent(subject, decision, tenant)
    return skipped


def _send_reconsent(subject: DataSubject, decision: Decision, tenant) -> ConsentRequest:
    request, token = consents.create_request(subject, decision.policy.purpose, decision.due_on,
                                             clock.now() + RECONSENT_VALID)
    link = external_url(ANSWER_ENDPOINT, token=token)
    with force_locale(tenant.locale or "nl"):
        subject_line = gettext("%(organisation)s: may we keep your details?", organisation=tenant.name)
        body = gettext(
            "Dear %(name)s,\n\n"
            "You are registered with %(organisation)s. We have not been in touch for a while, so we ask you "
            "again whether we may keep your details for this purpose.\n\n"
            "Please answer through this link (valid until %(until)s):\n%(link)s\n\n"
            "Without an answer your details are deleted when our retention period ends.\n\n%(organisation)s",
            name=subject.full_name or subject.email, organisation=tenant.name, link=link,
            until=clock.local(request.expires_at).date().isoformat(),
        )
    mail = queue_mail(subject.email, subject_line, body, template=RECONSENT_TEMPLATE, subject_id=subject.id)
    request.mail_id = mail.id
    return request


# --- restrict ----------------------------------------------------------------------------------------

def _restrict(items: list[tuple[RecordView, Decision]]) -> None:
    groups: dict[tuple[frozenset, str | None], list[uuid.UUID]] = defaultdict(list)
    for view, decision in items:
        groups[(decision.kept_fields, decision.reason)].append(view.id)
    for (kept, reason), ids in groups.items():
        restrict_ids(ids, kept, reason)


def restrict_ids(ids: Sequence[uuid.UUID], kept: frozenset[str], reason: str | None) -> None:
    """Erase every encrypted field (and blind index) of these subjects but `kept`, and the rows that
    name them (consents, call notes, mails, assignment links) unless a kept name is their table's; the
    subject key stays, for the kept fields. The fields share one ciphertext per row, so each row is
    read and sealed again with only the kept ones."""
    erased = [field.name for field in encrypted_fields(DataSubject) if field.name not in kept]
    for chunk in _chunks(list(ids)):
        keyring().prefetch(chunk)
        for subject in db.session.scalars(sa.select(DataSubject).where(id_in(DataSubject.id, chunk))):
            for name in erased:
                setattr(subject, name, None)
            subject.restricted_at = clock.now()
            subject.restriction_reason = (reason or "")[:200] or None
            subject.needs_verification_since = None
        db.session.flush()
        delete_dependent_rows(chunk, keep=kept)


# --- purge -------------------------------------------------------------------------------------------

def _purge(items: list[tuple[RecordView, Decision]]) -> None:
    if not items:
        return
    suppressed = [(view.id, decision.policy.name) for view, decision in items if decision.policy.suppress]
    if suppressed:
        _suppress(suppressed)
    purge_ids([view.id for view, _ in items])


def _suppress(pairs: list[tuple[uuid.UUID, str]]) -> None:
    """Blind indexes to the suppression list before the rows go (read as plain columns, no decryption)."""
    reason_of = dict(pairs)
    for chunk in _chunks(list(reason_of)):
        rows = db.session.execute(sa.select(DataSubject.id, DataSubject.email_bidx, DataSubject.phone_bidx)
                                  .where(id_in(DataSubject.id, chunk)))
        suppression.suppress_many([(email_bidx, phone_bidx, reason_of[subject_id])
                                   for subject_id, email_bidx, phone_bidx in rows])


def purge_ids(ids: Sequence[uuid.UUID]) -> None:
    """Delete these subjects and every row that names them (step 1 of a purge; the keys follow)."""
    ids = list(dict.fromkeys(ids))
    for chunk in _chunks(ids):
        delete_dependent_rows(chunk)
        db.session.execute(sa.delete(DataSubject).where(id_in(DataSubject.id, chunk))
                           .execution_options(synchronize_session=False))
    _forget(DataSubject, ids, expunge=True)


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
            if fk.references(subject_table):
                rule = (fk.ondelete or "NO ACTION").upper()
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


def delete_dependent_rows(subject_ids: Sequence[uuid.UUID], keep: Iterable[str] = ()) -> None:
    """Rows of other tables that name these subjects: deleted (or their link cleared, for SET NULL),
    except tables named in `keep`. Stored files also leave the disk once this commits."""
    keep = set(keep)
    for model, column, rule in subject_dependents():
        if model.__tablename__ in keep:
            continue
        if model is StoredFile:
            for stored in db.session.scalars(sa.select(StoredFile).where(id_in(StoredFile.subject_id, subject_ids))):
                storage.remove_after_commit(db.session(), stored)
        if rule == "SET NULL":
            statement = sa.update(model).where(id_in(column, subject_ids)).values({column.key: None})
        else:
            statement = sa.delete(model).where(id_in(column, subject_ids))
        db.session.execute(statement.execution_options(synchronize_session=False))
        if rule != "SET NULL":
            _forget_rows_of(model, column.key, subject_ids)


def _forget_rows_of(model, column: str, subject_ids) -> None:
    wanted = set(subject_ids)
    for key, obj in list(db.session.identity_map.items()):
        if key[0] is model and sa.inspect(obj).dict.get(column) in wanted:
            db.session.expunge(obj)


def destroy_keys(pending: Sequence[tuple[uuid.UUID, uuid.UUID, str]]) -> None:
    """Step 2 of a purge, after step 1 committed: destroy the subjects' keys (ledger lines with the reason)
    and commit. Safe to repeat."""
    if not pending:
        return
    tenant_id = require_tenant_id()
    by_reason: dict[str, list[uuid.UUID]] = defaultdict(list)
    for _, subject_id, policy in pending:
        by_reason[policy if policy == ERASURE else SHREDDED].append(subject_id)
    for reason, subject_ids in by_reason.items():
        keyring().destroy_subject_keys(tenant_id, subject_ids, reason)
    db.session.commit()


def mark_completed(decision_ids: Sequence[uuid.UUID]) -> None:
    """Step 3: the purges whose keys are gone are complete. Caller commits."""
    for chunk in _chunks(list(decision_ids)):
        db.session.execute(sa.update(RetentionDecision)
                           .where(id_in(RetentionDecision.id, chunk), sa.not_(RetentionDecision.completed))
                           .values(completed=True).execution_options(synchronize_session=False))


def finish_purges(pending: Sequence[tuple[uuid.UUID, uuid.UUID, str]]) -> None:
    """Steps 2 and 3 of a purge, after step 1 committed. Commits twice. Safe to repeat."""
    destroy_keys(pending)
    mark_completed([decision_id for decision_id, _, _ in pending])
    db.session.commit()


def finish_pending_purges() -> int:
    """Finish the purges a killed run left between its two databases. Returns how many."""
    done = 0
    while pending := queries.pending_purges():
        finish_purges(pending)
        done += len(pending)
    return done


# --- single records: the portal, rights requests, unsubscribe -------------------------------------------

def _own(record) -> None:
    """A record of another tenant is refused before anything is written (the bulk statements are filtered
    by tenant, but a key store ledger line would name the wrong tenant)."""
    if record.tenant_id != require_tenant_id():
        raise CrossTenantWrite(f"{type(record).__name__} belongs to another tenant")


def _apply_one(record, decision: Decision) -> Applied:
    _own(record)
    return apply([(queries.record_view(record), decision)], today=clock.today())


def flag(record: DataSubject | Company, decision: Decision) -> None:
    """Flag one record for verification (a `flag` decision). Caller commits."""
    _apply_one(record, decision)


def request_reconsent(subject: DataSubject, decision: Decision) -> None:
    """Mail one subject a re-consent request (a `reconsent` decision). Caller commits; the mail goes
    once the transaction commits."""
    _apply_one(subject, decision)


def purge_subject(subject: DataSubject, decision: Decision) -> None:
    """Purge one subject: rows, blind indexes and (after the commit) its key. Commits, three times, in the
    order that survives a crash (module docstring)."""
    applied = _apply_one(subject, decision)
    db.session.commit()
    finish_purges(applied.pending)


def restrict_subject(subject: DataSubject, hold: ErasureException | Sequence[ErasureException], *,
                     reason: str = ERASURE) -> None:
    """Keep only what the hold(s) require, erase the rest, and say why. Caller commits."""
    holds = (hold,) if isinstance(hold, ErasureException) else tuple(hold)
    decision = Decision(_erasure_policy(False), "restrict", clock.today(), holds, note=reason)
    _apply_one(subject, decision)


def erase_subject(subject: DataSubject, *, reason: str, suppress: bool = False) -> str:
    """Erase on request (art. 17; a rights request, an unsubscribe): "restricted" while a legal hold of
    the tenant's plugins still runs for the subject (the held fields stay, restricted to that reason),
    otherwise "purged". `suppress` also puts the person on the suppression list. Commits when purging."""
    _own(subject)
    tenant = queries.current_tenant()
    view = queries.record_view(subject)
    today = clock.today()
    holds = tuple(h for h in active_holds(tenant) if hold_runs(h, view, today))
    if holds:
        if not view.restricted:
            restrict_subject(subject, holds, reason=reason)
        return RESTRICTED
    purge_subject(subject, Decision(_erasure_policy(suppress), "purge", today, note=reason))
    return PURGED


def verify_record(record: DataSubject | Company) -> None:
    """An agent checked the record: verified today, usable again. Caller commits."""
    _own(record)
    record.last_verified_on = clock.today()
    record.needs_verification_since = None
    db.session.flush()
    audit.record("retention.verify", _object_type("company" if isinstance(record, Company) else "subject"),
                 record.id)


def apply_due(record: DataSubject | Company) -> list[Decision]:
    """Decide about one record now, as a sweep would today, and carry it out (a purge commits)."""
    _own(record)
    tenant = queries.current_tenant()
    view = queries.record_view(record)
    ruleset = Ruleset(effective_policies(tenant), active_holds(tenant), tenant.id, clock.today())
    already = queries.decided([view.id])
    decisions = [d for d in ruleset.decide(view) if (view.id, d.policy.name, d.due_on) not in already]
    if not decisions:
        return []
    applied = apply([(view, d) for d in decisions], today=clock.today())
    if applied.pending:
        db.session.commit()
        finish_purges(applied.pending)
    return decisions


def mark_left(subject: DataSubject) -> list[Decision]:
    """The person no longer works at the company (seed 004): recorded today, and the tenant's policies
    act on it at once (leadgen purges, unless the tenant turned `delete_when_contact_left` off).
    Returns the decisions made; a purge commits."""
    _own(subject)
    subject.left_company_on = clock.today()
    db.session.flush()
    audit.record("retention.left_company", "data_subject", subject.id)
    return apply_due(subject)
