"""Retention sweeps through a real forking `saas worker`: the rules at their edges (the day before, of and
after), idempotent reruns, dry runs that write nothing, and a sweep over 10,000 subjects killed halfway
that, run again, ends exactly like an uninterrupted sweep of a twin tenant."""
import os
import signal
import time
from collections import Counter
from datetime import date, timedelta

import pytest
import sqlalchemy as sa
from rq.job import Job, JobStatus

from saas.core import clock
from saas.core.crypto.models import ShreddedSubject, SubjectKey
from saas.extensions import db
from saas.jobs import enqueue, schedule
from saas.jobs.queues import redis
from saas.modules.audit.models import AuditEntry
from saas.modules.audit.queries import verify
from saas.modules.companies.models import Company
from saas.modules.consents.models import ConsentRequest
from saas.modules.outbox.models import OutboxMail
from saas.modules.retention import jobs, queries
from saas.modules.retention.models import RetentionDecision, SuppressionEntry, SweepRun
from saas.modules.subjects.models import DataSubject
from saas.testing.fixtures_jobs import wait_for
from saas.testing.jobs_for_tests import hold_key
from saas.testing.retention_for_tests import (  # noqa: F401  (fixtures)
    FISCAL_FIELDS, FISCAL_REASON, POOL, TEST_JOB, rules, sweep, sweep_queues,
)

AS_OF = date(2024, 3, 15)
DAY = timedelta(days=1)


def months_before(day: date, months: int) -> date:
    from dateutil.relativedelta import relativedelta

    return day - relativedelta(months=months)


def add_subject(label: str, category: str, *, email: str | None = None, phone: str | None = None, **dates):
    subject = DataSubject(category=category, source=label, **dates)
    if email:
        subject.email = email
        subject.given_name = f"Naam {label}"
    if phone:
        subject.phone = phone
    db.session.add(subject)
    return subject


def add_company(label: str, **dates) -> Company:
    company = Company(name=label, **dates)
    db.session.add(company)
    return company


def labels_of(tenant_id) -> dict:
    """Record id -> label (subjects by `source`, companies by name), read before a sweep purges any."""
    found = {row.id: row.source for row in db.session.execute(sa.select(DataSubject.id, DataSubject.source))}
    found.update({row.id: row.name for row in db.session.execute(sa.select(Company.id, Company.name))})
    return found


def decisions_by_label(labels: dict) -> dict:
    found = {}
    for d in db.session.scalars(sa.select(RetentionDecision)):
        found.setdefault(labels[d.record_id], []).append((d.policy, d.action, d.due_on, d.completed))
    return {label: sorted(items) for label, items in found.items()}


def state(labels: dict, run: SweepRun | None = None) -> dict:
    """Everything a sweep may change in the current tenant, with records named by label."""
    ids = set(labels)
    return {
        "subjects": sorted(
            (s.source, s.category, s.needs_verification_since, s.restricted_at is not None, s.email_bidx is None)
            for s in db.session.scalars(sa.select(DataSubject))),
        "companies": sorted((c.name, c.needs_verification_since) for c in db.session.scalars(sa.select(Company))),
        "decisions": sorted(
            (labels[d.record_id], d.policy, d.policy_version, d.action, d.due_on, d.completed, d.reason or "")
            for d in db.session.scalars(sa.select(RetentionDecision))),
        "requests": sorted((labels[r.subject_id], r.purpose, r.due_on)
                           for r in db.session.scalars(sa.select(ConsentRequest))),
        "mails": sorted((labels[m.subject_id], m.template) for m in db.session.scalars(sa.select(OutboxMail))),
        "suppressed": sorted(Counter(e.reason for e in db.session.scalars(sa.select(SuppressionEntry))).items()),
        "keys": sorted(labels[k] for k in db.session.scalars(sa.select(SubjectKey.subject_id)) if k in ids),
        "shredded": sorted(labels[k] for k in db.session.scalars(sa.select(ShreddedSubject.subject_id)) if k in ids),
        "audit": sorted(Counter(db.session.scalars(sa.select(AuditEntry.action))).items()),
        "run": None if run is None else (run.status, run.phase, run.evaluated, run.counts),
    }


# --- the rules at their edges --------------------------------------------------------------------------------

def edge_people(tenant_id: int) -> None:
    """Three records per rule: due yesterday, due today, due tomorrow (as of AS_OF)."""
    for n, due in enumerate((AS_OF - DAY, AS_OF, AS_OF + DAY)):
        tag = ("before", "on", "after")[n]
        add_subject(f"purge-{tag}", "candidate", email=f"purge-{tag}@kandidaat.example",
                    last_contact_on=months_before(due, 24))
        add_subject(f"reconsent-{tag}", "candidate", email=f"reconsent-{tag}@kandidaat.example",
                    last_contact_on=months_before(due, 12))
        add_subject(f"flag-{tag}", "prospect", last_verified_on=months_before(due, 6))
        add_subject(f"unverified-{tag}", "prospect", email=f"unverified-{tag}@prospect.example",
                    phone=f"06123456{n:02d}", last_verified_on=months_before(due, 12))
        add_subject(f"applicant-{tag}", "applicant", procedure_closed_on=due - timedelta(weeks=4))
        add_company(f"company-{tag}", last_verified_on=months_before(due, 6))
    add_subject("placed", "candidate", last_contact_on=date(2015, 1, 1), placed_from=date(2015, 1, 1))
    add_subject("no-email", "candidate", last_contact_on=months_before(AS_OF, 12))
    db.session.commit()


def test_each_rule_acts_from_its_due_day_not_before(make_tenant, as_tenant, sweep):
    tenant = make_tenant(plugins=["rtest"])
    as_tenant(tenant)
    edge_people(tenant.id)
    labels = labels_of(tenant.id)
    subject_keys = {label: sid for sid, label in labels.items()}

    run = sweep(tenant, AS_OF)

    assert (run.status, run.evaluated, run.error) == ("finished", len(labels), None)
    found = decisions_by_label(labels)
    for tag, due in (("before", AS_OF - DAY), ("on", AS_OF)):
        assert found[f"purge-{tag}"] == [("rtest.candidate_purge", "purge", due, True)]  # beats re-consent
        assert found[f"reconsent-{tag}"] == [("rtest.candidate_reconsent", "reconsent", due, True)]
        assert found[f"flag-{tag}"] == [("rtest.prospect_flag", "flag", due, True)]
        assert found[f"unverified-{tag}"] == [("rtest.prospect_purge", "purge", due, True)]  # beats the flag
        assert found[f"applicant-{tag}"] == [("rtest.applicant", "purge", due, True)]
        assert found[f"company-{tag}"] == [("rtest.company_flag", "flag", due, True)]
    # The day after: only what was already due earlier.
    assert found["purge-after"] == [("rtest.candidate_reconsent", "reconsent", months_before(AS_OF + DAY, 12), True)]
    assert "reconsent-after" not in found and "flag-after" not in found and "applicant-after" not in found
    assert found["unverified-after"] == [("rtest.prospect_flag", "flag", months_before(AS_OF + DAY, 6), True)]
    assert "company-after" not in found and "placed" not in found
    assert found["no-email"] == [("rtest.candidate_reconsent", "reconsent", AS_OF, True)]

    remaining = {s.source: s for s in db.session.scalars(sa.select(DataSubject))}
    purged = {"purge-before", "purge-on", "unverified-before", "unverified-on", "applicant-before", "applicant-on"}
    assert purged.isdisjoint(remaining)
    assert remaining["flag-on"].needs_verification_since == AS_OF
    assert remaining["flag-after"].needs_verification_since is None
    companies = {c.name: c.needs_verification_since for c in db.session.scalars(sa.select(Company))}
    assert companies == {"company-before": AS_OF, "company-on": AS_OF, "company-after": None}

    # Purged: the keys are gone and in the ledger; suppressed prospects left their blind indexes only.
    keys = set(db.session.scalars(sa.select(SubjectKey.subject_id)))
    shredded = set(db.session.scalars(sa.select(ShreddedSubject.subject_id)))
    assert {subject_keys[label] for label in purged} <= shredded
    assert not {subject_keys[label] for label in purged} & keys
    assert subject_keys["flag-on"] in keys
    entries = db.session.scalars(sa.select(SuppressionEntry)).all()
    assert len(entries) == 2 and {e.reason for e in entries} == {"rtest.prospect_purge"}
    assert all(e.email_bidx and e.phone_bidx for e in entries)

    # Re-consent: one request and one mail with the link per subject with an address; the other is noted.
    requests = db.session.scalars(sa.select(ConsentRequest)).all()
    assert sorted(labels[r.subject_id] for r in requests) == ["purge-after", "reconsent-before", "reconsent-on"]
    assert {r.purpose for r in requests} == {POOL}
    mails = db.session.scalars(sa.select(OutboxMail).where(OutboxMail.template == "retention.reconsent")).all()
    assert sorted(labels[m.subject_id] for m in mails) == ["purge-after", "reconsent-before", "reconsent-on"]
    assert all("/consent/c_" in m.body for m in mails)
    no_email = db.session.scalar(sa.select(RetentionDecision).where(
        RetentionDecision.record_id == subject_keys["no-email"]))
    assert no_email.reason == "no_email"

    assert verify(tenant.id).ok


def test_fiscal_records_go_on_the_first_day_after_seven_full_years_unless_held(make_tenant, as_tenant, sweep):
    tenant = make_tenant(plugins=["rtest"])
    held = make_tenant(plugins=["rtest"], settings={"rtest": {"liability_hold": True}})
    for owner in (tenant, held):
        as_tenant(owner)
        for ended in (date(2018, 12, 31), date(2019, 12, 31), date(2020, 1, 1)):
            add_subject(f"ended-{ended}", "client_contact", relationship_ended_on=ended)
        add_subject("still-client", "client_contact")
        db.session.commit()

    as_tenant(tenant)
    labels = labels_of(tenant.id)
    assert sweep(tenant, date(2026, 12, 31)).counts == {"rtest.contact_records@v1": {"purge": 1}}
    assert decisions_by_label(labels) == {
        "ended-2018-12-31": [("rtest.contact_records", "purge", date(2026, 1, 1), True)]}
    assert sweep(tenant, date(2027, 1, 1), forked=False).counts == {"rtest.contact_records@v1": {"purge": 1}}
    assert sorted(db.session.scalars(sa.select(DataSubject.source))) == ["ended-2020-01-01", "still-client"]

    as_tenant(held)
    run = sweep(held, date(2027, 1, 1), forked=False)
    # Held since 2026-01-01, the record that ended in 2018 has its yearly review on 2027-01-01.
    assert run.counts == {"rtest.contact_liability@v1": {"hold": 2, "review": 1}}
    assert len(db.session.scalars(sa.select(DataSubject)).all()) == 4  # kept, on hold


def test_a_purge_during_a_legal_hold_keeps_only_the_held_fields(make_tenant, as_tenant, sweep):
    tenant = make_tenant(plugins=["rtest"], retention={"rtest.contact_records": {"years": 1}})
    as_tenant(tenant)
    contact = add_subject("contact", "client_contact", email="boekhouding@klant.example", phone="0201234567",
                          relationship_ended_on=date(2022, 5, 1))
    contact.family_name, contact.address, contact.iban, contact.notes = "Jansen", "Kade 1, Goes", "NL91ABNA0417164300", "x"
    db.session.commit()
    subject_id = contact.id

    run = sweep(tenant, AS_OF)

    assert run.counts == {"rtest.contact_records@v1": {"restrict": 1}}
    restricted = db.session.get(DataSubject, subject_id)
    assert restricted.restricted_at is not None and restricted.restriction_reason == FISCAL_REASON
    assert (restricted.given_name, restricted.family_name, restricted.address, restricted.iban) == \
        ("Naam contact", "Jansen", "Kade 1, Goes", "NL91ABNA0417164300")
    assert (restricted.email, restricted.phone, restricted.notes) == (None, None, None)
    assert (restricted.email_bidx, restricted.phone_bidx) == (None, None)
    assert set(FISCAL_FIELDS) == {"given_name", "family_name", "address", "iban"}
    # Restricted once: the next days change nothing until the hold ends, then the rest goes.
    assert sweep(tenant, AS_OF + DAY, forked=False).counts == {}
    assert sweep(tenant, date(2030, 1, 1), forked=False).counts == {"rtest.contact_records@v1": {"purge": 1}}
    assert db.session.get(DataSubject, subject_id) is None
    assert decisions_by_label({subject_id: "contact"}) == {"contact": [
        ("rtest.contact_records", "purge", date(2030, 1, 1), True),
        ("rtest.contact_records", "restrict", date(2024, 1, 1), True)]}


# --- idempotent, dry, scheduled ------------------------------------------------------------------------------

def test_a_second_sweep_of_the_same_day_does_nothing_twice(make_tenant, as_tenant, sweep):
    tenant = make_tenant(plugins=["rtest"])
    as_tenant(tenant)
    edge_people(tenant.id)
    labels = labels_of(tenant.id)
    first = sweep(tenant, AS_OF)
    after_first = state(labels)

    second = sweep(tenant, AS_OF, forked=False)

    assert first.counts and second.counts == {} and second.status == "finished"
    after_second = state(labels)
    audit_first, audit_second = dict(after_first.pop("audit")), dict(after_second.pop("audit"))
    assert after_second == after_first  # no second mail, request, decision, purge or suppression
    assert {a: audit_second[a] - audit_first.get(a, 0) for a in audit_second if audit_second[a] != audit_first.get(a, 0)} \
        == {"retention.sweep.start": 1, "retention.sweep.finish": 1}
    assert verify(tenant.id).ok


def test_a_dry_run_counts_what_a_sweep_would_do_and_writes_only_its_report(make_tenant, as_tenant, sweep):
    tenant = make_tenant(plugins=["rtest"])
    as_tenant(tenant)
    edge_people(tenant.id)
    labels = labels_of(tenant.id)
    before = state(labels)

    dry = sweep(tenant, AS_OF, dry_run=True)

    assert (dry.dry_run, dry.status, dry.evaluated) == (True, "finished", len(labels))
    assert state(labels) == before
    assert db.session.scalar(sa.select(sa.func.count()).select_from(SweepRun)) == 1
    real = sweep(tenant, AS_OF, forked=False)
    assert real.counts == dry.counts and real.counts


def test_the_daily_schedule_starts_one_sweep_per_tenant_on_the_sweeps_queue(make_tenant, as_tenant, sweep_queues,
                                                                           run_worker):
    periodic = schedule.entry("retention-sweep")
    assert (periodic.queue, periodic.per_tenant, periodic.func) == \
        ("sweeps", True, "saas.modules.retention.jobs.scheduled_sweep")
    tenant = make_tenant(plugins=[])
    as_tenant(tenant)
    job = enqueue("sweeps", periodic.func, tenant_id=tenant.id, job_id=f"test-{tenant.slug}")

    run_worker(queues=["sweeps"])

    assert job.get_status() == JobStatus.FINISHED
    as_tenant(tenant)
    run = queries.get_sweep(job.return_value())
    assert (run.trigger, run.status, run.as_of, run.dry_run) == ("schedule", "finished", clock.today(), False)


# --- killed halfway ------------------------------------------------------------------------------------------

TWIN_SIZE = 10_000
BATCH = 250


def twin_people(tenant_id: int) -> None:
    """TWIN_SIZE subjects and 200 companies with a mix of due rules, the same for every tenant."""
    for i in range(TWIN_SIZE):
        kind = i % 10
        if kind == 0:
            add_subject(f"s{i}", "candidate", last_contact_on=date(2021, 1, 1) + timedelta(days=i % 300))
        elif kind == 1:
            email = f"kandidaat{i}@voorbeeld.example" if i % 200 == 1 else None
            add_subject(f"s{i}", "candidate", email=email, last_contact_on=date(2023, 1, 1) + timedelta(days=i % 60))
        elif kind in (2, 3):
            add_subject(f"s{i}", "prospect", last_verified_on=date(2023, 6, 1) + timedelta(days=i % 90))
        elif kind == 4:
            phone = f"0612{i:06d}" if i % 400 == 4 else None
            add_subject(f"s{i}", "prospect", phone=phone, last_verified_on=date(2022, 6, 1) + timedelta(days=i % 200))
        elif kind == 5:
            add_subject(f"s{i}", "client_contact", relationship_ended_on=date(2014, 1, 1) + timedelta(days=i % 300))
        elif kind == 6:
            add_subject(f"s{i}", "client_contact", relationship_ended_on=date(2022, 1, 1))
        else:
            add_subject(f"s{i}", "candidate", last_contact_on=date(2024, 1, 1))
        if i % 2000 == 1999:
            db.session.commit()
    for i in range(200):
        add_company(f"c{i}", last_verified_on=date(2023, 1, 1) + timedelta(days=i))
    db.session.commit()


def _evaluated(tenant, run_id) -> int:
    db.session.rollback()
    return db.session.scalar(sa.select(SweepRun.evaluated).where(SweepRun.id == run_id)) or 0


@pytest.mark.slow
def test_a_sweep_killed_halfway_and_run_again_ends_like_an_uninterrupted_one(make_tenant, as_tenant, rules,
                                                                             sweep, sweep_queues, run_worker):
    killed, twin = make_tenant(plugins=["rtest"]), make_tenant(plugins=["rtest"])
    labels = {}
    for tenant in (killed, twin):
        as_tenant(tenant)
        twin_people(tenant.id)
        labels[tenant.id] = labels_of(tenant.id)
    total = TWIN_SIZE + 200

    # The twin: one uninterrupted sweep.
    expected_run = sweep(twin, AS_OF, batch_size=BATCH)
    expected = state(labels[twin.id], expected_run)
    assert expected_run.evaluated == total and expected_run.counts

    # The other: killed (worker and work horse, SIGKILL) halfway. The job pauses once half of it is
    # committed, while the test holds the marker (retention_for_tests.pause_sweep_past): no race.
    as_tenant(killed)
    marker = f"sweep-{killed.slug}"
    redis().set(hold_key(marker), 1, ex=600)
    run = jobs.start_sweep(killed.id, as_of=AS_OF, enqueue=False)
    job = jobs.enqueue_sweep(run, TEST_JOB, batch_size=BATCH, pause_after=total // 2, pause_marker=marker)
    worker = run_worker(queues=["sweeps"], wait=False)
    horse_pid = wait_for(lambda: Job.fetch(job.id, connection=redis()).meta.get("pid"), "the sweep to pause halfway",
                         timeout=300)
    os.kill(worker.pid, signal.SIGKILL)
    os.kill(horse_pid, signal.SIGKILL)  # the horse runs in its own process group: the machine "crashed"
    worker.wait(10)
    redis().delete(hold_key(marker))
    halfway = _evaluated(killed, run.id)
    assert halfway == Job.fetch(job.id, connection=redis()).meta["paused_at"]
    assert total // 2 <= halfway < total
    assert queries.get_sweep(run.id).status == "running"

    # RQ's maintenance finds the job's worker dead and, with retries left, queues it again; it resumes.
    sweep_queues.started_job_registry.cleanup(timestamp=time.time() + 24 * 3600)
    assert Job.fetch(job.id, connection=redis()).get_status() == JobStatus.QUEUED
    run_worker(queues=["sweeps"], timeout=120)

    as_tenant(killed)
    resumed = queries.get_sweep(run.id)
    finished = Job.fetch(job.id, connection=redis())
    assert finished.get_status() == JobStatus.FINISHED, finished.latest_result().exc_string
    assert resumed.status == "finished"
    assert state(labels[killed.id], resumed) == expected
    assert verify(killed.id).ok and verify(twin.id).ok
