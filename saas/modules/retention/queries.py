"""Reads of the retention feature: records as the rules see them, sweep runs, forecast, verification queue.

The sweep reads lifecycle columns as plain rows (never ORM objects, never an encrypted field): a record
becomes a `RecordView` of dates and flags, in keyset-ordered batches by id, so memory stays flat however
large the tenant is.
"""
from __future__ import annotations

import uuid
from collections import Counter
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, replace
from datetime import date, datetime, time, timedelta, timezone
from functools import cache

import sqlalchemy as sa

from saas.core import clock
from saas.core.bulk import id_in
from saas.core.paging import Page
from saas.core.tenancy import require_tenant_id
from saas.extensions import db
from saas.modules.companies.models import Company
from saas.modules.consents.models import ConsentRecord
from saas.modules.consents.queries import active_purposes
from saas.modules.retention import engine
from saas.modules.retention.models import RetentionDecision, SweepRun
from saas.modules.retention.policies import active_holds, effective_policies
from saas.modules.erasure import queries as erasure_queries
from saas.modules.subjects.models import DataSubject
from saas.modules.tenants.models import Tenant
from saas.plugins import lifecycle
from saas.plugins.definitions import RecordView

NO_CONSENTS: frozenset[str] = frozenset()
# The lifecycle columns of DataSubject, by the registry's names (a view is built by name from them). Plain
# table columns: rows come back as tuples without the ORM's per-row loading; the tenant is filtered explicitly.
_SUBJECTS, _COMPANIES = DataSubject.__table__, Company.__table__
_SUBJECT_DATES = (*lifecycle.NAMES, "needs_verification_since")
_SUBJECT_COLUMNS = (_SUBJECTS.c.id, _SUBJECTS.c.category, _SUBJECTS.c.created_at,
                    *(_SUBJECTS.c[name] for name in _SUBJECT_DATES), _SUBJECTS.c.restricted_at.is_not(None))
_COMPANY_COLUMNS = (_COMPANIES.c.id, _COMPANIES.c.created_at, _COMPANIES.c.last_verified_on,
                    _COMPANIES.c.needs_verification_since)


def current_tenant() -> Tenant:
    return db.session.get(Tenant, require_tenant_id())


def created_on(created_at: datetime) -> date:
    """The calendar day (Amsterdam) a record was created: what a never-verified record counts from."""
    return clock.local(created_at).date()


# --- records as the rules see them -------------------------------------------------------------------

def _next(table, columns, after: uuid.UUID | None, limit: int):
    query = sa.select(*columns).where(table.c.tenant_id == require_tenant_id()).order_by(table.c.id).limit(limit)
    if after is not None:
        query = query.where(table.c.id > after)
    return db.session.execute(query).all()   # one fetch, not a fetch per row


@dataclass(frozen=True)
class Batch:
    """The next `count` records by id, up to and including `last`; `views` are those of them that may be
    due (the others cannot be: their dates say so)."""

    count: int
    last: uuid.UUID | None
    views: list[RecordView]


def next_batch(kind: str, after: uuid.UUID | None, limit: int, due_dates: dict) -> Batch:
    """The sweep's batch in one query: the next `limit` records by id are counted and bounded in the
    database, and of their rows only those that may be due (and the last, for its id) come back."""
    table, columns, make = _KINDS[kind]
    window = sa.select(*columns, _may_be_due(table, due_dates).label("due")).where(
        table.c.tenant_id == require_tenant_id()).order_by(table.c.id).limit(limit)
    if after is not None:
        window = window.where(table.c.id > after)
    window = window.subquery()
    numbered = sa.select(window, sa.func.count().over().label("scanned"),
                         sa.func.row_number().over(order_by=window.c.id).label("n")).subquery()
    rows = db.session.execute(sa.select(numbered).where(sa.or_(numbered.c.due, numbered.c.n == numbered.c.scanned))
                              .order_by(numbered.c.id)).all()
    if not rows:
        return Batch(0, None, [])
    width = len(columns)
    return Batch(rows[-1].scanned, rows[-1].id, make([row[:width] for row in rows if row.due]))


def _may_be_due(table, due_dates: dict):
    """Rows with an anchor date on or before a policy's latest due anchor date, per category: a superset of
    what the engine will find due (it decides exactly, `applies` included)."""
    conditions = []
    for category, anchors in due_dates.items():
        dated = [_on_or_before(table, anchor, cutoff) for anchor, cutoff in anchors]
        if "category" in table.c:
            conditions.append(sa.and_(table.c.category == category, sa.or_(*dated)))
        elif category == "company":
            conditions.append(sa.or_(*dated))
    return sa.or_(*conditions) if conditions else sa.false()


def _on_or_before(table, anchor: str, cutoff: date):
    # Created on (Amsterdam) day D means created before D + 1 at midnight UTC: two days leave a margin.
    created_in_time = table.c.created_at < datetime.combine(cutoff + timedelta(days=2), time(), timezone.utc)
    if anchor == "created_on":
        return created_in_time
    if anchor not in table.c:
        return sa.false()
    on_time = table.c[anchor] <= cutoff
    if _falls_back_to_creation(anchor):
        return sa.or_(on_time, sa.and_(table.c[anchor].is_(None), created_in_time))
    return on_time


@cache
def _falls_back_to_creation(anchor: str) -> bool:
    """Whether `RecordView.date_of` counts an empty `anchor` from the record's creation."""
    probe = RecordView(id=uuid.UUID(int=0), kind="subject", category="", created_on=date(2000, 1, 1))
    return probe.date_of(anchor) == probe.created_on


def _subject_rows(rows) -> list[RecordView]:
    view, names, last = RecordView, _SUBJECT_DATES, 3 + len(_SUBJECT_DATES)
    return [view(id=row[0], kind="subject", category=row[1], created_on=created_on(row[2]),
                 restricted=bool(row[last]), **dict(zip(names, row[3:last]))) for row in rows]


def _company_rows(rows) -> list[RecordView]:
    return [
        RecordView(id=row[0], kind="company", category="company", created_on=created_on(row[1]),
                   last_verified_on=row[2], needs_verification_since=row[3])
        for row in rows
    ]


def subject_views(after: uuid.UUID | None, limit: int) -> list[RecordView]:
    """The next `limit` subjects by id after `after`, as views without consents (see `with_consents`)."""
    return _subject_rows(_next(_SUBJECTS, _SUBJECT_COLUMNS, after, limit))


def company_views(after: uuid.UUID | None, limit: int) -> list[RecordView]:
    return _company_rows(_next(_COMPANIES, _COMPANY_COLUMNS, after, limit))


_KINDS = {"subjects": (_SUBJECTS, _SUBJECT_COLUMNS, _subject_rows),
          "companies": (_COMPANIES, _COMPANY_COLUMNS, _company_rows)}


def record_view(record) -> RecordView:
    """The view of one loaded subject or company (single-record operations: verify, mark left, erase)."""
    if isinstance(record, Company):
        return RecordView(id=record.id, kind="company", category="company",
                          created_on=created_on(record.created_at or clock.now()),
                          last_verified_on=record.last_verified_on,
                          needs_verification_since=record.needs_verification_since)
    dates = {name: getattr(record, name) for name in _SUBJECT_DATES}
    view = RecordView(id=record.id, kind="subject", category=record.category,
                      created_on=created_on(record.created_at or clock.now()),
                      restricted=record.restricted_at is not None, **dates)
    return with_consents([view], clock.today())[0]


def count_records() -> tuple[int, int]:
    """(subjects, companies) of the current tenant."""
    subjects = db.session.scalar(sa.select(sa.func.count()).select_from(DataSubject))
    companies = db.session.scalar(sa.select(sa.func.count()).select_from(Company))
    return subjects, companies


def has_consents() -> bool:
    """Whether the current tenant keeps any consent records (a sweep of a tenant without them skips the
    per-batch look-up of its subjects' consents)."""
    return db.session.scalar(sa.select(ConsentRecord.id).limit(1)) is not None


def with_consents(views: list[RecordView], on_date: date) -> list[RecordView]:
    """The same views with their active consent purposes filled in (subjects only)."""
    purposes = active_purposes([v.id for v in views if v.kind == "subject"], on_date)
    if not purposes:
        return views
    return [replace(v, consents=purposes[v.id]) if v.id in purposes else v for v in views]


def decided(record_ids: Sequence[uuid.UUID]) -> set[tuple[uuid.UUID, str, date]]:
    """(record id, policy name, due date) of the decisions already made about these records."""
    if not record_ids:
        return set()
    query = sa.select(RetentionDecision.record_id, RetentionDecision.policy, RetentionDecision.due_on).where(
        id_in(RetentionDecision.record_id, record_ids))
    return {tuple(row) for row in db.session.execute(query)}


def iter_views(batch_size: int = 2000, on_date: date | None = None) -> Iterator[RecordView]:
    """Every subject (with consents) and company of the current tenant, batch by batch."""
    on_date = on_date or clock.today()
    for read in (subject_views, company_views):
        after = None
        while views := read(after, batch_size):
            yield from with_consents(views, on_date)
            after = views[-1].id


# --- sweep runs ------------------------------------------------------------------------------------

def sweep_history(limit: int = 20) -> list[SweepRun]:
    """The current tenant's latest sweep runs (dry runs too), newest first."""
    query = sa.select(SweepRun).order_by(SweepRun.started_at.desc(), SweepRun.id).limit(limit)
    return list(db.session.scalars(query))


def running_sweep() -> SweepRun | None:
    """The current tenant's sweep that has not finished (a real one before a dry run), if any."""
    query = (sa.select(SweepRun).where(SweepRun.status == "running")
             .order_by(SweepRun.dry_run, SweepRun.started_at.desc()).limit(1))
    return db.session.scalar(query)


def get_sweep(sweep_run_id) -> SweepRun | None:
    """One sweep run of the current tenant by id (a UUID or its text; anything else is None)."""
    try:
        key = sweep_run_id if isinstance(sweep_run_id, uuid.UUID) else uuid.UUID(str(sweep_run_id))
    except ValueError:
        return None
    return db.session.get(SweepRun, key)


def pending_purges(limit: int = 1000) -> list[tuple[uuid.UUID, uuid.UUID, str]]:
    """(decision id, subject id, policy name) of purges whose rows are gone but whose key may not be yet."""
    query = (sa.select(RetentionDecision.id, RetentionDecision.record_id, RetentionDecision.policy)
             .where(sa.not_(RetentionDecision.completed), RetentionDecision.action == "purge")
             .order_by(RetentionDecision.id).limit(limit))
    return [tuple(row) for row in db.session.execute(query)]


# --- forecast --------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Forecast:
    """What the policies will do per month: `months` ("YYYY-MM", in order) and per (policy key, action)
    the count in each of those months; `totals` per month (all policies)."""

    start: date
    months: list[str]
    series: dict[tuple[str, str], list[int]]
    totals: list[int]

    @property
    def empty(self) -> bool:
        return not any(self.totals)


def _month_starts(start: date, months: int) -> list[date]:
    firsts, year, month = [], start.year, start.month
    for _ in range(months):
        firsts.append(date(year, month, 1))
        year, month = (year + 1, 1) if month == 12 else (year, month + 1)
    return firsts


def forecast_by_month(tenant: Tenant | None = None, months: int = 12, start: date | None = None) -> Forecast:
    """What becomes due in the coming `months` calendar months (this one included), from today.
    Reads every record of the tenant (batch by batch): meant for the portal of a tenant of demo or
    office size; the daily sweep's dry run gives the same counts for today."""
    tenant = tenant or current_tenant()
    start = start or clock.today()
    firsts = _month_starts(start, months + 1)
    end = firsts[-1]
    labels = [engine.month_of(first) for first in firsts[:-1]]
    counts: Counter = engine.forecast(iter_views(on_date=start), effective_policies(tenant), tenant, start,
                                      (end - start).days, active_holds(tenant))
    series: dict[tuple[str, str], list[int]] = {}
    for (month, key, action), count in sorted(counts.items()):
        series.setdefault((key, action), [0] * len(labels))[labels.index(month)] = count
    totals = [sum(values[i] for values in series.values()) for i in range(len(labels))]
    return Forecast(start, labels, series, totals)


# --- verification queue ----------------------------------------------------------------------------

@dataclass(frozen=True)
class QueueItem:
    """One flagged record: `kind` "subject" or "company", the loaded record, since when it is flagged."""

    kind: str
    record: object
    since: date

    @property
    def id(self) -> uuid.UUID:
        return self.record.id


def verification_queue(page: int = 1, per_page: int = 25, client_org_id: uuid.UUID | None = None, *,
                       membership=None) -> Page:
    """Flagged subjects and companies, longest waiting first. Subjects are loaded (and their keys fetched
    together) for display. The caller audits the read (a query writes nothing).
    `client_org_id` limits the queue to one client organisation's records (a client user); `membership`
    to what that member may see (the access policy's scopes; None: the whole tenant)."""
    from saas.access import scopes

    subjects = sa.select(sa.literal("subject").label("kind"), DataSubject.id.label("id"),
                         DataSubject.needs_verification_since.label("since")).where(
        DataSubject.needs_verification_since.is_not(None), DataSubject.restricted_at.is_(None))
    companies = sa.select(sa.literal("company").label("kind"), Company.id.label("id"),
                          Company.needs_verification_since.label("since")).where(
        Company.needs_verification_since.is_not(None), *scopes.company_conditions(membership))
    subjects = subjects.where(*scopes.subject_conditions(membership, verifying=True))
    if client_org_id is not None:
        subjects = subjects.where(DataSubject.client_org_id == client_org_id)
        companies = companies.where(Company.client_org_id == client_org_id)
    union = sa.union_all(subjects, companies).subquery()
    total = db.session.scalar(sa.select(sa.func.count()).select_from(union))
    rows = db.session.execute(sa.select(union.c.kind, union.c.id, union.c.since)
                              .order_by(union.c.since, union.c.kind, union.c.id)
                              .limit(per_page).offset((page - 1) * per_page)).all()
    subject_ids = [row.id for row in rows if row.kind == "subject"]
    company_ids = [row.id for row in rows if row.kind == "company"]
    loaded = {s.id: s for s in db.session.scalars(sa.select(DataSubject).where(DataSubject.id.in_(subject_ids)))}
    loaded.update({c.id: c for c in db.session.scalars(sa.select(Company).where(Company.id.in_(company_ids)))})
    for gone in erasure_queries.gone_ids(subject_ids):   # key gone: erased, not queued (fetches the others' keys)
        loaded.pop(gone, None)
    items = [QueueItem(row.kind, loaded[row.id], row.since) for row in rows if row.id in loaded]
    return Page(items, total, page, per_page)

