"""Tenant backups on PostgreSQL: create, verify and restore times and file size for N people.

`python -m bench backups [--subjects N]`. A throwaway PostgreSQL cluster (saas/testing/services.py); people
with encrypted fields written through the ORM; 1% of them erased through the erasure path after the backup.
Targets: create and restore each under 60 s for 25,000 people; the erased never come back."""
from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import sqlalchemy as sa


def run(subjects: int) -> dict:
    from flask_migrate import upgrade

    from saas import create_app
    from saas.config import Settings
    from saas.core.tenancy import tenant_context
    from saas.extensions import db
    from saas.modules.backups import operations
    from saas.modules.erasure import operations as erasure
    from saas.modules.subjects.models import DataSubject
    from saas.modules.tenants import operations as tenants
    from saas.testing import services

    server = services.start_postgres()
    figures: dict = {"subjects": subjects}
    try:
        with tempfile.TemporaryDirectory(prefix="saas-bench-", ignore_cleanup_errors=True) as workdir:
            urls = services.create_databases(server, "saas_bench_backup")
            settings = Settings(env="development", instance_path=Path(workdir), testing=True, **urls)
            settings.fill_defaults()
            app = create_app(settings)
            with app.app_context():
                upgrade()
                tenant, _ = tenants.upsert("bench", name="Bench", plugins=[])
                db.session.commit()
                with tenant_context(tenant.id):
                    started = time.perf_counter()
                    for start in range(0, subjects, 2000):
                        for i in range(start, min(subjects, start + 2000)):
                            person = DataSubject(category="contact")
                            person.given_name, person.family_name = f"Naam{i}", f"Achternaam{i}"
                            person.email, person.notes = f"p{i}@voorbeeld-mail.nl", "Belt na 17 uur" * 3
                            db.session.add(person)
                        db.session.commit()
                    figures["load_s"] = round(time.perf_counter() - started, 1)
                    started = time.perf_counter()
                    created = operations.create_backup(tenant)
                    figures["create_s"] = round(time.perf_counter() - started, 2)
                    figures["file_bytes"] = created.path.stat().st_size
                    started = time.perf_counter()
                    operations.verify(created.path)
                    figures["verify_s"] = round(time.perf_counter() - started, 2)
                    ids = list(db.session.scalars(sa.select(DataSubject.id).order_by(DataSubject.id)
                                                  .limit(max(1, subjects // 100))))
                    db.session.commit()
                    for subject_id in ids:
                        erasure.erase_subject(db.session.get(DataSubject, subject_id), reason="bench")
                        db.session.commit()
                    started = time.perf_counter()
                    plan = operations.plan_restore(tenant, created.path)
                    figures["dry_run_s"] = round(time.perf_counter() - started, 2)
                    db.session.rollback()
                    started = time.perf_counter()
                    plan = operations.restore(tenant, created.path)
                    figures["restore_s"] = round(time.perf_counter() - started, 2)
                    back = set(db.session.scalars(sa.select(DataSubject.id)))
                    db.session.commit()
                    figures["erased"] = len(ids)
                    figures["erased_not_back"] = len(plan.erased_after) == len(ids) and not back & set(ids)
                    figures["restored"] = len(back)
    finally:
        server.stop()
    return figures


def main(argv) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench backups", description=__doc__.splitlines()[0])
    parser.add_argument("--subjects", type=int, default=25_000)
    args = parser.parse_args(argv)
    figures = run(args.subjects)
    for name, value in figures.items():
        print(f"{name:>16}: {value}")
    ok = figures["erased_not_back"] and figures["restored"] == args.subjects - figures["erased"]
    ok = ok and (args.subjects > 25_000 or (figures["create_s"] < 60 and figures["restore_s"] < 60))
    print("OK" if ok else "FAILED")
    return 0 if ok else 1
