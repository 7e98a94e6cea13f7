"""Retention sweeps: one RQ job per tenant on the "sweeps" queue (arguments are ids only).

    started = begin_sweep(tenant_id, as_of=clock.today(), trigger="command")   # commits, enqueues
    started.outcome   # "queued" | "waiting" | "running" | "resumed": what happened, truthfully

`run_sweep` reads the tenant's subjects, then its companies, in batches ordered by id. Each batch is one
transaction that applies the decisions and advances `SweepRun.cursor` together, so a worker killed at
any point leaves whole batches behind it; run again it resumes after the last whole batch and ends as an
uninterrupted run would. Decisions are unique per record, policy and due date, so nothing is decided,
mailed or purged twice, also across runs. A dry run evaluates the same way and writes only its own report
(counts per policy and action).

Healing: a running run beats (`SweepRun.heartbeat_at`, at each batch commit and on a timer). A run whose
heartbeat is older than the stale limit while its job is not waiting in a queue lost its worker (killed,
Redis emptied, retries used up); the scheduler's `resume_stale_sweeps` (every minute) hands it to a new
job with a deterministic id, and so does a start of the same sweep. A transient database error (a
terminated connection) inside a batch redoes that batch after a pause (`saas.jobs.transient`); it does not
use up the job's RQ retries. One real run per tenant can be running: the database refuses a second.
"""
from __future__ import annotations

import logging
import threading
import uuid
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from datetime import date, datetime, timezone
from time import perf_counter

import sqlalchemy as sa
from flask import current_app
from rq import get_current_job
from rq.exceptions import NoSuchJobError
from rq.job import Job, JobStatus

from saas import jobs
from saas.core import clock
from saas.core.tenancy import require_tenant_id, tenant_context
from saas.extensions import db
from saas.jobs import progress
from saas.jobs.queues import redis
from saas.jobs.transient import retry_transient
from saas.modules.audit import operations as audit
from saas.modules.retention import operations, queries
from saas.modules.retention.engine import Decision, Ruleset
from saas.modules.retention.models import SweepRun
from saas.modules.retention.policies import active_holds, effective_policies
from saas.modules.tenants import queries as tenants_queries
from saas.plugins.definitions import RecordView

log = logging.getLogger(__name__)

SWEEP_JOB = "saas.modules.retention.jobs.run_sweep"
QUEUE = "sweeps"
BATCH = 10_000                  # records per batch: measured fastest (bench/sweep.py), ~12 MB, about a second
JOB_TIMEOUT = 6 * 3600          # a very large tenant; a job stopped by the timeout resumes when run again
RETRIES = 2                     # a killed worker's job is retried by RQ's maintenance and resumes
PHASES = ("subjects", "companies")
_UNDER_WAY = (JobStatus.QUEUED, JobStatus.STARTED, JobStatus.DEFERRED, JobStatus.SCHEDULED)
_WAITING = (JobStatus.QUEUED, JobStatus.DEFERRED, JobStatus.SCHEDULED)
SUPERSEDED = "superseded"
HANDED_OVER = "handed over"     # the report of a job whose run a resume gave to a newer job
MAX_RESUMES = 20                # a run that keeps dying is a bug, not bad luck: stop resuming it
STATELESS = ("reconsent", "hold", "review")   # actions that change nothing on the record itself


def sweep_job_id(sweep_run_id: uuid.UUID, resume: int = 0) -> str:
    """One job id per run and resume: re-enqueueing a run can never start a second copy, and two
    schedulers resuming the same stale run name the same job (Redis refuses the second)."""
    return f"sweep-{sweep_run_id.hex}" + (f"-r{resume}" if resume else "")


def wall_now() -> datetime:
    """Heartbeats are wall-clock time, not the business clock (`--now` may set that to another day)."""
    return datetime.now(timezone.utc)


def _aware(moment: datetime) -> datetime:
    return moment if moment.tzinfo else moment.replace(tzinfo=timezone.utc)   # SQLite drops the zone


def _settings():
    return current_app.extensions["saas.settings"]


def stale_after() -> float:
    return float(_settings().sweep_stale_seconds)


def batch_size_setting() -> int:
    return int(_settings().sweep_batch_size or BATCH)


@dataclass(frozen=True)
class SweepStart:
    """What starting a sweep did. `outcome`: "queued" (a new run, its job queued), "created" (a new run the
    caller runs itself), "waiting" (that run's job already waits in the queue), "running" (that run is
    being worked on: its heartbeat is fresh), "resumed" (that run had lost its worker and was handed to
    a new job, or to the caller). `job_id` is the job queued by this start, None when nothing was."""

    run: SweepRun
    outcome: str
    job_id: str | None = None

    @property
    def queued(self) -> bool:
        return self.job_id is not None


def start_sweep(tenant_id: int, *, as_of: date, dry_run: bool = False, trigger: str = "command",
                enqueue: bool = True) -> SweepRun:
    """The run a start leads to (see `begin_sweep`)."""
    return begin_sweep(tenant_id, as_of=as_of, dry_run=dry_run, trigger=trigger, enqueue=enqueue).run


def begin_sweep(tenant_id: int, *, as_of: date, dry_run: bool = False, trigger: str = "command",
                enqueue: bool = True) -> SweepStart:
    """Start a sweep of the current tenant (`tenant_id`), committed, and say what happened.

    A real sweep of the same date that is running is reported, not doubled; one whose worker is gone is
    resumed; an unfinished one of an earlier date is marked superseded (the new run evaluates everything
    anyway). Two starts at the same instant: the database lets one insert its run, the other reports that
    run. With `enqueue=False` the caller runs `run_sweep` itself (the command's --wait)."""
    if require_tenant_id() != tenant_id:
        raise ValueError("start_sweep runs as the tenant it sweeps")
    if dry_run:
        return _new_run(as_of, dry_run, trigger, enqueue)
    found = _running_or_supersede(as_of)
    if found is not None:
        db.session.commit()
        return _join(found, enqueue)
    try:
        return _new_run(as_of, dry_run, trigger, enqueue)
    except sa.exc.IntegrityError:
        db.session.rollback()   # another start inserted its run first: report that one
        found = _running_real_run()
        if found is None:
            raise
        return _join(found, enqueue)


def _new_run(as_of: date, dry_run: bool, trigger: str, enqueue: bool) -> SweepStart:
    run = SweepRun(as_of=as_of, dry_run=dry_run, trigger=trigger, status="running", phase=PHASES[0],
                   evaluated=0, counts={}, duration_ms=0, heartbeat_at=wall_now(), resumes=0)
    run.job_id = sweep_job_id(run.id)
    db.session.add(run)
    db.session.flush()   # the unique index refuses a second running run here (PostgreSQL waits for the first)
    if not dry_run:
        audit.record("retention.sweep.start", "sweep_run", run.id,
                     detail={"as_of": as_of.isoformat(), "trigger": trigger})
    db.session.commit()
    if not enqueue:
        return SweepStart(run, "created")
    return SweepStart(run, "queued", enqueue_sweep(run).id)


def _running_or_supersede(as_of: date) -> SweepRun | None:
    """The running real run of this date, if any; running ones of other dates are marked superseded."""
    resumed = None
    unfinished = db.session.scalars(sa.select(SweepRun).where(
        SweepRun.status == "running", SweepRun.dry_run.is_(False)).order_by(SweepRun.started_at))
    for run in unfinished:
        if run.as_of == as_of and resumed is None:
            resumed = run
        else:
            run.status, run.error, run.finished_at = "failed", SUPERSEDED, clock.now()
    db.session.flush()   # before a new run is inserted: the unique index sees one running run at a time
    return resumed


def _join(run: SweepRun, enqueue: bool) -> SweepStart:
    """A start that found `run` running: report it, or resume it when its worker is gone."""
    if _job_waiting(run):
        return SweepStart(run, "waiting")
    if not is_stale(run):
        return SweepStart(run, "running")
    claimed = claim_stale(run.id)
    if claimed is None:   # someone else resumed it a moment ago, or it just beat
        return SweepStart(queries.get_sweep(run.id), "running")
    if not enqueue:
        return SweepStart(claimed, "resumed")
    return SweepStart(claimed, "resumed", enqueue_sweep(claimed).id)


def _running_real_run() -> SweepRun | None:
    return db.session.scalar(sa.select(SweepRun).where(SweepRun.status == "running", SweepRun.dry_run.is_(False)))


def _job_waiting(run: SweepRun) -> bool:
    """Whether the run's job waits in a queue (not started yet): then it has no heartbeat, and is not stale."""
    try:
        job = Job.fetch(run.job_id, connection=redis())
    except NoSuchJobError:
        return False
    return job.get_status() in _WAITING


def seconds_since_heartbeat(run: SweepRun) -> float:
    beat = run.heartbeat_at or run.started_at
    return (wall_now() - _aware(beat)).total_seconds()


def is_stale(run: SweepRun) -> bool:
    """A running run whose worker is gone: no heartbeat for the stale limit, and its job not waiting."""
    return (run.status == "running" and seconds_since_heartbeat(run) > stale_after()
            and not _job_waiting(run))


def claim_stale(run_id: uuid.UUID) -> SweepRun | None:
    """Hand a stale run to a new job (`job_id` with the next resume number), committed; None when it is not
    stale after all. The row lock (SKIP LOCKED: a run locked right now has a live batch) and the fresh
    heartbeat written here keep a second resumer from claiming it again."""
    query = (sa.select(SweepRun).where(SweepRun.id == run_id, SweepRun.status == "running")
             .with_for_update(skip_locked=True).execution_options(populate_existing=True))
    run = db.session.scalar(query)
    if run is None or not is_stale(run):
        db.session.rollback()
        return None
    silent = round(seconds_since_heartbeat(run))
    if (run.resumes or 0) >= MAX_RESUMES:
        run.status, run.error, run.finished_at = "failed", f"gave up after {run.resumes} resumes", clock.now()
        log.error("sweep run %s stopped %d times: not resumed again", run.id, run.resumes)
        db.session.commit()
        return None
    run.resumes = (run.resumes or 0) + 1
    run.job_id = sweep_job_id(run.id, run.resumes)
    run.heartbeat_at = wall_now()
    if not run.dry_run:
        audit.record("retention.sweep.resume", "sweep_run", run.id,
                     detail={"evaluated": run.evaluated, "silent_seconds": silent, "resume": run.resumes})
    log.warning("sweep run %s had no heartbeat for %d s at %d records: resumed as job %s",
                run.id, silent, run.evaluated, run.job_id)
    db.session.commit()
    return run


def resume_stale_sweeps() -> list[str]:
    """The scheduler's entry (every minute, one platform job): every active tenant's stale runs resumed
    under deterministic job ids. Returns the job ids queued."""
    queued = []
    for tenant_id in tenants_queries.active_tenant_ids():
        db.session.commit()   # each tenant in a transaction of its own (row-level security per transaction)
        with tenant_context(tenant_id):
            try:
                running = db.session.scalars(sa.select(SweepRun.id).where(SweepRun.status == "running")).all()
                for run_id in running:
                    run = queries.get_sweep(run_id)
                    if run is None or not is_stale(run):
                        continue
                    claimed = claim_stale(run_id)
                    if claimed is not None:
                        queued.append(enqueue_sweep(claimed).id)
            finally:
                db.session.commit()
    return queued


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
    started = begin_sweep(require_tenant_id(), as_of=clock.today(), trigger="schedule")
    log.info("scheduled sweep of tenant %s: run %s %s", started.run.tenant_id, started.run.id, started.outcome)
    return str(started.run.id)


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


def run_sweep(tenant_id: int, sweep_run_id: str, batch_size: int | None = None, owner: str | None = None) -> dict:
    """Run (or resume) a sweep run to its end; returns its report. See the module docstring.

    `owner` is the job id the run must still name for this call to work on it (default: the current RQ
    job's id; outside a job, and without one, nobody checks): a job whose run was resumed by a newer job
    stops at its next batch."""
    run_id = uuid.UUID(sweep_run_id)
    owner = owner or _current_job_id()
    batch_size = batch_size or batch_size_setting()
    prepared = retry_transient(lambda: _prepare(run_id, owner), what=f"sweep {run_id} start")
    if isinstance(prepared, dict):
        return prepared
    ruleset, consents, total, dry_run = prepared
    app = current_app._get_current_object()
    shredder = KeyShredder(app, tenant_id)
    heartbeat = Heartbeat(app, tenant_id, run_id, owner).start()
    try:
        while True:
            run = retry_transient(
                lambda: _sweep_batch(run_id, ruleset, batch_size, dry_run, consents, shredder, owner),
                what=f"sweep {run_id} batch")
            if run is None or run.status != "running" or _handed_over(run, owner):
                break
            progress.report(run.evaluated, total, run.phase)
        shredder.close()
    except Exception as exc:
        # Left "running": started again (the job's retry, a resume, the command) it resumes after the last batch.
        shredder.close(raising=False)
        _note_error(run_id, exc)
        raise
    finally:
        heartbeat.stop()
    if run is None:
        return {"sweep_run": sweep_run_id, "status": "missing"}
    if _handed_over(run, owner):
        log.info("sweep run %s was resumed by job %s: job %s stops", run.id, run.job_id, owner)
        return {**report(run), "status": HANDED_OVER}
    progress.report(total, total, "done")
    return report(run)


def _current_job_id() -> str | None:
    job = get_current_job()
    return job.id if job is not None else None


def _handed_over(run: SweepRun, owner: str | None) -> bool:
    return owner is not None and run.job_id != owner and run.status == "running"


def _prepare(run_id: uuid.UUID, owner: str | None):
    """Before the batches: finish purges a killed run left half done, compile the rules, count. Returns
    (ruleset, consents, total, dry_run), or the report when there is nothing (more) to do for this job."""
    run = queries.get_sweep(run_id)
    if run is None:
        return {"sweep_run": str(run_id), "status": "missing"}
    if run.status != "running":
        return report(run)
    if _handed_over(run, owner):
        return {**report(run), "status": HANDED_OVER}
    run.heartbeat_at = wall_now()
    tenant = queries.current_tenant()
    dry_run = run.dry_run
    db.session.commit()
    if not dry_run:
        operations.finish_pending_purges()
    ruleset = Ruleset(effective_policies(tenant), active_holds(tenant), tenant.id, run.as_of)
    consents = queries.has_consents()
    total = sum(queries.count_records())
    db.session.commit()
    return ruleset, consents, total, dry_run


def _note_error(run_id: uuid.UUID, exc: Exception) -> None:
    """Keep the error's name on the run (the database may be what failed: then it stays unnoted)."""
    try:
        db.session.rollback()
        failed = queries.get_sweep(run_id)
        if failed is not None:
            failed.error = type(exc).__name__
        db.session.commit()
    except sa.exc.DBAPIError:
        db.session.rollback()
        log.warning("sweep run %s failed with %s; the error could not be noted", run_id, type(exc).__name__)


class Heartbeat:
    """Beats for a running run from a thread of its own (own app context, session and connection), every
    `sweep_heartbeat_seconds`, so that a long batch, the count before the first batch or the wait for
    the key store do not look like a dead worker. Batches beat too, as they commit. A beat that fails
    (the database is away for a moment) is logged and tried again on the next tick."""

    def __init__(self, app, tenant_id: int, run_id: uuid.UUID, owner: str | None):
        self.app, self.tenant_id, self.run_id, self.owner = app, tenant_id, run_id, owner
        self.every = float(app.extensions["saas.settings"].sweep_heartbeat_seconds)
        self.stopped = threading.Event()
        self.thread = threading.Thread(target=self._run, name="sweep-heartbeat", daemon=True)

    def start(self) -> "Heartbeat":
        self.thread.start()
        return self

    def stop(self) -> None:
        self.stopped.set()
        self.thread.join(timeout=10)

    def _run(self) -> None:
        while not self.stopped.wait(self.every):
            try:
                self.beat()
            except Exception as exc:   # keep beating: the batches' own beats and the next tick cover it
                log.warning("sweep run %s: heartbeat failed (%s)", self.run_id, type(exc).__name__)

    def beat(self) -> None:
        with self.app.app_context(), tenant_context(self.tenant_id):
            try:
                query = sa.update(SweepRun).where(SweepRun.id == self.run_id, SweepRun.status == "running")
                if self.owner is not None:
                    query = query.where(SweepRun.job_id == self.owner)
                db.session.execute(query.values(heartbeat_at=wall_now()).execution_options(synchronize_session=False))
                db.session.commit()
            finally:
                db.session.remove()


class KeyShredder:
    """Step 2 of a batch's purges (destroying the subject keys) in a thread of its own, with its own app
    context, session and key-store connection, while the next batch is read and decided: the two databases
    work at the same time. The next batch waits for it before it marks those purges completed (step 3);
    a failure there fails that batch (the purges stay unfinished, and are finished on the next run)."""

    def __init__(self, app, tenant_id: int):
        self.app, self.tenant_id = app, tenant_id
        self.executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="sweep-keys")
        self.future: Future | None = None
        self.pending: list = []
        self.failed = False   # the last destruction failed: the batch that waits for it is redone, and does it again

    def start(self, pending: list) -> None:
        self.pending, self.failed = list(pending), False
        self.future = self.executor.submit(self._destroy, list(pending))

    def _destroy(self, pending: list) -> None:
        with self.app.app_context(), tenant_context(self.tenant_id):
            try:
                operations.destroy_keys(pending)
            finally:
                db.session.remove()

    def finished(self) -> list[uuid.UUID]:
        """Wait for the keys of the batch before; the ids of its purge decisions, now ready for step 3.
        A failure is raised, and the next call destroys those keys again, here (safe to repeat)."""
        if self.future is not None:
            future, self.future = self.future, None
            try:
                future.result()
            except Exception:
                self.failed = True
                raise
        if self.failed:
            self._destroy(self.pending)
            self.failed = False
        return [decision_id for decision_id, _, _ in self.pending]

    def committed(self) -> None:
        """The batch that marked those purges completed committed: they are done (a batch that is redone
        after an error marks them again)."""
        self.pending = []

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
                 shredder: KeyShredder, owner: str | None = None) -> SweepRun | None:
    """One batch, one transaction; then its purges' keys go in the background (steps 1 and 2 of a purge,
    see `operations`), and the batch before's purges are marked completed in this transaction (step 3).
    Redone whole after a transient database error (`run_sweep`): nothing in it is half-written."""
    started = perf_counter()
    run = _locked_run(run_id)
    operations.mark_completed(shredder.finished())
    if run is None or run.status != "running" or _handed_over(run, owner):
        db.session.commit()
        shredder.committed()
        return run
    run.heartbeat_at = wall_now()
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
    shredder.committed()
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
