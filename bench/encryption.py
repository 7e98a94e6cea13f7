"""Store and load N data subjects with field encryption against the same ORM path without it.

Both paths go through the app's own session (tenant stamping, tenant criteria and, on PostgreSQL,
row-level security as the non-owner app role). The encrypted path is `DataSubject`: a key per subject
(wrapped by the tenant key, stored in the keys database), six fields sealed in one AES-256-GCM value per
row, and email and phone blind indexes. The plain path is `PlainSubject` below: DataSubject's columns
with the fields as plain text, in its own table. The raw AES-GCM figure is the ceiling: the same six
values sealed and opened as one value per subject with one AESGCM object, no database.
"""
from __future__ import annotations

import contextlib
import cProfile
import gc
import os
import pstats
import statistics
import tempfile
import uuid
from dataclasses import dataclass
from pathlib import Path
from time import perf_counter

import msgpack
import sqlalchemy as sa
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from sqlalchemy.orm import DeclarativeBase, mapped_column
from sqlalchemy.pool import NullPool

TARGET_RATIO = 0.5
FIELDS = ("given_name", "family_name", "email", "phone", "city", "notes")
BATCH = 500          # subjects per commit, as an import would write them
WARM_UP = 200        # subjects stored and loaded once per path before timing (connections, key caches)


class BenchError(RuntimeError):
    """The benchmark read back something other than what it stored."""


def _plain_model():
    """A plain mapped class with DataSubject's columns, its encrypted fields as plain text columns.

    Built from DataSubject's own table, so the two stay alike when the model grows (foreign keys left
    out: the plain table has its own metadata). Defined lazily so `import bench.encryption` does not
    import the app's models first.
    """
    from saas.core.crypto.fields import COLUMN, encrypted_fields
    from saas.core.models import Timestamps, UuidPk
    from saas.core.tenancy import TenantScoped
    from saas.extensions import NAMING
    from saas.modules.subjects.models import DataSubject

    class PlainBase(DeclarativeBase):
        metadata = sa.MetaData(naming_convention=NAMING)

    fields = [field.name for field in encrypted_fields(DataSubject)]
    from_mixins = {"id", "tenant_id", "created_at", "updated_at"}
    attributes = {
        "__tablename__": "bench_plain_subject",
        "__table_args__": (
            sa.Index("ix_bench_plain_subject_tenant_email", "tenant_id", "email"),
            sa.Index("ix_bench_plain_subject_tenant_phone", "tenant_id", "phone"),
            sa.Index("ix_bench_plain_subject_tenant_category", "tenant_id", "category"),
        ),
        **{column.name: mapped_column(column.type, index=bool(column.index))
           for column in DataSubject.__table__.c
           if column.name not in from_mixins and column.name != COLUMN and not column.name.endswith("_bidx")},
        **{name: mapped_column(sa.Text) for name in fields},
    }
    return type("PlainSubject", (UuidPk, TenantScoped, Timestamps, PlainBase), attributes)


# --- environment -----------------------------------------------------------------------------------

@contextlib.contextmanager
def bench_app(db_kind: str):
    """A throwaway app: SQLite files or a throwaway PostgreSQL cluster, migrated as the tests do."""
    from flask_migrate import upgrade

    from saas import create_app
    from saas.config import Settings

    with tempfile.TemporaryDirectory(prefix="saas-bench-", ignore_cleanup_errors=True) as workdir:
        with _database_urls(db_kind) as urls:
            settings = Settings(env="development", instance_path=Path(workdir), testing=True, **urls)
            settings.fill_defaults()
            app = create_app(settings)
            with app.app_context():
                upgrade()
                plain = _plain_model()
                _create_plain_table(plain, settings)
                yield app, plain


@contextlib.contextmanager
def _database_urls(db_kind: str):
    if db_kind == "sqlite":
        yield {}
        return
    from saas.testing import services

    server = services.start_postgres()
    try:
        yield services.create_databases(server, "saas_bench")
    finally:
        server.stop()


def _create_plain_table(plain, settings) -> None:
    """Created by the owner role with the same RLS policy and grants as the app's own tables."""
    from saas.core import rls

    owner = sa.create_engine(settings.database_owner_url, poolclass=NullPool)
    with owner.begin() as conn:
        plain.metadata.create_all(conn)
        rls.ensure(conn, settings.app_role)
    owner.dispose()


def fake_people(n: int) -> list[dict]:
    """Realistic Dutch values, the same for every path."""
    from faker import Faker

    fake = Faker("nl_NL")
    Faker.seed(20240501)
    people = []
    for i in range(n):
        given, family = fake.first_name(), fake.last_name()
        people.append({
            "given_name": given,
            "family_name": family,
            "email": f"{given}.{family}.{i}@{fake.free_email_domain()}".replace(" ", "").lower(),
            "phone": fake.phone_number(),
            "city": fake.city(),
            "notes": fake.paragraph(nb_sentences=3),
        })
    return people


# --- measurements ----------------------------------------------------------------------------------

def _new_tenant() -> int:
    from saas.core import tenancy
    from saas.extensions import db
    from saas.modules.tenants import operations

    db.session.remove()
    tenancy.set_tenant(None)
    tenant, _ = operations.upsert(f"bench-{uuid.uuid4().hex[:8]}", name="Bench", plugins=[])
    db.session.commit()
    return tenant.id


def store(model, people: list[dict]) -> tuple[int, float]:
    """Seconds to create, flush and commit every subject, BATCH per commit, in a fresh tenant."""
    from saas.core import tenancy
    from saas.extensions import db

    tenant_id = _new_tenant()
    db.session.remove()
    tenancy.set_tenant(tenant_id)
    gc.collect()   # every timed run starts with no garbage left by the one before
    start = perf_counter()
    for first in range(0, len(people), BATCH):
        db.session.add_all([model(category="candidate", **person) for person in people[first:first + BATCH]])
        db.session.commit()
    elapsed = perf_counter() - start
    db.session.remove()
    return tenant_id, elapsed


def load(model, tenant_id: int, people: list[dict]) -> float:
    """Seconds to select every subject of the tenant in a fresh session and read every field."""
    from saas.core import tenancy
    from saas.extensions import db

    db.session.remove()
    tenancy.set_tenant(tenant_id)
    gc.collect()
    start = perf_counter()
    values = [tuple(getattr(subject, f) for f in FIELDS) for subject in db.session.scalars(sa.select(model))]
    db.session.commit()
    elapsed = perf_counter() - start
    db.session.remove()
    if sorted(values) != sorted(tuple(p[f] for f in FIELDS) for p in people):
        raise BenchError(f"{model.__name__}: the loaded values differ from the stored ones")
    return elapsed


def raw_aesgcm(people: list[dict]) -> float:
    """Seconds to seal and open every subject's fields as one AES-256-GCM value, as the app stores them
    (a MessagePack map, one cipher object, no database)."""
    cipher = AESGCM(AESGCM.generate_key(256))
    aad = f"1|data_subject|ciphertext|{uuid.uuid4()}".encode()
    values = [{f: p[f] for f in FIELDS} for p in people]
    start = perf_counter()
    for subject in values:
        nonce = os.urandom(12)
        sealed = cipher.encrypt(nonce, msgpack.packb(subject), aad)
        msgpack.unpackb(cipher.decrypt(nonce, sealed, aad))
    return perf_counter() - start


@dataclass
class Timings:
    seconds: list[float]

    def best(self) -> float:
        return min(self.seconds)

    def median(self) -> float:
        return statistics.median(self.seconds)


def measure(models: dict, people: list[dict], repeat: int) -> dict[str, Timings]:
    """Interleave the paths in every round so drift (caches, table growth) hits both alike."""
    timings = {f"{path}:{op}": Timings([]) for path in models for op in ("store", "load")}
    for path, model in models.items():
        tenant_id, _ = store(model, people[:WARM_UP])
        load(model, tenant_id, people[:WARM_UP])
    for _ in range(repeat):
        tenants = {}
        for path, model in models.items():
            tenants[path], seconds = store(model, people)
            timings[f"{path}:store"].seconds.append(seconds)
        for path, model in models.items():
            timings[f"{path}:load"].seconds.append(load(model, tenants[path], people))
    timings["raw:aesgcm"] = Timings([raw_aesgcm(people) for _ in range(repeat)])
    return timings


def profile(model, people: list[dict], path: str) -> None:
    profiler = cProfile.Profile()
    profiler.enable()
    tenant_id, _ = store(model, people)
    load(model, tenant_id, people)
    profiler.disable()
    profiler.dump_stats(path)
    print(f"\ncProfile of one encrypted store+load written to {path}; top functions by own time:")
    pstats.Stats(profiler).sort_stats("tottime").print_stats(15)


# --- report ----------------------------------------------------------------------------------------

def report(n: int, db_kind: str, repeat: int, t: dict[str, Timings]) -> bool:
    from saas.core import clock

    def rate(seconds: float) -> str:
        return f"{n / seconds:>10,.0f}"

    print(f"\nEncryption benchmark: {n} data subjects, {db_kind}, best and median of {repeat} runs "
          f"({clock.now().astimezone(clock.AMSTERDAM):%Y-%m-%d %H:%M %Z}, {os.cpu_count()} cores)")
    print(f"{'subjects/s':<26}{'store best':>12}{'median':>10}{'load best':>12}{'median':>10}")
    for path in ("plain", "encrypted"):
        s, lo = t[f"{path}:store"], t[f"{path}:load"]
        print(f"{path + ' ORM path':<26}{rate(s.best()):>12}{rate(s.median()):>10}"
              f"{rate(lo.best()):>12}{rate(lo.median()):>10}")
    ok = True
    print(f"{'ratio encrypted/plain':<26}", end="")
    for op in ("store", "load"):
        best = t[f"plain:{op}"].best() / t[f"encrypted:{op}"].best()
        median = t[f"plain:{op}"].median() / t[f"encrypted:{op}"].median()
        ok = ok and median >= TARGET_RATIO
        print(f"{best:>12.2f}{median:>10.2f}", end="")
    print()
    raw = t["raw:aesgcm"]
    print(f"{'raw AES-GCM limit':<26}{rate(raw.best()):>12}{rate(raw.median()):>10}"
          f"   ({len(FIELDS)} fields sealed+opened as one value per subject, no database)")
    verdict = "MET" if ok else "NOT MET"
    print(f"\nTarget: encrypted path at >= {TARGET_RATIO:.2f} of the plain one for store and load "
          f"(median ratios): {verdict}")
    return ok


def run(n: int, db_kind: str, repeat: int, profile_path: str | None = None) -> bool:
    from saas.modules.subjects.models import DataSubject

    people = fake_people(n)
    with bench_app(db_kind) as (app, plain):
        timings = measure({"plain": plain, "encrypted": DataSubject}, people, repeat)
        ok = report(n, db_kind, repeat, timings)
        if profile_path:
            profile(DataSubject, people, profile_path)
    return ok
