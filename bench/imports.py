"""Importing N uploaded rows into an assignment whose client already holds M people, with cross-matching, on
PostgreSQL: rows per second of the whole import (parse, check, blind indexes, suppression list, matching of
people and companies, encryption, one commit), beside the plain COPY of the same rows as the limit.

The import is the production path (`saas.modules.imports.jobs.run_import`, as the non-owner app role with
row-level security). The M existing people, their keys and the tenant's general companies are bulk-loaded
with COPY as the superuser (not measured): blind indexes as the app computes them, so matching is real.
The file: a fifth of the rows are known people of the client (matched, job title corrected), the rest new;
every other row names a known company by KvK number, the rest a new one by name and postcode.
`python -m bench imports [--rows 10000] [--existing 100000]`.
"""
from __future__ import annotations

import os
import uuid
from datetime import datetime, timezone
from time import perf_counter

TARGET_RATE = 5_000
CREATED = datetime(2026, 1, 1, tzinfo=timezone.utc)
HEADER = "Voornaam;Achternaam;E-mail;Telefoon;Bedrijf;KvK;Postcode;Functie"


def bench_app():
    """The sweep bench's throwaway PostgreSQL, with the project's own plugins (leadgen's prospects)."""
    from bench.sweep import bench_app as throwaway_app

    return throwaway_app(bench_rules=False)


def _email(i: int) -> str:
    return f"persoon{i}@bedrijf{i % 5000}.example"


def _phone(i: int) -> str:
    return f"+3161{i:07d}"


def load(app, server, existing: int, companies: int) -> tuple[int, uuid.UUID, uuid.UUID]:
    """A leadgen tenant, a client with an assignment, `existing` people of that client (blind indexes and
    keys, no other fields) and `companies` general companies with a KvK number. Returns ids."""
    from bench.sweep import _superuser
    from saas.core.crypto import aead as box
    from saas.core.crypto.keyring import keyring, subject_key_aad
    from saas.core.tenancy import tenant_context
    from saas.extensions import db
    from saas.modules.assignments.models import Assignment
    from saas.modules.clients.models import ClientOrganisation
    from saas.modules.tenants import operations

    tenant, _ = operations.upsert("bench-imports", name="Bench imports", plugins=["leadgen"], settings={"leadgen": {
        "verify_after_months": 6, "purge_unverified_after_months": 12, "delete_when_contact_left": True,
        "agreement_per_assignment": False}})
    db.session.commit()
    with tenant_context(tenant.id):
        org = ClientOrganisation(name="Opdrachtgever bench")
        db.session.add(org)
        db.session.flush()
        assignment = Assignment(client_org_id=org.id, title="Bench", active=True)
        db.session.add(assignment)
        version, cipher = keyring().tenant_aead(tenant.id)
        ring = keyring()
        bidx = [(ring.blind_index(tenant.id, "email", _email(i)), ring.blind_index(tenant.id, "phone", _phone(i)))
                for i in range(existing)]
        org_id, assignment_id = org.id, assignment.id
        db.session.commit()
    ids = [uuid.uuid4() for _ in range(existing)]
    data, keys = _superuser(server, "saas_bench"), _superuser(server, "saas_bench_keys")
    with data.begin() as conn:
        with conn.connection.driver_connection.cursor() as cur:
            with cur.copy("COPY data_subject (id, tenant_id, category, client_org_id, created_at, updated_at, "
                          "email_bidx, phone_bidx, last_verified_on) FROM STDIN") as copy:
                for subject_id, (email, phone) in zip(ids, bidx):
                    copy.write_row((subject_id, tenant.id, "prospect", org_id, CREATED, CREATED, email, phone,
                                    CREATED.date()))
            with cur.copy("COPY company (id, tenant_id, name, kvk_number, postcode, created_at, updated_at) "
                          "FROM STDIN") as copy:
                for i in range(companies):
                    copy.write_row((uuid.uuid4(), tenant.id, f"Bedrijf {i} BV", f"{10_000_000 + i}", "1234AB",
                                    CREATED, CREATED))
    with keys.begin() as conn:
        with conn.connection.driver_connection.cursor() as cur:
            with cur.copy("COPY subject_key (tenant_id, subject_id, generation, tenant_key_version, wrapped, "
                          "created_at) FROM STDIN") as copy:
                for subject_id in ids:
                    wrapped = box.wrap(cipher, os.urandom(32), subject_key_aad(tenant.id, subject_id.hex, 1))
                    copy.write_row((tenant.id, subject_id, 1, version, wrapped, CREATED))
    for engine, tables in ((data, ("data_subject", "company")), (keys, ("subject_key",))):
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            for table in tables:
                conn.exec_driver_sql(f"VACUUM ANALYZE {table}")
        engine.dispose()
    return tenant.id, org_id, assignment_id


def upload_rows(rows: int, existing: int, companies: int) -> list[list[str]]:
    out = []
    for r in range(rows):
        known = r % 5 == 0 and existing
        i = (r * 7919) % existing if known else existing + r
        kvk = f"{10_000_000 + (r % companies)}" if r % 2 == 0 else ""
        out.append([f"Voor{i}", f"Achter{i}", _email(i), _phone(i), f"Firma {r % 3000}" if not kvk else f"Bedrijf {r % companies} BV",
                    kvk, f"{1000 + r % 8999} AB", "Inkoper" if known else "Directeur"])
    return out


def csv_bytes(rows: list[list[str]]) -> bytes:
    return ("\ufeff" + HEADER + "\r\n" + "".join(";".join(r) + "\r\n" for r in rows)).encode("utf-8")


def timed_import(app, tenant_id: int, org_id, assignment_id, content: bytes) -> tuple[float, dict]:
    from saas.core.tenancy import tenant_context
    from saas.extensions import db
    from saas.modules.imports import jobs, operations, parsing, validation
    from saas.modules.imports.models import QUEUED, ImportRun
    from saas.modules.files import operations as files

    with tenant_context(tenant_id):
        table = parsing.read_table(content, "bench.csv")
        stored = files.save(content, "text/csv", operations.FILE_PURPOSE)
        run = ImportRun(assignment_id=assignment_id, client_org_id=org_id, file_id=stored.id, file_kind="csv",
                        status=QUEUED, headers_count=len(table.headers), counts={}, problems=[], error_detail={},
                        mapping={str(c): f for c, f in validation.suggest(table.headers).items()})
        db.session.add(run)
        db.session.commit()
        run_id = run.id
        start = perf_counter()
        status = jobs.run_import(str(run_id))
        db.session.commit()
        elapsed = perf_counter() - start
        counts = db.session.get(ImportRun, run_id).counts
        db.session.commit()
        assert status == "done", status
    return elapsed, counts


def plain_copy(server, rows: list[list[str]]) -> float:
    """The same rows by COPY into a table of text columns, as the superuser, rolled back: the limit."""
    from bench.sweep import _superuser

    engine = _superuser(server, "saas_bench")
    with engine.connect() as conn:
        transaction = conn.begin()
        conn.exec_driver_sql("CREATE TEMP TABLE bench_plain_rows (given_name text, family_name text, email text, "
                             "phone text, company text, kvk text, postcode text, job_title text)")
        with conn.connection.driver_connection.cursor() as cur:
            start = perf_counter()
            with cur.copy("COPY bench_plain_rows FROM STDIN") as copy:
                for row in rows:
                    copy.write_row(row)
            elapsed = perf_counter() - start
        transaction.rollback()
    engine.dispose()
    return elapsed


def run(rows: int, existing: int) -> bool:
    companies = max(1, existing // 10)
    print(f"import: {rows:,} rows against {existing:,} existing people and {companies:,} companies (PostgreSQL)")
    with bench_app() as (app, server):
        start = perf_counter()
        tenant_id, org_id, assignment_id = load(app, server, existing, companies)
        print(f"  loaded (COPY, not measured) in {perf_counter() - start:6.1f} s")
        data = upload_rows(rows, existing, companies)
        content = csv_bytes(data)
        # One small untimed import first: what a worker process pays once (phone metadata, Redis) is not per file.
        timed_import(app, tenant_id, org_id, assignment_id, csv_bytes(upload_rows(20, existing, companies)[:1]
                                                                       + [["W", "U", "warm@up.example", "", "", "",
                                                                           "", ""]] * 0))
        elapsed, counts = timed_import(app, tenant_id, org_id, assignment_id, content)
        copy_elapsed = plain_copy(server, data)
    rate, copy_rate = rows / elapsed, rows / copy_elapsed
    print(f"  import      {elapsed:8.2f} s  {rate:10,.0f} rows/s   counts: "
          + ", ".join(f"{k}={v}" for k, v in sorted(counts.items())))
    print(f"  plain COPY  {copy_elapsed:8.2f} s  {copy_rate:10,.0f} rows/s   (the limit)")
    print(f"  import at {rate / copy_rate:.3f} of COPY; target {TARGET_RATE:,} rows/s: "
          f"{'met' if rate >= TARGET_RATE else 'NOT met'}")
    return rate >= TARGET_RATE


def main(argv) -> int:
    import argparse

    parser = argparse.ArgumentParser(prog="python -m bench imports", description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=10_000, help="rows in the uploaded file (default 10,000)")
    parser.add_argument("--existing", type=int, default=100_000, help="people the client holds (default 100,000)")
    args = parser.parse_args(argv)
    if args.rows < 10 or args.existing < 10:
        parser.error("--rows and --existing must be at least 10")
    return 0 if run(args.rows, args.existing) else 1
