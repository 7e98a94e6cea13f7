"""A client's database downloaded on PostgreSQL: N people (encrypted fields, a key each) with call notes for
one in five, exported as CSV, XLSX and JSON through the production code path (`saas.modules.exports`: batches
read by key, decrypted, neutralised, written as a stream), at rows per second with the peak resident memory
of the exporting process at a tenth of the size and at full size; beside it the plain `COPY ... TO STDOUT` of
the same people's rows (ciphertext, nothing decrypted or formatted) as the limit.

The people are stored through the app's own session (that is how their keys are made), which is slower than
COPY but not what is measured. Each export runs in a forked child as the non-owner app role with row-level
security, so its peak resident memory (`wait4`'s rusage) is its own.
"""
from __future__ import annotations

import argparse
import cProfile
import json
import os
from time import perf_counter

import sqlalchemy as sa

from bench.sweep import _superuser, bench_app

TARGET_RATE = 20_000
FORMATS = ("csv", "xlsx", "json")


def load(app, slug: str, n: int):
    """A tenant with one client organisation, n people at 50 companies in one assignment; a note for 1 in 5."""
    from saas.core.tenancy import tenant_context
    from saas.extensions import db
    from saas.modules.assignments.models import Assignment, AssignmentSubject, CallNote
    from saas.modules.clients.models import ClientOrganisation
    from saas.modules.companies.models import Company
    from saas.modules.subjects.models import DataSubject
    from saas.modules.tenants import operations

    tenant, _ = operations.upsert(slug, name=slug, plugins=["bench"])
    db.session.commit()
    tenant_id = tenant.id
    with tenant_context(tenant_id):
        org = ClientOrganisation(name=f"Klant {slug}")
        companies = [Company(name=f"=Bedrijf {i} BV", city="Utrecht") for i in range(50)]
        db.session.add_all([org, *companies])
        db.session.flush()
        assignment = Assignment(client_org_id=org.id, title="Campagne", active=True)
        db.session.add(assignment)
        db.session.commit()
        org_id, assignment_id, company_ids = org.id, assignment.id, [c.id for c in companies]
        for start in range(0, n, 1000):
            people = [DataSubject(category="prospect", client_org_id=org_id, given_name=f"Voornaam{i}",
                                  family_name="de Vries", email=f"p{i}@example.test", phone="+31612345678",
                                  job_title="Inkoper", city="Utrecht", company_id=company_ids[i % 50])
                      for i in range(start, min(n, start + 1000))]
            db.session.add_all(people)
            db.session.flush()
            db.session.add_all(AssignmentSubject(assignment_id=assignment_id, subject_id=p.id) for p in people)
            for number, person in enumerate(people):
                if number % 5 == 0:
                    note = CallNote(assignment_id=assignment_id, subject_id=person.id, result="callback")
                    note.body = "Terugbellen na de zomer; vraagt naar offerte"
                    db.session.add(note)
            db.session.commit()
            db.session.expunge_all()
    return tenant_id, org_id


def _rss_kb() -> int:
    with open("/proc/self/statm") as fh:
        return int(fh.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") // 1024


def _export_child(app, tenant_id: int, org_id, fmt: str) -> dict:
    from saas.modules.exports import formats, operations, queries

    rss_start = _rss_kb()
    rows = size = 0
    start = perf_counter()

    def counted():
        nonlocal rows
        for row in queries.export_rows(org_id, None):
            rows += 1
            yield row

    profiler = cProfile.Profile() if os.environ.get("BENCH_PROFILE") and fmt == "csv" else None
    if profiler:
        profiler.enable()
    # As the portal and the API stream it: each step in an application context of its own.
    for chunk in operations.stepped(app, tenant_id, lambda: formats.chunks(fmt, counted(), {"bench": True})):
        size += len(chunk)
    elapsed = perf_counter() - start
    if profiler:
        profiler.disable()
        profiler.dump_stats(os.environ["BENCH_PROFILE"])
    return {"elapsed": elapsed, "rows": rows, "bytes": size, "rss_start_kb": rss_start}


def in_child(app, fn, *args) -> dict:
    """Fork, run fn(app, *args), return its figures with the child's peak resident memory and CPU."""
    from saas.extensions import db
    from saas.jobs.worker import dispose_engines

    db.session.remove()
    dispose_engines(app, close=True)
    read_end, write_end = os.pipe()
    pid = os.fork()
    if pid == 0:
        os.close(read_end)
        status = 0
        try:
            dispose_engines(app, close=False)
            payload = json.dumps(fn(app, *args)).encode()
        except BaseException as exc:
            payload, status = json.dumps({"error": repr(exc)}).encode(), 1
        with os.fdopen(write_end, "wb") as out:
            out.write(payload)
        os._exit(status)
    os.close(write_end)
    with os.fdopen(read_end, "rb") as fh:
        payload = fh.read()
    _, status, usage = os.wait4(pid, 0)
    figures = json.loads(payload)
    if status != 0 or "error" in figures:
        raise RuntimeError(f"the export child failed: {figures.get('error')}")
    figures["peak_rss_kb"] = usage.ru_maxrss
    figures["cpu"] = usage.ru_utime + usage.ru_stime
    return figures


def plain_copy(server, tenant_id: int, org_id) -> tuple[int, float]:
    """`COPY (the same people's rows with their links) TO STDOUT` as the superuser: no decryption, no format."""
    engine = _superuser(server, "saas_bench")
    size, start = 0, perf_counter()
    with engine.connect() as conn:
        with conn.connection.driver_connection.cursor() as cur:
            query = (f"COPY (SELECT s.*, a.assignment_id FROM data_subject s LEFT JOIN assignment_subject a "
                     f"ON a.subject_id = s.id WHERE s.tenant_id = {int(tenant_id)} AND s.client_org_id = "
                     f"'{org_id}' ORDER BY s.id) TO STDOUT WITH (FORMAT csv)")
            with cur.copy(query) as copy:
                for block in copy:
                    size += len(block)
    engine.dispose()
    return size, perf_counter() - start


def run(people: int) -> bool:
    small = max(1000, people // 10)
    print(f"Export benchmark: PostgreSQL (throwaway cluster; RLS, non-owner app role), {os.cpu_count()} cores")
    results: dict = {}
    with bench_app() as (app, server):
        for label, n in (("small", small), ("large", people)):
            start = perf_counter()
            tenant_id, org_id = load(app, f"export-{label}", n)
            print(f"  stored {n:>9,} people (app session, keys made) in {perf_counter() - start:6.1f} s")
            for fmt in FORMATS:
                results[(label, fmt)] = in_child(app, _export_child, tenant_id, org_id, fmt)
                if results[(label, fmt)]["rows"] != n:
                    raise RuntimeError(f"{fmt}: {results[(label, fmt)]['rows']} rows, expected {n}")
            results[(label, "copy")] = plain_copy(server, tenant_id, org_id)
    return report(results, small, people)


def report(results: dict, small: int, large: int) -> bool:
    print(f"\n{'':<10}{'rows':>10}{'seconds':>10}{'rows/s':>10}{'MiB out':>10}{'peak RSS MiB':>14}"
          f"{'added MiB':>11}{'CPU s':>8}")
    ok = True
    for label, n in (("small", small), ("large", large)):
        for fmt in FORMATS:
            f = results[(label, fmt)]
            rate = f["rows"] / f["elapsed"]
            added = (f["peak_rss_kb"] - f["rss_start_kb"]) / 1024
            print(f"{label + ' ' + fmt:<10}{f['rows']:>10,}{f['elapsed']:>10.2f}{rate:>10,.0f}"
                  f"{f['bytes'] / 2**20:>10.1f}{f['peak_rss_kb'] / 1024:>14.1f}{added:>11.1f}{f['cpu']:>8.1f}")
        size, seconds = results[(label, "copy")]
        print(f"{label + ' COPY':<10}{n:>10,}{seconds:>10.2f}{n / seconds:>10,.0f}{size / 2**20:>10.1f}"
              f"{'(server)':>14}")
    for fmt in FORMATS:
        big, little = results[("large", fmt)], results[("small", fmt)]
        rate = big["rows"] / big["elapsed"]
        # The child starts as a copy of the parent (which stored the people): what the export added counts.
        added_big = (big["peak_rss_kb"] - big["rss_start_kb"]) / 1024
        added_small = (little["peak_rss_kb"] - little["rss_start_kb"]) / 1024
        flat = added_big < max(2 * added_small, added_small + 16)
        met = rate >= TARGET_RATE and flat
        ok = ok and met
        print(f"{fmt}: {rate:,.0f} rows/s (target {TARGET_RATE:,}; {big['rows'] / big['cpu']:,.0f} rows per CPU "
              f"second); memory added by the export {added_small:.1f} MiB at {small:,} rows, {added_big:.1f} MiB at "
              f"{large:,}: {'flat' if flat else 'NOT flat'}; {'MET' if met else 'NOT MET'}")
    return ok


def main(argv) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench exports", description=__doc__.splitlines()[0])
    parser.add_argument("--people", type=int, default=100_000, help="people of the large database (default 100,000)")
    args = parser.parse_args(argv)
    if args.people < 1000:
        parser.error("--people must be at least 1000")
    return 0 if run(args.people) else 1
