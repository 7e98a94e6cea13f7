"""Writes of imports: the upload, the mapping, the import itself (all-or-nothing), cancel and undo.

The import is one transaction. Everything is read and checked first (values, duplicates within the file,
the suppression list, the client's own people, the general company data); if more rows are refused than the
limit allows, nothing is written at all. Then people, links and companies are written and the job commits
once: a worker killed before that commit, a cancel or an error leaves nothing behind (the import can simply
run again). Only afterwards are people who turned out to have left their company erased, each through the
one erasure path (which commits on its own).

Cross-matching (seed 004, 4.1 and 4.2):
- companies: with the tenant's general company data (no client organisation) and the client's own, by KvK
  number, else by normalised name and postcode. The known company wins (agents keep it current): a row that
  names it otherwise (moved, renamed) is corrected by linking the person to the known company; what the
  known company lacks (KvK, postcode, city) is filled in; a ceased company's people are not imported.
- people: with the same person in the client's own other assignments (blind indexes of e-mail and phone).
  The upload is the client's newest word, so its values correct the known record (job title, e-mail, ...).
  People held only by another client organisation are never matched, read or changed: what client A sees,
  and its report, is the same whether or not client B holds the person.
"""
from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import timedelta, timezone

import sqlalchemy as sa
from flask import current_app

from saas.core import clock, transaction
from saas.core.bulk import chunks, id_in, insert_rows
from saas.core.errors import DomainError
from saas.core.tenancy import new_id, require_tenant_id
from saas.extensions import db
from saas.modules.assignments.models import Assignment, AssignmentSubject
from saas.modules.audit import operations as audit
from saas.modules.companies.models import Company
from saas.modules.erasure import operations as erasure
from saas.modules.files import operations as files
from saas.modules.files import queries as files_queries
from saas.modules.imports import messages, parsing, validation
from saas.modules.imports.models import (
    CANCELLED, DONE, FAILED, FINISHED, QUEUED, REFUSED, RUNNING, UNDOING, UNDONE, UPLOADED, ImportCreated, ImportMapping,
    ImportRun)
from saas.modules.retention.models import SuppressionEntry
from saas.modules.retention import suppression
from saas.modules.subjects import operations as subjects_operations
from saas.modules.subjects.models import DataSubject

CATEGORY = "prospect"
SOURCE = "import"
FILE_PURPOSE = "import"
LEFT_REASON = "left_company"
UNDO_REASON = "import_undone"
BATCH = 500
DEFAULTS = {"IMPORT_MAX_BYTES": 20 * 1024 * 1024, "IMPORT_MAX_ROWS": 200_000, "IMPORT_REFUSED_LIMIT_PERCENT": 10,
            "IMPORT_UNDO_HOURS": 24}


def setting(name: str) -> int:
    return int(current_app.config.get(name, DEFAULTS[name]))


def max_bytes() -> int:
    return min(setting("IMPORT_MAX_BYTES"), int(current_app.config["MAX_CONTENT_LENGTH"]))


class ImportRefused(DomainError):
    """The file or the mapping is refused: `reason` is the code of `messages.FILE_REASONS`."""

    def __init__(self, code: str, **detail):
        super().__init__(messages.file_message(code, detail), reason=code, **detail)
        self.detail = detail


# ---- upload and mapping ---------------------------------------------------------------------------------

def size_of(stream) -> int:
    """The size of an uploaded stream without reading it."""
    stream.seek(0, 2)
    size = stream.tell()
    stream.seek(0)
    return size


def check_size(size: int) -> None:
    limit = max_bytes()
    if size > limit:
        raise ImportRefused("too_large", limit_mb=limit // (1024 * 1024))


def upload(assignment: Assignment, stream, filename: str, uploaded_by: uuid.UUID | None) -> ImportRun:
    """Check the size before reading, read and check the file, keep it encrypted until the import is done.
    A refused file writes nothing."""
    check_size(size_of(stream))
    content = stream.read(max_bytes() + 1)
    check_size(len(content))
    table = read(content, filename)
    stored = files.save(content, "application/octet-stream", FILE_PURPOSE)
    run = ImportRun(assignment_id=assignment.id, client_org_id=assignment.client_org_id, uploaded_by=uploaded_by,
                    file_id=stored.id, file_kind=table.kind, status=UPLOADED, headers_count=len(table.headers),
                    counts={"rows_read": len(table.rows)}, problems=[], error_detail={})
    remembered = remembered_mapping(assignment.client_org_id)
    run.mapping = {str(c): f for c, f in validation.suggest(table.headers, remembered).items()}
    db.session.add(run)
    db.session.flush()
    audit.record("import.upload", "import_run", run.id, detail={"rows": len(table.rows), "kind": table.kind})
    return run


def read(content: bytes, filename: str = "") -> parsing.Table:
    try:
        return parsing.read_table(content, filename, max_rows=setting("IMPORT_MAX_ROWS"))
    except parsing.FileRefused as refused:
        raise ImportRefused(refused.code, **refused.detail) from None


def table_of(run: ImportRun) -> parsing.Table:
    stored = files_queries.get(run.file_id) if run.file_id else None
    if stored is None:
        raise ImportRefused("failed")
    return read(files_queries.read(stored))


def remembered_mapping(client_org_id) -> dict[str, str]:
    found = db.session.scalar(sa.select(ImportMapping).where(ImportMapping.client_org_id == client_org_id))
    return dict(found.columns) if found is not None else {}


def remember_mapping(client_org_id, headers: list[str], mapping: dict[int, str]) -> None:
    columns = {parsing.normalise_header(headers[c - 1]): f for c, f in mapping.items()
               if f and parsing.normalise_header(headers[c - 1])}
    found = db.session.scalar(sa.select(ImportMapping).where(ImportMapping.client_org_id == client_org_id))
    if found is None:
        db.session.add(ImportMapping(client_org_id=client_org_id, columns=columns))
    else:
        found.columns = {**found.columns, **columns}


def start(run: ImportRun, mapping: dict[int, str], headers: list[str]) -> None:
    """Keep the mapping (also for the client organisation's next file) and queue the import after commit."""
    if run.status != UPLOADED:
        raise ImportRefused("failed")
    mapping = {c: f for c, f in mapping.items() if f}
    problems = validation.mapping_problems(mapping, len(headers))
    if problems:
        raise ImportRefused(problems[0])
    run.mapping = {str(c): f for c, f in mapping.items()}
    remember_mapping(run.client_org_id, headers, mapping)
    run.status = QUEUED
    run.job_id = f"import-{run.id.hex}"
    audit.record("import.start", "import_run", run.id, detail={"fields": sorted(mapping.values())})
    transaction.after_commit(_enqueue, require_tenant_id(), run.id, run.job_id)


def _enqueue(tenant_id: int, run_id: uuid.UUID, job_id: str) -> None:
    from saas import jobs

    jobs.enqueue("default", "saas.modules.imports.jobs.run_import", tenant_id=tenant_id, job_id=job_id,
                 import_id=str(run_id), timeout=3600, description="import")


def cancel(run: ImportRun) -> None:
    """Ask a queued or running import to stop; it then writes nothing. A finished one cannot be cancelled."""
    if run.status in FINISHED:
        raise ImportRefused("failed")
    run.cancel_requested = True
    if run.status in (UPLOADED, QUEUED):
        finish(run, CANCELLED, "cancelled")
    else:
        transaction.after_commit(_flag_cancel, run.id)
    audit.record("import.cancel", "import_run", run.id)


def cancel_key(run_id) -> str:
    return f"saas:import-cancel:{run_id}"


def _flag_cancel(run_id) -> None:
    """The running job looks here (Redis) rather than in its own open transaction."""
    from saas.jobs.queues import redis

    redis().set(cancel_key(run_id), b"1", ex=24 * 3600)


def cancel_asked(run_id) -> bool:
    from saas.jobs.queues import redis

    try:
        return bool(redis().exists(cancel_key(run_id)))
    except Exception:    # no Redis: the database flag is read at the end
        return False


def finish(run: ImportRun, status: str, error_code: str | None = None, **detail) -> None:
    """The end of an import: its status, and the uploaded file deleted (after commit)."""
    run.status = status
    run.error_code = error_code
    run.error_detail = detail
    run.finished_at = clock.now()
    if run.file_id is not None:
        stored = files_queries.get(run.file_id)
        if stored is not None:
            files.delete(stored)
        run.file_id = None


# ---- the import itself ----------------------------------------------------------------------------------

@dataclass
class Plan:
    """What one import will write, worked out before anything is written."""

    new_rows: list = field(default_factory=list)           # (row, company key)
    matched_rows: list = field(default_factory=list)       # (row, subject id, company key)
    leavers: set = field(default_factory=set)               # subject ids to erase after the commit
    companies: dict = field(default_factory=dict)           # company key -> CompanyPlan
    problems: list = field(default_factory=list)            # [row, column, code]
    counts: dict = field(default_factory=dict)

    def add(self, name: str, n: int = 1) -> None:
        self.counts[name] = self.counts.get(name, 0) + n


@dataclass
class CompanyPlan:
    name: str | None
    kvk: str | None
    postcode: str | None
    city: str | None
    company: Company | None = None
    ceased: bool = False


class Cancelled(Exception):
    pass


def execute(run: ImportRun, table: parsing.Table, report=lambda done, total, stage: None) -> Plan:
    """Check, match and write one import in the current transaction (the caller commits or rolls back).
    Raises `ImportRefused` (nothing written) when too many rows are refused, `Cancelled` on a cancel."""
    _check_category()
    mapping = {int(c): f for c, f in run.mapping.items()}
    rows = [validation.normalise_row(number, cells, mapping) for number, cells in zip(table.row_numbers, table.rows)]
    plan = Plan(counts={"rows_read": len(rows)})
    report(0, len(rows), "checking")
    good = _check_rows(rows, plan)
    _index(good)
    _drop_duplicates(good, plan)
    _drop_suppressed(good, plan)
    _match_people(run, good, plan)
    _match_companies(run.client_org_id, plan)
    plan.problems.sort()
    refused = plan.counts.get("refused", 0)
    limit = setting("IMPORT_REFUSED_LIMIT_PERCENT")
    if rows and refused * 100 > limit * len(rows):
        error = ImportRefused("threshold", refused=refused, rows=len(rows), limit=limit)
        error.problems, error.counts = plan.problems, plan.counts   # the report still says which rows and why
        raise error
    _write(run, plan, report)
    return plan


def _check_category() -> None:
    """Imported people are prospects: a retention rule of the tenant must cover them."""
    try:
        subjects_operations.check_values({"category": CATEGORY}, changed={"category"})
    except subjects_operations.SubjectRejected:
        raise ImportRefused("category_not_covered") from None


def _refuse(plan: Plan, row, column: int, code: str, counter: str = "refused") -> None:
    plan.problems.append([row.number, column, code])
    plan.add(counter)


def _check_rows(rows, plan: Plan) -> list:
    good = []
    for row in rows:
        if row.problems:
            for column, code in row.problems:
                plan.problems.append([row.number, column, code])
            plan.add("refused")
        else:
            good.append(row)
    return good


def _index(rows) -> None:
    """Blind indexes of e-mail and phone, computed exactly as the subject's own."""
    for row in rows:
        row.email_bidx = suppression.blind_index("email", row.values.get("email"))
        row.phone_bidx = suppression.blind_index("phone", row.values.get("phone"))


def _drop_duplicates(rows, plan: Plan) -> None:
    seen: set = set()
    kept = []
    for row in rows:
        keys = {k for k in (("e", row.email_bidx), ("p", row.phone_bidx)) if k[1] is not None}
        if not keys:   # only a name: a duplicate only if name and company are equal
            keys = {("n", (row.values.get("given_name"), row.values.get("family_name"),
                           validation.company_key(row.values.get("company_name"))))}
        if keys & seen:
            _refuse(plan, row, 0, "duplicate", "duplicates")
        else:
            kept.append(row)
        seen |= keys
    rows[:] = kept


def _drop_suppressed(rows, plan: Plan) -> None:
    """People on the suppression list: refused, counted, nothing of them kept but the row number."""
    emails = [r.email_bidx for r in rows if r.email_bidx is not None]
    phones = [r.phone_bidx for r in rows if r.phone_bidx is not None]
    listed: set = set()
    for column, values in ((SuppressionEntry.email_bidx, emails), (SuppressionEntry.phone_bidx, phones)):
        for chunk in chunks(values):
            listed |= set(db.session.scalars(sa.select(column).where(column.in_(chunk))))
    kept = []
    for row in rows:
        if (row.email_bidx is not None and row.email_bidx in listed) or \
                (row.phone_bidx is not None and row.phone_bidx in listed):
            _refuse(plan, row, 0, "suppressed", "suppressed")
        else:
            kept.append(row)
    rows[:] = kept


def _match_people(run: ImportRun, rows, plan: Plan) -> None:
    """The same person in the client's own database (never another client's), by e-mail, else phone."""
    by_email, by_phone, left = {}, {}, set()
    own = [DataSubject.client_org_id == run.client_org_id, DataSubject.restricted_at.is_(None)]
    for column, target, values in ((DataSubject.email_bidx, by_email, [r.email_bidx for r in rows]),
                                   (DataSubject.phone_bidx, by_phone, [r.phone_bidx for r in rows])):
        for chunk in chunks([v for v in values if v is not None]):
            for subject_id, bidx, left_on in db.session.execute(
                    sa.select(DataSubject.id, column, DataSubject.left_company_on)
                    .where(column.in_(chunk), *own).order_by(DataSubject.created_at)):
                target.setdefault(bidx, subject_id)
                if left_on is not None:
                    left.add(subject_id)
    claimed: set = set()
    for row in rows:
        subject_id = by_email.get(row.email_bidx) or by_phone.get(row.phone_bidx)
        if subject_id is not None and subject_id in claimed:
            _refuse(plan, row, 0, "duplicate", "duplicates")   # two rows, one known person
            continue
        if row.left or subject_id in left:
            if subject_id is not None:
                plan.leavers.add(subject_id)
                claimed.add(subject_id)
            _refuse(plan, row, 0, "left_company", "left_company")
            continue
        if subject_id is None:
            plan.new_rows.append(row)
        else:
            claimed.add(subject_id)
            plan.matched_rows.append((row, subject_id))


def _match_companies(client_org_id, plan: Plan) -> None:
    """Known companies (the tenant's general data and the client's own) by KvK number, else name and postcode."""
    wanted = {}
    for row in plan.new_rows + [r for r, _ in plan.matched_rows]:
        key = _company_key_of(row)
        row.company_key = key
        if key is not None and key not in wanted:
            v = row.values
            wanted[key] = CompanyPlan(v.get("company_name"), v.get("kvk_number"), v.get("postcode"), v.get("city"))
    if not wanted:
        return
    visible = sa.or_(Company.client_org_id.is_(None), Company.client_org_id == client_org_id)
    kvks = [p.kvk for p in wanted.values() if p.kvk]
    postcodes = [p.postcode for p in wanted.values() if not p.kvk and p.postcode]
    by_kvk, by_name = {}, {}
    for chunk in chunks(kvks):
        for company in db.session.scalars(sa.select(Company).where(Company.kvk_number.in_(chunk))):
            by_kvk[company.kvk_number] = company
    for chunk in chunks(postcodes):
        for company in db.session.scalars(sa.select(Company).where(Company.postcode.in_(chunk), visible)):
            by_name.setdefault((validation.company_key(company.name), company.postcode), company)
    for key, wish in wanted.items():
        known = by_kvk.get(wish.kvk) if wish.kvk else by_name.get((validation.company_key(wish.name), wish.postcode))
        if known is not None and not _visible(known, client_org_id):
            # Another client's own company holds this KvK number: not matched, not revealed.
            wish.kvk, known = None, None
        wish.company = known
        wish.ceased = known is not None and known.ceased_on is not None
    plan.companies = wanted
    kept = []
    for row in plan.new_rows:
        if row.company_key is not None and wanted[row.company_key].ceased:
            _refuse(plan, row, 0, "company_ceased")
        else:
            kept.append(row)
    plan.new_rows = kept
    for row, subject_id in list(plan.matched_rows):
        if row.company_key is not None and wanted[row.company_key].ceased:
            plan.matched_rows.remove((row, subject_id))
            plan.leavers.add(subject_id)       # the company is gone, and with it the contact
            _refuse(plan, row, 0, "company_ceased")


def _visible(company: Company, client_org_id) -> bool:
    return company.client_org_id is None or company.client_org_id == client_org_id


def _company_key_of(row):
    v = row.values
    if v.get("kvk_number"):
        return ("kvk", v["kvk_number"])
    if v.get("company_name"):
        return ("name", validation.company_key(v["company_name"]), v.get("postcode"))
    return None


def _write(run: ImportRun, plan: Plan, report) -> None:
    today = clock.today()
    total = len(plan.new_rows) + len(plan.matched_rows)
    company_ids = _write_companies(run, plan)
    linked = set(db.session.scalars(sa.select(AssignmentSubject.subject_id)
                                    .where(AssignmentSubject.assignment_id == run.assignment_id)))
    created_ids, done = [], 0
    for batch in _batches(plan.new_rows):
        subjects = [DataSubject(category=CATEGORY, client_org_id=run.client_org_id, source=SOURCE,
                                company_id=company_ids.get(row.company_key), last_verified_on=today,
                                **{name: row.values.get(name) for name in validation.PERSON_FIELDS})
                    for row in batch]
        db.session.add_all(subjects)
        db.session.flush()   # the people first: the links name them
        _link([s.id for s in subjects], run, "person")
        created_ids.extend(s.id for s in subjects)
        done += len(batch)
        _step(run, done, total, report)
    plan.add("created", len(created_ids))
    _write_matches(run, plan, company_ids, linked, report, done, total)
    _step(run, total, total, report)
    db.session.flush()
    audit.record("import.run", "import_run", run.id, detail={k: v for k, v in plan.counts.items() if v})


def _batches(items: list):
    for start in range(0, len(items), BATCH):
        yield items[start:start + BATCH]


def _step(run: ImportRun, done: int, total: int, report) -> None:
    db.session.flush()
    if cancel_asked(run.id):
        raise Cancelled()
    report(done, total, "writing")


def _write_companies(run: ImportRun, plan: Plan) -> dict:
    """Company ids per key: known ones (gaps filled, differences counted as corrections), new ones general."""
    ids, created = {}, []
    for key, wish in plan.companies.items():
        company = wish.company
        if company is None:
            now = clock.now()
            created.append({"id": new_id(), "tenant_id": require_tenant_id(), "name": (wish.name or wish.kvk)[:200],
                            "kvk_number": wish.kvk, "postcode": wish.postcode, "city": (wish.city or "")[:100] or None,
                            "client_org_id": None, "created_at": now, "updated_at": now})
            ids[key] = created[-1]["id"]
            plan.add("companies_created")
            continue
        else:
            plan.add("companies_matched")
            if _differs(company, wish):
                plan.add("companies_corrected")
            for name, value in (("kvk_number", wish.kvk), ("postcode", wish.postcode), ("city", wish.city)):
                if value and not getattr(company, name):
                    setattr(company, name, value)
        ids[key] = company.id
    db.session.flush()
    # New companies as plain rows in one statement (general company data: no client organisation).
    insert_rows(Company, created)
    insert_rows(ImportCreated, [{"id": new_id(), "tenant_id": row["tenant_id"], "import_id": run.id,
                                 "kind": "company", "subject_id": None, "company_id": row["id"]} for row in created])
    return ids


def _differs(company: Company, wish: CompanyPlan) -> bool:
    """The row names the known company otherwise: renamed or moved (the known data wins)."""
    return bool((wish.name and validation.company_key(wish.name) != validation.company_key(company.name))
                or (wish.postcode and company.postcode and wish.postcode != company.postcode)
                or (wish.city and company.city and wish.city.lower() != company.city.lower()))


def _write_matches(run: ImportRun, plan: Plan, company_ids: dict, linked: set, report, done: int, total: int):
    from saas.core.crypto.keyring import keyring

    by_id = dict(plan.matched_rows and [(s, r) for r, s in plan.matched_rows])
    new_links: list = []
    for chunk in chunks(list(by_id)):
        keyring().prefetch(chunk)
        for subject in db.session.scalars(sa.select(DataSubject).where(id_in(DataSubject.id, chunk))):
            row = by_id[subject.id]
            changed = {name: value for name in validation.PERSON_FIELDS
                       if (value := row.values.get(name)) and value != getattr(subject, name)}
            company_id = company_ids.get(row.company_key)
            if company_id is not None and company_id != subject.company_id:
                subject.company_id = company_id
                changed["company_id"] = company_id
            for name, value in changed.items():
                if name != "company_id":
                    setattr(subject, name, value)
            plan.add("matched")
            if changed:
                plan.add("corrected")
            if subject.id not in linked:
                new_links.append(subject.id)
            done += 1
            if done % BATCH == 0:
                _step(run, done, total, report)
    db.session.flush()
    _link(new_links, run, "link")


def _link(subject_ids: list, run: ImportRun, kind: str) -> None:
    """People onto the assignment, and onto the import's undo list, as plain rows in one statement each."""
    tenant_id = require_tenant_id()
    insert_rows(AssignmentSubject, [{"id": new_id(), "tenant_id": tenant_id, "assignment_id": run.assignment_id,
                                     "subject_id": s} for s in subject_ids])
    insert_rows(ImportCreated, [{"id": new_id(), "tenant_id": tenant_id, "import_id": run.id, "kind": kind,
                                 "subject_id": s, "company_id": None} for s in subject_ids])


def erase_leavers(subject_ids) -> int:
    """After the import committed: people who turned out to have left the company, erased at once through
    the one erasure path (each erasure commits; a repeat after a crash finds them gone)."""
    erased = 0
    for subject_id in subject_ids:
        subject = db.session.get(DataSubject, subject_id)
        if subject is not None:
            erasure.erase_subject(subject, reason=LEFT_REASON, suppress=True)
            erased += 1
    return erased


# ---- undo -------------------------------------------------------------------------------------------------

def undo_deadline(run: ImportRun):
    if run.finished_at is None:
        return None
    finished = run.finished_at if run.finished_at.tzinfo else run.finished_at.replace(tzinfo=timezone.utc)  # SQLite
    return finished + timedelta(hours=setting("IMPORT_UNDO_HOURS"))


def can_undo(run: ImportRun) -> bool:
    return run.status == DONE and run.finished_at is not None and clock.now() < undo_deadline(run)


def request_undo(run: ImportRun) -> None:
    """Queue the undo (it erases people one at a time, each erasure committing: a job's work)."""
    if not can_undo(run):
        raise ImportRefused("undo_closed")
    run.status = UNDOING
    audit.record("import.undo_request", "import_run", run.id)
    transaction.after_commit(_enqueue_undo, require_tenant_id(), run.id)


def _enqueue_undo(tenant_id: int, run_id: uuid.UUID) -> None:
    from saas import jobs

    jobs.enqueue("default", "saas.modules.imports.jobs.undo_import", tenant_id=tenant_id,
                 import_id=str(run_id), timeout=3600, description="import undo")


def undo(run: ImportRun) -> dict:
    """Take back what the import added: the people it created are erased through the erasure path, the links
    it added to known people removed, the companies it created deleted when nobody works there any more.
    Corrections it made to known people and companies stay (their old values were not kept), and so do
    erasures of people who had left. Commits (the erasure path does, one person at a time); safe to repeat."""
    if run.status != UNDOING:
        return {}
    created = list(db.session.execute(sa.select(ImportCreated.kind, ImportCreated.subject_id, ImportCreated.company_id)
                                      .where(ImportCreated.import_id == run.id)))
    links = [s for kind, s, _ in created if kind == "link" and s]
    for chunk in chunks(links):
        db.session.execute(sa.delete(AssignmentSubject).where(
            AssignmentSubject.assignment_id == run.assignment_id, id_in(AssignmentSubject.subject_id, chunk))
            .execution_options(synchronize_session=False))
    db.session.commit()
    people = [s for kind, s, _ in created if kind == "person" and s]
    for subject_id in people:
        subject = db.session.get(DataSubject, subject_id)
        if subject is not None:
            erasure.erase_subject(subject, reason=UNDO_REASON)
    removed = 0
    for company_id in [c for kind, _, c in created if kind == "company" and c]:
        busy = db.session.scalar(sa.select(DataSubject.id).where(DataSubject.company_id == company_id).limit(1))
        company = db.session.get(Company, company_id)
        if busy is None and company is not None:
            db.session.delete(company)
            removed += 1
    run = db.session.get(ImportRun, run.id)
    run.status, run.undone_at = UNDONE, clock.now()
    result = {"people": len(people), "links": len(links), "companies": removed}
    run.counts = {**run.counts, "undone_people": len(people), "undone_links": len(links), "undone_companies": removed}
    audit.record("import.undo", "import_run", run.id, detail=result)
    db.session.commit()
    return result
