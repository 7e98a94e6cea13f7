"""Retention sweeps: one RQ job per tenant on the "sweeps" queue (arguments are ids only).

    run = start_sweep(tenant_id, as_of=clock.today(), dry_run=False, trigger="command")   # commits, enqueues

`run_sweep` reads the tenant's subjects, then its companies, in batches ordered by id. Each batch is one
transaction that applies the decisions and advances `SweepRun.cursor` together, so a worker killed at
any point leaves whole batches behind it; run again (the job retries, `start_sweep` re-enqueues the same
run) it resumes after the last whole batch and ends as an uninterrupted run would. Decisions are unique
per record, policy and due date, so nothing is decided, mailed or purged twice, also across runs.
A dry run evaluates the same way and writes only its own report (counts per policy and action).
"""
from __future__ import annotations

import uuid
from concurrent.futures import Future, ThreadPoolExecutor
from datetime import date
from time import perf_counter

import sqlalchemy as sa
from flask import current_app
from rq.exceptions import NoSuchJobError
from rq.job import Job, JobStatus

from saas import jobs
from saas.core import clock
from saas.core.tenancy import require_tenant_id, tenant_context
from saas.extensions import db
from saas.jobs import progress
from saas.jobs.queues import redis
from saas.modules.audit import operations as audit
from saas.modules.retention import operations, queries
from saas.modules.retention.engine import Decision, Ruleset
from saas.modules.retention.models import SweepRun
from saas.modules.retention.policies import active_holds, effective_policies
from saas.plugins.definitions import RecordView

SWEEP_JOB = "saas.modules.retention.jobs.run_sweep"
QUEUE = "sweeps"
BATCH = 10_000                  # records per batch: measured fastest (bench/sweep.py), ~12 MB, about a second
JOB_TIMEOUT = 6 * 3600          # a very large tenant; a job stopped by the timeout resumes when run again
RETRIES = 2                     # a killed worker's job is retried by RQ's maintenance and resumes
PHASES = ("subjects", "companies")
_UNDER_WAY = (JobStatus.QUEUED, JobStatus.STARTED, JobStatus.DEFERRED, JobStatus.SCHEDULED)
SUPERSEDED = "superseded"
STATELESS = ("reconsent", "hold", "review")   # actions that change nothing on the record itself


def sweep_job_id(sweep_run_id: uuid.UUID) -> str:
    """One job id per run: re-enqueueing a run (to resume it) can never start a second copy."""
    return f"sweep-{sweep_run_id.hex}"


def start_sweep(tenant_id: int, *, as_of: date, dry_run: bool = False, trigger: str = "command",
                enqueue: bool = True) -> SweepRun:
    """A new sweep run of the current tenant (`tenant_id`), committed, and its job queued.

    A real sweep of the same date that has not finished (its worker was killed, say) is resumed instead;
    an unfinished one of an earlier date is marked superseded (the new run evaluates everything anyway).
    With `enqueue=False` the caller runs `run_sweep` itself (the command's --wait)."""
    if require_tenant_id() != tenant_id:
        raise ValueError("start_sweep runs as the tenant it sweeps")
    run = None if dry_run else _resume_or_supersede(as_of)
    if run is None:
        run = SweepRun(as_of=as_of, dry_run=dry_run, trigger=trigger, status="running", phase=PHASES[0],
                       evaluated=0, counts={}, duration_ms=0)
        run.job_id = sweep_job_id(run.id)
        db.session.add(run)
        db.session.flush()
        if not dry_run:
            audit.record("retention.sweep.start", "sweep_run", run.id,
                         detail={"as_of": as_of.isoformat(), "trigger": trigger})
    db.session.commit()
    if enqueue:
        enqueue_sweep(run)
    return run


def _resume_or_supersede(as_of: date) -> SweepRun | None:
    resumed = None
    unfinished = db.session.scalars(sa.select(SweepRun).where(
        SweepRun.status == "running", SweepRun.dry_run.is_(False)).order_by(SweepRun.started_at))
    for run in unfinished:
        if run.as_of == as_of and resumed is None:
            resumed = run
        else:
            run.status, run.error, run.finished_at = "failed", SUPERSEDED, clock.now()
    return resumed


def enqueue_sweep(run: SweepRun, func: str = SWEEP_JOB, **options) -> Job:
    """Queue the run's job unless a job of that id is still queued or running. `options` (ids and
    numbers, such as batch_size) go to the job function."""
    try:
        existing = Job.fetch(run.job_id, connection=redis())
    except NoSuchJobError:
        existing = None
    if existing is not None and existing.get_status() in _UNDER_WAY:
        return existing
    kind = "dry run" if run.dry_run else "sweep"
    return jobs.enqueue(QUEUE, func, tenant_id=run.tenant_id, job_id=run.job_id, retry=RETRIES,
                        timeout=JOB_TIMEOUT, description=f"retention {kind} of tenant {run.tenant_id}",
                        sweep_run_id=str(run.id), **options)


def scheduled_sweep() -> str:
    """The daily sweep of one tenant (`saas.jobs.schedule`): starts today's run and queues its job."""
    return str(start_sweep(require_tenant_id(), as_of=clock.today(), trigger="schedule").id)


# --- the sweep ---------------------------------------------------------------------------------------

def evaluate(views: list[RecordView], ruleset: Ruleset, consents: bool = True) -> list[tuple[RecordView, Decision]]:
    """The new decisions for a batch. Only records with a due date read their consents (`consents`: the
    tenant has any). Decisions made before, by any run, are left out: a record's state already says
    whether it was flagged, restricted or purged; only a re-consent or a hold leaves nothing but its
    decision, so only those are looked up (the unique key of the decisions guards the rest)."""
    candidates = [view for view in views if ruleset.may_decide(view)]
    if not candidates:
        return []
    if consents:
        candidates = queries.with_consents(candidates, ruleset.today)
    found = [(view, decision) for view in candidates for decision in ruleset.decide(view)]
    remembered = list(dict.fromkeys(view.id for view, d in found if d.action in STATELESS))
    if not remembered:
        return found
    known = queries.decided(remembered)
    return [(view, d) for view, d in found if (view.id, d.policy.name, d.due_on) not in known]


def _locked_run(sweep_run_id: uuid.UUID) -> SweepRun | None:
    """The run, re-read under a row lock: a second worker on the same run waits and then continues after
    the batch this one committed (PostgreSQL; SQLite serialises writers anyway)."""
    query = (sa.select(SweepRun).where(SweepRun.id == sweep_run_id).with_for_update()
             .execution_options(populate_existing=True))
    return db.session.scalar(query)


def _add_counts(run: SweepRun, counts) -> None:
    merged = {key: dict(actions) for key, actions in (run.counts or {}).items()}
    for (key, action), count in counts.items():
        merged.setdefault(key, {})
        merged[key][action] = merged[key].get(action, 0) + count
    run.counts = merged


def run_sweep(tenant_id: int, sweep_run_id: str, batch_size: int = BATCH) -> dict:
    """Run (or resume) a sweep run to its end; returns its report. See the module docstring."""
    run_id = uuid.UUID(sweep_run_id)
    run = queries.get_sweep(run_id)
    if run is None or run.status != "running":
        return report(run) if run is not None else {"sweep_run": sweep_run_id, "status": "missing"}
    tenant = queries.current_tenant()
    dry_run = run.dry_run
    if not dry_run:
        operations.finish_pending_purges()
    ruleset = Ruleset(effective_policies(tenant), active_holds(tenant), tenant.id, run.as_of)
    consents = queries.has_consents()
    total = sum(queries.count_records())
    db.session.commit()
    shredder = KeyShredder(current_app._get_current_object(), tenant.id)
    try:
        while (run := _sweep_batch(run_id, ruleset, batch_size, dry_run, consents, shredder)) is not None:
            if run.status != "running":
                break
            progress.report(run.evaluated, total, run.phase)
        shredder.close()
    except Exception as exc:
        # Left "running": started again (by the job's retry or the command) it resumes after the last batch.
        shredder.close(raising=False)
        db.session.rollback()
        failed = queries.get_sweep(run_id)
        if failed is not None:
            failed.error = type(exc).__name__
        db.session.commit()
        raise
    if run is None:
        return {"sweep_run": sweep_run_id, "status": "missing"}
    progress.report(total, total, "done")
    return report(run)


class KeyShredder:
    """Step 2 of a batch's purges (destroying the subject keys) in a thread of its own, with its own app
    context, session and key-store connection, while the next batch is read and decided: the two databases
    work at the same time. The next batch waits for it before it marks those purges completed (step 3);
    a failure there fails that batch (the purges stay unfinished, and are finished on the next run)."""

    def __init__(self, app, tenant_id: int):
        self.app, self.tenant_id = app, tenant_id
        self.executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="sweep-keys")
        self.future: Future | None = None
        self.decision_ids: list[uuid.UUID] = []

    def start(self, pending: list) -> None:
        self.decision_ids = [decision_id for decision_id, _, _ in pending]
        self.future = self.executor.submit(self._destroy, list(pending))

    def _destroy(self, pending: list) -> None:
        with self.app.app_context(), tenant_context(self.tenant_id):
            try:
                operations.destroy_keys(pending)
            finally:
                db.session.remove()

    def finished(self) -> list[uuid.UUID]:
        """Wait for the keys of the batch before; the ids of its purge decisions, now ready for step 3."""
        if self.future is None:
            return []
        future, self.future = self.future, None
        future.result()
        decision_ids, self.decision_ids = self.decision_ids, []
        return decision_ids

    def close(self, *, raising: bool = True) -> None:
        """Wait for the last keys; with raising=False (the sweep failed already) a failure here is left
        to the next run, which finishes unfinished purges first."""
        try:
            if self.future is not None:
                self.future.result()
        except Exception:
            if raising:
                raise
        finally:
            self.executor.shutdown(wait=True)


def _sweep_batch(run_id: uuid.UUID, ruleset: Ruleset, batch_size: int, dry_run: bool, consents: bool,
                 shredder: KeyShredder) -> SweepRun | None:
    """One batch, one transaction; then its purges' keys go in the background (steps 1 and 2 of a purge,
    see `operations`), and the batch before's purges are marked completed in this transaction (step 3)."""
    started = perf_counter()
    run = _locked_run(run_id)
    operations.mark_completed(shredder.finished())
    if run is None or run.status != "running":
        db.session.commit()
        return run
    batch = queries.next_batch(run.phase, run.cursor, batch_size, ruleset.due_dates())
    pending = []
    if not batch.count:
        _next_phase(run, dry_run)
    else:
        decided = evaluate(batch.views, ruleset, consents)
        if dry_run:
            counts = _count(decided)
        else:
            applied = operations.apply(decided, today=run.as_of, sweep_run_id=run.id)
            counts, pending = applied.counts, applied.pending
        _add_counts(run, counts)
        run.cursor = batch.last
        run.evaluated += batch.count
    run.duration_ms = (run.duration_ms or 0) + round((perf_counter() - started) * 1000)
    db.session.commit()
    if pending:
        shredder.start(pending)
    return run


def _count(decided) -> dict:
    counts: dict = {}
    for _, decision in decided:
        key = (decision.policy.key, decision.action)
        counts[key] = counts.get(key, 0) + 1
    return counts


def _next_phase(run: SweepRun, dry_run: bool) -> None:
    index = PHASES.index(run.phase)
    if index + 1 < len(PHASES):
        run.phase, run.cursor = PHASES[index + 1], None
        return
    run.status, run.phase, run.finished_at = "finished", "done", clock.now()
    if not dry_run:
        totals = {action: sum(a.get(action, 0) for a in run.counts.values())
                  for action in sorted({action for a in run.counts.values() for action in a})}
        audit.record("retention.sweep.finish", "sweep_run", run.id,
                     detail={"evaluated": run.evaluated, "decisions": totals})


def report(run: SweepRun) -> dict:
    """A run's stored report: ids, counts and times only."""
    return {
        "sweep_run": str(run.id), "as_of": run.as_of.isoformat(), "dry_run": run.dry_run, "status": run.status,
        "phase": run.phase, "evaluated": run.evaluated, "counts": run.counts or {},
        "duration_ms": run.duration_ms, "error": run.error,
    }
