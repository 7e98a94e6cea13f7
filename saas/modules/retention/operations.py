"""Applying retention decisions in the tenant's session, and the single-record actions built on them
(verify a flagged record, mark a person as left). An erasure on request is `saas.modules.erasure`'s; a
sweep's purge and restrict actions use that module's steps, in batches, with their own decision records.

`apply(decided)` takes many (view, decision) pairs and does each action in a few statements: one UPDATE
per batch for the flags, batched DELETEs for the purges, one bulk INSERT of the decisions and one of the
audit lines. The single-record functions go through the same path. Audit lines carry ids only.

A purge spans two databases (the rows here, the subject key in the key store). The order, so that a crash
at any point loses nothing and repeats nothing (see `RetentionDecision.completed`):
1. data: the decision (completed=False) is stored, the rows deleted, the audit written: one commit;
2. key store: the subject keys destroyed, the ledger lines written: one commit (`erasure.destroy_keys`);
3. data: the decisions marked completed (`mark_completed`; a sweep does it in its next batch's transaction).
A run killed after step 1 finds the unfinished purges (`queries.pending_purges`) and does 2 and 3 again;
destroying a key that is already gone changes nothing.
"""
from __future__ import annotations

import uuid
from collections import Counter, defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, timedelta

import sqlalchemy as sa
from flask_babel import force_locale, gettext

from saas.core import clock
from saas.core import bulk
from saas.core.bulk import id_in, insert_rows
from saas.core.crypto.keyring import keyring
from saas.core.tenancy import new_id, require_tenant_id
from saas.core.web import external_url
from saas.extensions import db
from saas.modules.audit import operations as audit
from saas.modules.companies.models import Company
from saas.modules.consents import operations as consents
from saas.modules.consents.models import ConsentRequest
from saas.modules.erasure import operations as erasure
# The erasure's steps, called by these names from here and from `jobs` (the sweep's KeyShredder), so
# `bench/sweep.py` times them where the sweep calls them.
from saas.modules.erasure.operations import (  # noqa: F401  (destroy_keys, mark_completed: used by jobs)
    destroy_keys, finish_purges, mark_completed, purge_ids, restrict_ids, suppress_ids,
)
from saas.modules.outbox.operations import queue_mail
from saas.modules.retention import queries
from saas.modules.retention.engine import Decision, Ruleset
from saas.modules.retention.models import RetentionDecision
from saas.modules.retention.policies import active_holds, effective_policies
from saas.modules.subjects.models import DataSubject
from saas.plugins.definitions import RecordView

RECONSENT_VALID = timedelta(days=60)
RECONSENT_TEMPLATE = "retention.reconsent"
ANSWER_ENDPOINT = "consents_public.answer"
NO_EMAIL = "no_email"


@dataclass
class Applied:
    """What `apply` did: counts per (policy key, action), and the purges still to finish in the key store."""

    counts: Counter = field(default_factory=Counter)
    pending: list[tuple[uuid.UUID, uuid.UUID, str]] = field(default_factory=list)  # decision, subject, policy


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


# --- flag ------------------------------------------------------------------------------------------

def _flag(items: list[tuple[RecordView, Decision]], today: date) -> None:
    """Unusable until verified: the date is set once (a second flag policy due the same day keeps it)."""
    for kind, ids in _by_kind(view for view, _ in items).items():
        model = Company if kind == "company" else DataSubject
        ids = list(dict.fromkeys(ids))
        for chunk in bulk.chunks(ids):
            db.session.execute(
                sa.update(model).where(id_in(model.id, chunk), model.needs_verification_since.is_(None))
                .values(needs_verification_since=today).execution_options(synchronize_session=False))
        bulk.forget_loaded(model, ids)


# --- re-consent --------------------------------------------------------------------------------------

def _request_reconsent(items: list[tuple[RecordView, Decision]]) -> dict[tuple[uuid.UUID, str], str]:
    """A re-consent mail per subject (decrypting only these subjects' e-mail addresses). Returns the
    reasons of those that could not be asked (no e-mail address)."""
    if not items:
        return {}
    ids = list(dict.fromkeys(view.id for view, _ in items))
    subjects = {}
    for chunk in bulk.chunks(ids):
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


# --- purge -------------------------------------------------------------------------------------------

def _purge(items: list[tuple[RecordView, Decision]]) -> None:
    if not items:
        return
    suppressed = [(view.id, decision.policy.name) for view, decision in items if decision.policy.suppress]
    if suppressed:
        suppress_ids(suppressed)
    purge_ids([view.id for view, _ in items])


def finish_pending_purges() -> int:
    """Finish the purges a killed run left between its two databases. Returns how many."""
    return erasure.finish_pending()


# --- single records: the portal, rights requests, unsubscribe -------------------------------------------

_own = erasure.require_own_tenant


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
