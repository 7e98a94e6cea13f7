"""A retention sweep over 1,000,000 data subjects of one tenant on PostgreSQL (10% due for purge, 20% for a
verification flag): subjects evaluated per second, peak memory at a tenth of the size and at full size, and
the purge phase against a plain SQL DELETE of the same rows.

The sweep is the production code path (`saas.modules.retention.jobs.run_sweep`) as the non-owner app role
with row-level security, run in a forked child process per measurement so its peak resident memory
(`getrusage`, via `wait4`) is its own. The data is bulk-loaded with COPY as the superuser (faster than any
app path and not what is measured): plain lifecycle dates, no encrypted fields, one real wrapped subject key
per subject in the key store. The rules are a bench plugin shaped like the seeds' (leadgen: flag prospects 6
months after verification, purge at 12 months; recruitment: purge candidates 24 months after last contact).
"""
from __future__ import annotations

import contextlib
import cProfile
import json
import os
import pstats
import tempfile
import threading
import time
import uuid
from datetime import date, datetime, timedelta, timezone
from pathlib import Path
from time import perf_counter

import sqlalchemy as sa
from sqlalchemy.pool import NullPool

TARGET_RATE = 20_000
AS_OF = date(2024, 6, 1)
CREATED = datetime(2020, 1, 1, tzinfo=timezone.utc)


def _bench_plugin():
    from saas.plugins.definitions import PluginInfo, RecordView, RetentionPolicy, RuleContext
    from saas.plugins.hookspecs import hookimpl

    def never_placed(view: RecordView, ctx: RuleContext) -> bool:
        return view.placed_from is None

    class BenchPlugin:
        @hookimpl
        def saas_plugin_info(self):
            return PluginInfo(name="bench", version="1", title="Bench rules", description="bench only")

        @hookimpl
        def saas_retention_policies(self):
            return [
                RetentionPolicy(name="bench.prospect_flag", version=1, category="prospect", anchor="last_verified_on",
                                months=6, action="flag"),
                RetentionPolicy(name="bench.prospect_purge", version=1, category="prospect",
                                anchor="last_verified_on", months=12, action="purge"),
                RetentionPolicy(name="bench.candidate_reconsent", version=1, category="candidate",
                                anchor="last_contact_on", months=12, action="reconsent", purpose="bench_pool",
                                applies=never_placed),
                RetentionPolicy(name="bench.candidate_purge", version=1, category="candidate",
                                anchor="last_contact_on", months=24, action="purge", applies=never_placed),
            ]

    return BenchPlugin()


def _row(i: int) -> tuple[str, date | None, date | None, bool]:
    """(category, last_contact_on, last_verified_on, due for purge) of subject i: 10% purge, 20% flag, 70%
    nothing due, spread over many dates. Candidates due for a purge are past their re-consent date too:
    the purge wins, no mail."""
    kind, spread = i % 10, timedelta(days=(i // 10) % 150)
    if kind == 0:
        if i % 20 == 0:
            return "prospect", None, date(2023, 1, 1) - spread, True
        return "candidate", date(2022, 3, 1) - spread, None, True
    if kind in (1, 2):
        return "prospect", None, date(2023, 7, 1) + spread, False
    if kind in (3, 4, 5, 6):
        return "prospect", None, date(2024, 1, 1) + spread, False
    return "candidate", date(2023, 7, 1) + spread, None, False


# --- environment -----------------------------------------------------------------------------------------

@contextlib.contextmanager
def bench_app(bench_rules: bool = True):
    """A throwaway PostgreSQL cluster (saas/testing/services.py), migrated, with the bench rules (or, with
    `bench_rules=False`, the project's own plugins)."""
    from flask_migrate import upgrade

    from saas import create_app
    from saas.config import Settings
    from saas.plugins import manager
    from saas.testing import services

    server = services.start_postgres()
    try:
        _tune(server)
        with tempfile.TemporaryDirectory(prefix="saas-bench-", ignore_cleanup_errors=True) as workdir:
            urls = services.create_databases(server, "saas_bench")
            settings = Settings(env="development", instance_path=Path(workdir), testing=True, **urls)
            settings.fill_defaults()
            app = create_app(settings)
            with app.app_context():
                upgrade()
                if bench_rules:
                    app.extensions["saas.plugins"] = manager.load([_bench_plugin()], installed=False)
                yield app, server
    finally:
        server.stop()


# The throwaway cluster starts with PostgreSQL's defaults (128 MB of shared buffers): a server sized for a
# million-subject tenant keeps the tables and indexes it sweeps in memory, as production would.
TUNING = {"shared_buffers": "2GB", "max_wal_size": "4GB", "effective_cache_size": "8GB"}


def _tune(server) -> None:
    """Only a cluster of our own (never a server named by SAAS_TEST_PG_ADMIN_URL): set, then restart."""
    from saas.testing import services

    if not server.datadir:
        return
    engine = _superuser(server, "postgres")
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        for name, value in TUNING.items():
            conn.exec_driver_sql(f"ALTER SYSTEM SET {name} = '{value}'")
    engine.dispose()
    log = str(Path(server.datadir).parent / "restart.log")
    services._run_as([services._pg_bin("pg_ctl"), "-D", server.datadir, "-l", log, "-w", "restart"], server.run_as)


def _superuser(server, database: str):
    from sqlalchemy.engine import make_url

    url = make_url(server.admin_url).set(database=database)
    return sa.create_engine(url, poolclass=NullPool)


def load_tenant(app, server, slug: str, n: int) -> int:
    """A tenant with n subjects and their keys, by COPY; the ids due for purge go to bench_purge."""
    from saas.core.crypto import aead as box
    from saas.core.crypto.keyring import keyring, subject_key_aad
    from saas.core.tenancy import tenant_context
    from saas.extensions import db
    from saas.modules.tenants import operations

    tenant, _ = operations.upsert(slug, name=slug, plugins=["bench"])
    db.session.commit()
    with tenant_context(tenant.id):
        version, cipher = keyring().tenant_aead(tenant.id)
        db.session.commit()
    ids = [uuid.uuid4() for _ in range(n)]
    data, keys = _superuser(server, "saas_bench"), _superuser(server, "saas_bench_keys")
    with data.begin() as conn:
        conn.exec_driver_sql("CREATE TABLE IF NOT EXISTS bench_purge (tenant_id int, id uuid)")
        conn.exec_driver_sql(f'GRANT SELECT ON bench_purge TO "{app.extensions["saas.settings"].app_role}"')
        raw = conn.connection.driver_connection
        with raw.cursor() as cur:
            with cur.copy("COPY data_subject (id, tenant_id, category, created_at, updated_at, last_contact_on, "
                          "last_verified_on) FROM STDIN") as copy:
                for i, subject_id in enumerate(ids):
                    category, contact, verified, _ = _row(i)
                    copy.write_row((subject_id, tenant.id, category, CREATED, CREATED, contact, verified))
            with cur.copy("COPY bench_purge (tenant_id, id) FROM STDIN") as copy:
                for i, subject_id in enumerate(ids):
                    if _row(i)[3]:
                        copy.write_row((tenant.id, subject_id))
    with keys.begin() as conn:
        with conn.connection.driver_connection.cursor() as cur:
            with cur.copy("COPY subject_key (tenant_id, subject_id, generation, tenant_key_version, wrapped, "
                          "created_at) FROM STDIN") as copy:
                for subject_id in ids:
                    wrapped = box.wrap(cipher, os.urandom(32), subject_key_aad(tenant.id, subject_id.hex, 1))
                    copy.write_row((tenant.id, subject_id, 1, version, wrapped, CREATED))
    for engine, tables in ((data, ("data_subject", "bench_purge")), (keys, ("subject_key",))):
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            for table in tables:
                conn.exec_driver_sql(f"VACUUM ANALYZE {table}")
        engine.dispose()
    return tenant.id


# --- measurements ------------------------------------------------------------------------------------------

def plain_delete(app, server, tenant_id: int) -> tuple[int, float]:
    """Seconds for `DELETE FROM data_subject WHERE id IN (...)` of the rows the sweep will purge, as the app
    role with the tenant set (row-level security on, foreign keys cascading), rolled back afterwards."""
    from saas.core.tenancy import tenant_context
    from saas.extensions import db

    with tenant_context(tenant_id):
        db.session.commit()
        start = perf_counter()
        deleted = db.session.execute(sa.text(
            "DELETE FROM data_subject WHERE id IN (SELECT id FROM bench_purge WHERE tenant_id = :t)"),
            {"t": tenant_id}).rowcount
        elapsed = perf_counter() - start
        db.session.rollback()
    with _superuser(server, "saas_bench").connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.exec_driver_sql("VACUUM ANALYZE data_subject")
    return deleted, elapsed


def _timed(module, name: str, totals: dict, key: str, when=None):
    """Wrap module.name (or a dict's entry) so the child process adds its time to totals[key]."""
    get, put = (module.get, module.__setitem__) if isinstance(module, dict) else \
        (lambda key: getattr(module, key), lambda key, value: setattr(module, key, value))
    original = get(name)

    def wrapper(*args, **kwargs):
        if when is not None and not when(*args, **kwargs):
            return original(*args, **kwargs)
        start = perf_counter()
        try:
            return original(*args, **kwargs)
        finally:
            totals[key] = totals.get(key, 0.0) + perf_counter() - start

    put(name, wrapper)


def _sweep_child(app, tenant_id: int, batch_size: int, profile_path: str | None) -> dict:
    """In the forked child: one sweep of the tenant, timed by phase (and profiled, with a path)."""
    from saas.core.tenancy import tenant_context
    from saas.extensions import db
    from saas.modules.audit import operations as audit
    from saas.modules.retention import jobs, operations, queries

    totals: dict = {}
    _timed(queries, "next_batch", totals, "read")
    _timed(jobs, "evaluate", totals, "decide")
    _timed(operations, "apply", totals, "apply")
    _timed(operations, "purge_ids", totals, "purge: rows")
    _timed(operations, "destroy_keys", totals, "purge: keys")
    _timed(operations, "mark_completed", totals, "purge: keys")
    _timed(audit, "record_many", totals, "purge: audit", when=lambda action, *a, **k: action == "retention.purge")
    rss_start = _rss_kb()
    profiler = cProfile.Profile() if profile_path else None
    with app.app_context(), tenant_context(tenant_id):
        start = perf_counter()
        if profiler:
            profiler.enable()
        run = jobs.start_sweep(tenant_id, as_of=AS_OF, enqueue=False)
        result = jobs.run_sweep(tenant_id, str(run.id), batch_size)
        elapsed = perf_counter() - start
        if profiler:
            profiler.disable()
            profiler.dump_stats(profile_path)
        db.session.commit()
    return {"elapsed": elapsed, "report": result, "phases": totals, "rss_start_kb": rss_start}


def _rss_kb() -> int:
    with open("/proc/self/statm") as fh:
        return int(fh.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") // 1024


class TenantReader:
    """A thread in the parent reading the swept tenant in a loop while the child sweeps: the audited list read
    of the API and portal (`subjects.queries.list_subjects`, one page of 20, its audit line, the commit that
    chains that line). Records each read's latency, and apart the commit's (where a read would wait for the
    audit chain's head): a sweep must not hold a read for more than a fraction of a second (issue 16 item 3)."""

    PAUSE = 0.05   # between reads: a client's rhythm, not a second process competing for the two cores

    def __init__(self, app, tenant_id: int):
        self.app, self.tenant_id = app, tenant_id
        self.latencies: list[float] = []
        self.commits: list[float] = []
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._loop, name="tenant-reader", daemon=True)
        self.thread.start()

    def _loop(self) -> None:
        from saas.core.tenancy import tenant_context
        from saas.extensions import db
        from saas.modules.subjects import queries

        with self.app.app_context(), tenant_context(self.tenant_id):
            while not self.stop.is_set():
                start = perf_counter()
                queries.list_subjects(1, 20)
                read = perf_counter()
                db.session.commit()
                end = perf_counter()
                self.latencies.append(end - start)
                self.commits.append(end - read)
                db.session.expunge_all()
                self.stop.wait(self.PAUSE)
            db.session.remove()

    def finish(self) -> dict:
        self.stop.set()
        self.thread.join()
        if not self.latencies:
            return {"reads": 0}

        def at(values: list[float], share: float) -> float:
            ordered = sorted(values)
            return ordered[min(len(ordered) - 1, int(len(ordered) * share))]

        return {"reads": len(self.latencies), "p50": at(self.latencies, 0.5), "p99": at(self.latencies, 0.99),
                "worst": max(self.latencies), "commit_p99": at(self.commits, 0.99), "commit_worst": max(self.commits)}


def idle_reads(app, tenant_id: int, seconds: float = 5.0) -> dict:
    """The same reads with no sweep running: the machine's own latency, to compare with."""
    from saas.extensions import db

    reader = TenantReader(app, tenant_id)
    time.sleep(seconds)
    figures = reader.finish()
    db.session.remove()
    return figures


def sweep_in_child(app, tenant_id: int, batch_size: int, profile_path: str | None = None,
                   read_during: bool = False) -> dict:
    """Fork, sweep, and read the child's figures and its peak resident memory (wait4's rusage). With
    `read_during`, a `TenantReader` reads the tenant in the parent meanwhile."""
    from saas.extensions import db
    from saas.jobs.worker import dispose_engines

    db.session.remove()
    dispose_engines(app, close=True)
    read_end, write_end = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child
        os.close(read_end)
        status = 0
        try:
            dispose_engines(app, close=False)
            payload = json.dumps(_sweep_child(app, tenant_id, batch_size, profile_path)).encode()
        except BaseException as exc:  # report, never return into the parent's code
            payload, status = json.dumps({"error": repr(exc)}).encode(), 1
        with os.fdopen(write_end, "wb") as out:
            out.write(payload)
        os._exit(status)
    os.close(write_end)
    reader = TenantReader(app, tenant_id) if read_during else None
    with os.fdopen(read_end, "rb") as fh:
        payload = fh.read()
    _, status, usage = os.wait4(pid, 0)
    figures = json.loads(payload)
    if reader is not None:
        figures["reads"] = reader.finish()
    if status != 0 or "error" in figures:
        raise RuntimeError(f"the sweep child failed: {figures.get('error')}")
    figures["peak_rss_kb"] = usage.ru_maxrss
    figures["cpu"] = usage.ru_utime + usage.ru_stime
    return figures


def check(app, tenant_id: int, n: int, report: dict) -> None:
    """The sweep did what the data says: 10% purged (rows and keys), 20% flagged."""
    from saas.core.crypto.models import SubjectKey
    from saas.core.tenancy import tenant_context
    from saas.extensions import db
    from saas.modules.subjects.models import DataSubject

    purge = sum(1 for i in range(n) if _row(i)[3])
    flag = sum(1 for i in range(n) if i % 10 in (1, 2))
    counts = report["counts"]
    done = {action: sum(a.get(action, 0) for a in counts.values()) for action in ("purge", "flag", "reconsent")}
    with tenant_context(tenant_id):
        remaining = db.session.scalar(sa.select(sa.func.count()).select_from(DataSubject))
        flagged = db.session.scalar(sa.select(sa.func.count()).select_from(DataSubject)
                                    .where(DataSubject.needs_verification_since.is_not(None)))
        keys = db.session.scalar(sa.select(sa.func.count()).select_from(SubjectKey))
        db.session.commit()
    expected = {"purge": purge, "flag": flag, "reconsent": 0}
    if done != expected or remaining != n - purge or flagged != flag or keys != n - purge:
        raise RuntimeError(f"unexpected sweep result: {done} (expected {expected}), {remaining} rows, "
                           f"{flagged} flagged, {keys} keys left")


# --- report --------------------------------------------------------------------------------------------------

def run(subjects: int, batch_size: int | None = None, profile_path: str | None = None) -> bool:
    from saas.modules.retention.jobs import BATCH

    batch_size = batch_size or BATCH
    small = max(1000, subjects // 10)
    settings = ", ".join(f"{name}={value}" for name, value in TUNING.items())
    print(f"Retention sweep benchmark: PostgreSQL (throwaway cluster: {settings}; RLS, non-owner app role), "
          f"batches of {batch_size}, {os.cpu_count()} cores")
    with bench_app() as (app, server):
        figures = {}
        for label, n in (("small", small), ("large", subjects)):
            start = perf_counter()
            tenant_id = load_tenant(app, server, f"bench-{label}", n)
            print(f"  loaded {n:>9,} subjects (COPY) in {perf_counter() - start:6.1f} s")
            deleted, delete_seconds = plain_delete(app, server, tenant_id) if label == "large" else (0, 0.0)
            idle = idle_reads(app, tenant_id) if label == "large" else None
            result = sweep_in_child(app, tenant_id, batch_size, profile_path if label == "large" else None,
                                    read_during=label == "large")
            if idle is not None:
                result["idle_reads"] = idle
            check(app, tenant_id, n, result["report"])
            figures[label] = (n, result, deleted, delete_seconds)
        ok = report(figures)
    if profile_path:
        print(f"\ncProfile of the large sweep written to {profile_path}; top functions by own time:")
        pstats.Stats(profile_path).sort_stats("tottime").print_stats(20)
    return ok


def report(figures: dict) -> bool:
    n_small, small, _, _ = figures["small"]
    n, large, deleted, delete_seconds = figures["large"]
    rate = n / large["elapsed"]
    phases = large["phases"]
    purge_seconds = sum(v for k, v in phases.items() if k.startswith("purge"))
    print(f"\n{'':<34}{'small':>14}{'large':>14}")
    print(f"{'subjects':<34}{n_small:>14,}{n:>14,}")
    print(f"{'sweep seconds':<34}{small['elapsed']:>14.1f}{large['elapsed']:>14.1f}")
    print(f"{'subjects evaluated per second':<34}{n_small / small['elapsed']:>14,.0f}{rate:>14,.0f}")
    print(f"{'CPU seconds of the sweep process':<34}{small['cpu']:>14.1f}{large['cpu']:>14.1f}")
    for name in ("peak_rss_kb", "rss_start_kb"):
        label = "peak resident memory (MiB)" if name == "peak_rss_kb" else "resident at start (MiB)"
        print(f"{label:<34}{small[name] / 1024:>14.1f}{large[name] / 1024:>14.1f}")
    growth = large["peak_rss_kb"] - large["rss_start_kb"], small["peak_rss_kb"] - small["rss_start_kb"]
    print(f"{'memory added by the sweep (MiB)':<34}{growth[1] / 1024:>14.1f}{growth[0] / 1024:>14.1f}")
    print("\nLarge sweep by phase (seconds of work; the purge parts are inside 'apply', except the keys, which a "
          "thread destroys while the next batch is read and decided):")
    for key in sorted(phases):
        print(f"  {key:<32}{phases[key]:>10.1f}")
    decisions = {a: sum(c.get(a, 0) for c in large["report"]["counts"].values()) for a in ("purge", "flag")}
    print(f"  decisions: {decisions['purge']:,} purges, {decisions['flag']:,} flags")
    print(f"\nPurge phase of the sweep: {purge_seconds:.1f} s (rows, keys in the key store, audit lines) for "
          f"{decisions['purge']:,} subjects;")
    print(f"plain SQL DELETE of the same {deleted:,} rows (cascading, rolled back): {delete_seconds:.1f} s; "
          f"ratio {purge_seconds / delete_seconds:.1f}x")
    print(f"\nReads of the large tenant (list of 20, audited, committed; a thread, {TenantReader.PAUSE * 1000:.0f} ms "
          f"apart), ms:")
    print(f"  {'':<22}{'reads':>8}{'p50':>8}{'p99':>8}{'worst':>8}{'commit p99':>12}{'commit worst':>14}")
    for label, reads in (("no sweep running", large.get("idle_reads")), ("during the sweep", large.get("reads"))):
        if reads and reads["reads"]:
            print(f"  {label:<22}{reads['reads']:>8,}{reads['p50'] * 1000:>8.0f}{reads['p99'] * 1000:>8.0f}"
                  f"{reads['worst'] * 1000:>8.0f}{reads['commit_p99'] * 1000:>12.0f}{reads['commit_worst'] * 1000:>14.0f}")
    memory_ratio = large["peak_rss_kb"] / small["peak_rss_kb"]
    ok = rate >= TARGET_RATE and memory_ratio < 1.5
    print(f"\nTarget: >= {TARGET_RATE:,} subjects/s: {'MET' if rate >= TARGET_RATE else 'NOT MET'} ({rate:,.0f}/s); "
          f"memory flat (peak at {n // n_small}x the data = {memory_ratio:.2f}x the peak): "
          f"{'MET' if memory_ratio < 1.5 else 'NOT MET'}")
    return ok
