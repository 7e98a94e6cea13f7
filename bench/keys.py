"""Tenant keys before and after: `python -m bench.keys [--large 200000] [--small 5000] [--tenants 20] [--repeat 15]`.

Compares, on one throwaway PostgreSQL (saas/testing/services.py), the keys of two tenant tables as they
were (primary key `id`, an index on `tenant_id`, single-column foreign key) and as they are now for Citus
(primary key `(tenant_id, id)`, no separate tenant index, foreign key `(tenant_id, subject_id)`). The tables
carry the key columns and a 200-byte payload like a row's ciphertext, not the full models: the figures are
about the keys alone. One large tenant and many small ones, as on the platform, their rows interleaved in
random order (tenants write at the same time), so no tenant's rows sit together on disk by luck.

Reported per schema: load time, index sizes, and for each query the plan's access path and the median
execution time of `EXPLAIN (ANALYZE, BUFFERS)` over --repeat runs (after one warm-up), plus shared buffers.
"""
from __future__ import annotations

import argparse
import statistics
import sys
import time

import sqlalchemy as sa

from saas.testing import services

SCHEMAS = {
    "before": """
        CREATE TABLE subject (tenant_id int NOT NULL, id uuid NOT NULL, category text NOT NULL,
                              payload bytea NOT NULL, CONSTRAINT pk_subject PRIMARY KEY (id));
        CREATE INDEX ix_subject_tenant_id ON subject (tenant_id);
        CREATE TABLE consent (tenant_id int NOT NULL, id uuid NOT NULL, subject_id uuid NOT NULL
                              REFERENCES subject (id) ON DELETE CASCADE, purpose text NOT NULL,
                              CONSTRAINT pk_consent PRIMARY KEY (id));
        CREATE INDEX ix_consent_tenant_id ON consent (tenant_id);
        CREATE INDEX ix_consent_subject ON consent (subject_id);
    """,
    "after": """
        CREATE TABLE subject (tenant_id int NOT NULL, id uuid NOT NULL, category text NOT NULL,
                              payload bytea NOT NULL, CONSTRAINT pk_subject PRIMARY KEY (tenant_id, id));
        CREATE TABLE consent (tenant_id int NOT NULL, id uuid NOT NULL, subject_id uuid NOT NULL,
                              purpose text NOT NULL, CONSTRAINT pk_consent PRIMARY KEY (tenant_id, id),
                              FOREIGN KEY (tenant_id, subject_id) REFERENCES subject (tenant_id, id) ON DELETE CASCADE);
        CREATE INDEX ix_consent_subject ON consent (subject_id);
    """,
}

LOAD = """
    INSERT INTO subject (tenant_id, id, category, payload)
    SELECT t, gen_random_uuid(), 'prospect', decode(repeat('ab', 200), 'hex')
    FROM generate_series(1, :tenants) AS t, generate_series(1, CASE WHEN t = 1 THEN :large ELSE :small END)
    ORDER BY random();
    INSERT INTO consent (tenant_id, id, subject_id, purpose)
    SELECT tenant_id, gen_random_uuid(), id, 'calls' FROM subject ORDER BY random();
"""

QUERIES = {
    "get one row (ORM get + tenant filter)": (
        "SELECT * FROM subject WHERE tenant_id = :small AND id = :some_id", {}),
    "sweep batch, small tenant: first 1000 by id": (
        "SELECT id, category FROM subject WHERE tenant_id = :small ORDER BY id LIMIT 1000", {}),
    "sweep batch, small tenant: next 1000 after a cursor": (
        "SELECT id, category FROM subject WHERE tenant_id = :small AND id > :cursor ORDER BY id LIMIT 1000", {}),
    "sweep batch, large tenant: first 1000 by id": (
        "SELECT id, category FROM subject WHERE tenant_id = 1 ORDER BY id LIMIT 1000", {}),
    "consents per subject of a small tenant (join)": (
        "SELECT s.id, count(*) FROM subject s JOIN consent c ON c.tenant_id = s.tenant_id AND c.subject_id = s.id "
        "WHERE s.tenant_id = :small GROUP BY s.id", {}),
}


def _access_paths(plan: dict) -> list[str]:
    found = []
    node_type = plan.get("Node Type", "")
    if "Scan" in node_type:
        found.append(f"{node_type} {plan.get('Index Name') or plan.get('Relation Name', '')}".strip())
    for child in plan.get("Plans", []):
        found += _access_paths(child)
    return found


def _explain(conn, sql: str, params: dict) -> tuple[float, int, list[str]]:
    result = conn.execute(sa.text(f"EXPLAIN (ANALYZE, BUFFERS, FORMAT JSON) {sql}"), params).scalar_one()
    top = result[0]
    plan = top["Plan"]
    buffers = plan.get("Shared Hit Blocks", 0) + plan.get("Shared Read Blocks", 0)
    return top["Execution Time"], buffers, _access_paths(plan)


def run_schema(admin_url: str, name: str, args) -> dict:
    engine = sa.create_engine(admin_url, isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        conn.execute(sa.text(f'DROP DATABASE IF EXISTS "bench_keys_{name}"'))
        conn.execute(sa.text(f'CREATE DATABASE "bench_keys_{name}"'))
    engine.dispose()
    engine = sa.create_engine(sa.engine.make_url(admin_url).set(database=f"bench_keys_{name}"))
    report = {"queries": {}}
    with engine.begin() as conn:
        conn.exec_driver_sql(SCHEMAS[name])
    started = time.perf_counter()
    with engine.begin() as conn:
        for statement in LOAD.strip().split(";"):
            if statement.strip():
                conn.execute(sa.text(statement), {"tenants": args.tenants, "large": args.large, "small": args.small})
    report["load_s"] = time.perf_counter() - started
    with engine.connect() as conn:
        conn.execution_options(isolation_level="AUTOCOMMIT").exec_driver_sql("VACUUM ANALYZE")
        report["rows"] = conn.execute(sa.text("SELECT (SELECT count(*) FROM subject), (SELECT count(*) FROM consent)")).one()
        report["index_mb"] = conn.execute(sa.text(
            "SELECT round(sum(pg_relation_size(indexrelid)) / 1048576.0, 1) FROM pg_index "
            "WHERE indrelid IN ('subject'::regclass, 'consent'::regclass)")).scalar_one()
        small = args.tenants // 2 + 1
        some_id, cursor = conn.execute(sa.text(
            "SELECT (SELECT id FROM subject WHERE tenant_id = :t ORDER BY id OFFSET 100 LIMIT 1), "
            "(SELECT id FROM subject WHERE tenant_id = :t ORDER BY id OFFSET :half LIMIT 1)"),
            {"t": small, "half": args.small // 2}).one()
        params = {"small": small, "some_id": some_id, "cursor": cursor}
        for label, (sql, _) in QUERIES.items():
            _explain(conn, sql, params)  # warm-up
            runs = [_explain(conn, sql, params) for _ in range(args.repeat)]
            report["queries"][label] = (statistics.median(r[0] for r in runs), runs[-1][1], runs[-1][2])
    engine.dispose()
    return report


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.keys", description=__doc__.splitlines()[0])
    parser.add_argument("--large", type=int, default=200_000, help="subjects of tenant 1 (default 200,000)")
    parser.add_argument("--small", type=int, default=5_000, help="subjects of every other tenant (default 5,000)")
    parser.add_argument("--tenants", type=int, default=20, help="tenants in all (default 20)")
    parser.add_argument("--repeat", type=int, default=15, help="timed runs per query (default 15)")
    args = parser.parse_args(sys.argv[1:] if argv is None else argv)
    server = services.start_postgres()
    try:
        reports = {name: run_schema(server.admin_url, name, args) for name in SCHEMAS}
    finally:
        server.stop()
    for name, report in reports.items():
        subjects, consents = report["rows"]
        print(f"## {name}: {subjects} subjects, {consents} consents, load {report['load_s']:.1f} s, "
              f"indexes {report['index_mb']} MB")
        for label, (ms, buffers, paths) in report["queries"].items():
            print(f"  {label}: median {ms:.3f} ms, {buffers} buffers, {'; '.join(paths)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
