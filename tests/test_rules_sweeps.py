"""Every sector rule of the shipped plugins through real sweeps, at its edges.

Per rule: a tenant with the rule's plugin, a record at the rule's anchor date (tests/test_rules_due_dates.py,
EDGES), and sweeps started with `saas.modules.retention.jobs.start_sweep` and run by a real RQ worker on the
"sweeps" queue as of the day before the due date, the day itself and the day after. The day after also meets a
second, fresh record with the same dates: a record whose due day passed without a sweep is acted on too, and the
first record is not acted on twice. Outcomes: flagged, re-consent mail queued, purged with its key destroyed
(and suppressed where the rule says so), held; restricted under a legal hold; untouched.

The per-rule test runs the worker in this process (AppSimpleWorker); one test runs every rule at once through
the forking `saas worker` subprocess, as production does.
"""
from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date, timedelta

import pytest
import sqlalchemy as sa

from saas.core import clock
from saas.core.crypto.models import ShreddedSubject, SubjectKey
from saas.extensions import db
from saas.modules.companies.models import Company
from saas.modules.consents import operations as consents
from saas.modules.consents.models import ConsentRecord, ConsentRequest
from saas.modules.erasure import operations as erasure
from saas.modules.outbox.models import OutboxMail
from saas.modules.retention import jobs, queries, suppression
from saas.modules.retention import operations as retention
from saas.modules.retention.models import RetentionDecision, SuppressionEntry
from saas.modules.subjects.models import DataSubject
from saas.modules.tenants.queries import get_by_slug
from saas.plugins import manager
from saas.testing.records import in_tenant
from saas.testing.retention_for_tests import sweep_queues  # noqa: F401  (fixture: empty sweeps and mail queues)
from tests.test_rules_due_dates import EDGES, Edge

ONE = timedelta(days=1)
REGISTRY = manager.load()
FISCAL_KEPT = {"given_name": "Anna", "address": "Dorpsstraat 1", "city": "Gouda", "iban": "NL91ABNA0417164300"}


def definition(edge: Edge):
    return REGISTRY.get("saas_retention_policies", edge.policy)


def tenant_for(make_tenant, edge: Edge, **fields):
    """A tenant with only the rule's plugin, its settings loaded as `saas tenants sync` would."""
    plugin = definition(edge).plugin
    schema = REGISTRY.settings_schemas.get(plugin)
    settings = {plugin: schema().load(edge.settings)} if schema is not None else {}
    return make_tenant(plugins=[plugin], settings=settings, **fields)


# --- records ------------------------------------------------------------------------------------------------

def email_of(record_id: uuid.UUID) -> str:
    return f"anna.{record_id.hex[:12]}@example.test"


def add_record(tenant, category: str, dates: dict) -> uuid.UUID:
    """A subject (with every personal field filled) or a company with these lifecycle dates, created on the
    earliest of them; `consents` in `dates` become consent records given that day."""
    dates = dict(dates)
    purposes = dates.pop("consents", frozenset())
    created = min((value for value in dates.values() if isinstance(value, date)), default=date(2019, 1, 1))
    clock.set_now(created)
    try:
        with in_tenant(tenant):
            if category == "company":
                record = Company(name=f"Drukkerij {uuid.uuid4().hex[:6]} BV", **dates)
                db.session.add(record)
            else:
                record = DataSubject(id=uuid.uuid4(), category=category, **dates)
                record.given_name, record.family_name = FISCAL_KEPT["given_name"], "de Vries"
                record.email, record.phone = email_of(record.id), f"06{uuid.uuid4().int % 10**8:08d}"
                for name in ("address", "city", "iban"):
                    setattr(record, name, FISCAL_KEPT[name])
                record.notes = "Gesprek over een nieuwe functie."
                db.session.add(record)
                db.session.flush()
                for purpose in purposes:
                    db.session.add(ConsentRecord(
                        subject_id=record.id, purpose=purpose, legal_basis="consent", channel="web",
                        evidence_text="Mogen wij uw gegevens een jaar bewaren voor andere vacatures?",
                        evidence_at=clock.now(), given_at=clock.now()))
            record_id = record.id
    finally:
        clock.set_now(None)
    return record_id


@dataclass
class Seen:
    """One record after a sweep, read as its tenant."""

    exists: bool
    decisions: list[tuple[str, str, date]]
    flagged_since: date | None = None
    restricted_reason: str | None = None
    fields: dict | None = None
    keys: int = 0
    shredded: bool = False
    requests: list[tuple[str, date]] = ()
    mails: list[str] = ()
    suppressed: bool = False

    def of(self, policy: str) -> list[tuple[str, str, date]]:
        return [d for d in self.decisions if d[0] == policy]


def look(tenant, record_id: uuid.UUID, category: str) -> Seen:
    with in_tenant(tenant):
        decisions = sorted((d.policy, d.action, d.due_on) for d in db.session.scalars(
            sa.select(RetentionDecision).where(RetentionDecision.record_id == record_id)))
        if category == "company":
            company = db.session.get(Company, record_id)
            return Seen(company is not None, decisions, company.needs_verification_since if company else None)
        subject = db.session.get(DataSubject, record_id)
        bidx = suppression.blind_index("email", email_of(record_id))
        return Seen(
            exists=subject is not None, decisions=decisions,
            flagged_since=subject.needs_verification_since if subject else None,
            restricted_reason=subject.restriction_reason if subject else None,
            fields={name: getattr(subject, name) for name in ("given_name", "email", "phone", "address", "city",
                                                              "iban", "notes")} if subject else None,
            keys=db.session.scalar(sa.select(sa.func.count()).select_from(SubjectKey)
                                   .where(SubjectKey.subject_id == record_id)),
            shredded=db.session.get(ShreddedSubject, record_id) is not None,
            requests=sorted((r.purpose, r.due_on) for r in db.session.scalars(
                sa.select(ConsentRequest).where(ConsentRequest.subject_id == record_id))),
            mails=[m.status for m in db.session.scalars(
                sa.select(OutboxMail).where(OutboxMail.subject_id == record_id,
                                            OutboxMail.template == retention.RECONSENT_TEMPLATE))],
            suppressed=db.session.scalar(
                sa.select(SuppressionEntry).where(SuppressionEntry.email_bidx == bidx)) is not None,
        )


def assert_untouched_by(edge: Edge, seen: Seen) -> None:
    """The rule did nothing to the record (another rule of its plugin may have)."""
    policy = definition(edge)
    assert seen.of(edge.policy) == []
    assert seen.exists
    if edge.category != "company":
        assert seen.keys >= 1 and not seen.shredded and not seen.suppressed
        assert seen.fields["email"] is not None and seen.fields["given_name"] == "Anna"
    if policy.action == "flag":
        assert seen.flagged_since is None
    if policy.action == "reconsent":
        assert seen.requests == [] and seen.mails == []


def assert_acted(edge: Edge, seen: Seen, swept_on: date) -> None:
    """The rule acted exactly once, for its due date, with its outcome."""
    policy = definition(edge)
    assert seen.of(edge.policy) == [(edge.policy, policy.action, edge.due)]
    if policy.action == "purge":
        assert not seen.exists and seen.keys == 0 and seen.shredded, "purged: rows gone, key destroyed"
        assert seen.suppressed is policy.suppress
    elif policy.action == "flag":
        assert seen.exists and seen.flagged_since == swept_on
    elif policy.action == "reconsent":
        assert seen.exists and seen.requests == [(policy.purpose, edge.due)]
        assert seen.mails == ["queued"]
    elif policy.action == "hold":
        assert seen.exists and seen.keys >= 1 and seen.restricted_reason is None
        assert seen.fields["email"] is not None and seen.fields["notes"] is not None
    else:  # pragma: no cover - a new action needs its outcome here
        raise AssertionError(f"no outcome check for {policy.action}")


# --- sweeps ------------------------------------------------------------------------------------------------

def start(tenant, as_of: date) -> uuid.UUID:
    """A real sweep run of the tenant as of `as_of`, committed and queued on "sweeps"."""
    with in_tenant(tenant):
        return jobs.start_sweep(tenant.id, as_of=as_of, trigger="command").id


def finished(tenant, run_id: uuid.UUID) -> dict:
    """The run's counts per policy key, after checking that it ran to its end."""
    with in_tenant(tenant):
        run = queries.get_sweep(run_id)
        assert (run.status, run.error) == ("finished", None)
        return run.counts


@pytest.fixture()
def sweep(sweep_queues, work_in_process):  # noqa: F811
    """sweep(tenant, as_of) -> counts: started here, run by an in-process RQ worker on the "sweeps" queue."""

    def _sweep(tenant, as_of: date) -> dict:
        run_id = start(tenant, as_of)
        work_in_process(["sweeps"])
        return finished(tenant, run_id)

    return _sweep


def counted(edge: Edge, counts: dict) -> dict:
    return counts.get(definition(edge).key, {})


@pytest.mark.parametrize("edge", EDGES, ids=lambda e: e.policy)
def test_a_rule_through_real_sweeps_the_day_before_of_and_after(edge, make_tenant, sweep):
    tenant = tenant_for(make_tenant, edge)
    action = definition(edge).action
    first = add_record(tenant, edge.category, edge.dates)

    assert counted(edge, sweep(tenant, edge.due - ONE)) == {}
    assert_untouched_by(edge, look(tenant, first, edge.category))

    assert counted(edge, sweep(tenant, edge.due)) == {action: 1}
    assert_acted(edge, look(tenant, first, edge.category), swept_on=edge.due)

    second = add_record(tenant, edge.category, edge.dates)
    assert counted(edge, sweep(tenant, edge.due + ONE)) == {action: 1}   # the second record only
    assert_acted(edge, look(tenant, second, edge.category), swept_on=edge.due + ONE)
    assert_acted(edge, look(tenant, first, edge.category), swept_on=edge.due)   # not twice


def test_every_rule_at_once_through_the_forking_worker(make_tenant, sweep_queues, run_worker):  # noqa: F811
    tenants = {edge.policy: tenant_for(make_tenant, edge) for edge in EDGES}
    first = {edge.policy: add_record(tenants[edge.policy], edge.category, edge.dates) for edge in EDGES}

    def sweep_all(offset: timedelta) -> dict:
        runs = {edge.policy: start(tenants[edge.policy], edge.due + offset) for edge in EDGES}
        run_worker(queues=["sweeps"], timeout=240)
        return {policy: finished(tenants[policy], run_id) for policy, run_id in runs.items()}

    before = sweep_all(-ONE)
    for edge in EDGES:
        assert counted(edge, before[edge.policy]) == {}, edge.policy
        assert_untouched_by(edge, look(tenants[edge.policy], first[edge.policy], edge.category))
    on = sweep_all(timedelta(0))
    for edge in EDGES:
        assert counted(edge, on[edge.policy]) == {definition(edge).action: 1}, edge.policy
        assert_acted(edge, look(tenants[edge.policy], first[edge.policy], edge.category), swept_on=edge.due)
    second = {edge.policy: add_record(tenants[edge.policy], edge.category, edge.dates) for edge in EDGES}
    after = sweep_all(ONE)
    for edge in EDGES:
        assert counted(edge, after[edge.policy]) == {definition(edge).action: 1}, edge.policy
        assert_acted(edge, look(tenants[edge.policy], second[edge.policy], edge.category), swept_on=edge.due + ONE)
        assert_acted(edge, look(tenants[edge.policy], first[edge.policy], edge.category), swept_on=edge.due)


# --- re-consent, overrides, switched-off rules, legal holds ------------------------------------------------------

def test_a_yes_to_the_reconsent_request_resets_the_clock(make_tenant, sweep):
    edge = Edge("recruitment.candidate_reconsent", "candidate", {"last_contact_on": date(2024, 3, 10)},
                date(2025, 3, 10))
    tenant = tenant_for(make_tenant, edge)
    candidate = add_record(tenant, "candidate", edge.dates)
    sweep(tenant, date(2025, 3, 10))
    assert look(tenant, candidate, "candidate").requests == [("candidate_pool", date(2025, 3, 10))]

    clock.set_now(date(2025, 3, 20))   # the candidate clicks the link and says yes
    try:
        with in_tenant(tenant):
            request = db.session.scalar(sa.select(ConsentRequest).where(ConsentRequest.subject_id == candidate))
            assert consents.claim(request, consents.YES)
            consents.answer_yes(request, "Ja, u mag mijn gegevens bewaren.")
    finally:
        clock.set_now(None)

    # The old dates pass without effect: purge (2026-03-10) and the next request count from the yes.
    assert sweep(tenant, date(2026, 3, 10)) == {}
    assert sweep(tenant, date(2026, 3, 19)) == {}
    seen = look(tenant, candidate, "candidate")
    assert seen.exists and seen.requests == [("candidate_pool", date(2025, 3, 10))]
    assert sweep(tenant, date(2026, 3, 20)) == {"recruitment.candidate_reconsent@v1": {"reconsent": 1}}
    assert look(tenant, candidate, "candidate").requests == [
        ("candidate_pool", date(2025, 3, 10)), ("candidate_pool", date(2026, 3, 20))]
    # No second answer: purged two years after the yes, not before.
    assert sweep(tenant, date(2027, 3, 19)) == {}
    assert look(tenant, candidate, "candidate").exists
    assert sweep(tenant, date(2027, 3, 20)) == {"recruitment.candidate_purge@v1": {"purge": 1}}
    assert not look(tenant, candidate, "candidate").exists


def test_a_tenant_override_from_its_file_moves_the_due_date(ctx, tenant_files, saas_cli, sweep):
    tenant_files.write("leadhunter", tenant_files.read("leadhunter") + (
        '\n[retention."employment.applicant_rejected"]\n'
        "# Test: a tenant that deletes rejected applicants after 2 weeks instead of 4.\n"
        "weeks = 2\n"))
    result = saas_cli("tenants", "sync", "--dir", str(tenant_files.directory))
    assert result.exit_code == 0, result.output
    tenant = get_by_slug(tenant_files.slug("leadhunter"))
    assert tenant.retention == {"employment.applicant_rejected": {"weeks": 2}}
    applicant = add_record(tenant, "applicant",
                           {"procedure_closed_on": date(2026, 1, 5), "procedure_outcome": "rejected"})

    assert sweep(tenant, date(2026, 1, 18)) == {}
    assert look(tenant, applicant, "applicant").exists
    assert sweep(tenant, date(2026, 1, 19)) == {"employment.applicant_rejected@v1": {"purge": 1}}
    seen = look(tenant, applicant, "applicant")
    assert not seen.exists and seen.decisions == [("employment.applicant_rejected", "purge", date(2026, 1, 19))]


def test_a_switched_off_policy_does_nothing(make_tenant, sweep):
    edge = next(e for e in EDGES if e.policy == "leadgen.prospect_left_company")
    tenant = tenant_for(make_tenant, edge, retention={edge.policy: {"enabled": False}})
    twin = tenant_for(make_tenant, edge)
    prospects = {t.id: add_record(t, "prospect", edge.dates) for t in (tenant, twin)}

    assert sweep(tenant, edge.due + timedelta(days=30)) == {}
    seen = look(tenant, prospects[tenant.id], "prospect")
    assert seen.exists and seen.decisions == [] and seen.keys == 1
    assert sweep(twin, edge.due + timedelta(days=30)) == {"leadgen.prospect_left_company@v1": {"purge": 1}}
    assert not look(twin, prospects[twin.id], "prospect").exists


def test_the_seed_tenants_hold_after_seven_years_review_yearly_and_end_the_liability_hold_at_twenty(
        ctx, tenant_files, saas_cli, sweep):
    """KVGO (fiscal + association) and the administration office keep ex-clients and ex-members after the
    fiscal period: on hold with the seed's reason, reviewed every year. The liability hold ("voor zo lang
    dat nodig is in verband met onze mogelijke aansprakelijkheidspositie") ends 20 years after the
    relationship ended (art. 3:310 BW, the tenant's `liability_years`), and the record is purged that day;
    the association's "until you ask us" has no end and stays on hold, reviewed."""
    assert saas_cli("tenants", "sync", "--dir", str(tenant_files.directory)).exit_code == 0
    kvgo, kantoor = (get_by_slug(tenant_files.slug(s)) for s in ("kvgo", "kantoor"))
    ended = {"relationship_ended_on": date(2019, 3, 1)}
    records = {
        (kvgo.id, "member"): add_record(kvgo, "member", ended),
        (kvgo.id, "relation"): add_record(kvgo, "relation", ended),
        (kantoor.id, "client_contact"): add_record(kantoor, "client_contact", ended),
    }
    assert sweep(kvgo, date(2026, 12, 31)) == {} and sweep(kantoor, date(2026, 12, 31)) == {}
    assert sweep(kvgo, date(2027, 1, 1)) == {"association.member_kept@v1": {"hold": 1},
                                             "fiscal.relation_liability@v1": {"hold": 1}}
    assert sweep(kantoor, date(2027, 1, 1)) == {"fiscal.client_contact_liability@v1": {"hold": 1}}
    # The yearly review: not the day before, once on the day, not again the day after.
    assert sweep(kvgo, date(2027, 12, 31)) == {} and sweep(kantoor, date(2027, 12, 31)) == {}
    assert sweep(kvgo, date(2028, 1, 1)) == {"association.member_kept@v1": {"review": 1},
                                             "fiscal.relation_liability@v1": {"review": 1}}
    assert sweep(kantoor, date(2028, 1, 1)) == {"fiscal.client_contact_liability@v1": {"review": 1}}
    assert sweep(kvgo, date(2028, 1, 2)) == {} and sweep(kantoor, date(2028, 1, 2)) == {}
    # The day before the 20 years are over the liability hold still keeps the record (this year's review).
    assert sweep(kantoor, date(2039, 2, 28)) == {"fiscal.client_contact_liability@v1": {"review": 1}}
    assert look(kantoor, records[(kantoor.id, "client_contact")], "client_contact").exists
    # The day they are over: purged; the member (no end) stays on hold.
    assert sweep(kvgo, date(2039, 3, 1)) == {"association.member_kept@v1": {"review": 1},
                                             "fiscal.relation_liability@v1": {"purge": 1}}
    assert sweep(kantoor, date(2039, 3, 1)) == {"fiscal.client_contact_liability@v1": {"purge": 1}}
    assert sweep(kvgo, date(2039, 3, 2)) == {} and sweep(kantoor, date(2039, 3, 2)) == {}
    member = look(kvgo, records[(kvgo.id, "member")], "member")
    assert member.exists and member.keys == 1 and member.fields["email"] is not None
    for tenant, category in ((kvgo, "relation"), (kantoor, "client_contact")):
        gone = look(tenant, records[(tenant.id, category)], category)
        assert not gone.exists and gone.keys == 0 and gone.shredded
        assert ("purge", date(2039, 3, 1)) in [(action, due) for _, action, due in gone.decisions]


@pytest.mark.parametrize("category, plugins", [("relation", ["fiscal"]), ("client_contact", ["fiscal"]),
                                               ("member", ["fiscal", "association"])])
def test_an_erasure_within_the_fiscal_years_keeps_only_the_fiscal_fields(make_tenant, category, plugins):
    tenant = make_tenant(plugins=plugins)
    ended = date(2024, 5, 1)                       # hold: through 2031, ends 2032-01-01
    early, late = (add_record(tenant, category, {"relationship_ended_on": ended}) for _ in range(2))
    for record_id, on, outcome in ((early, date(2031, 12, 31), erasure.RESTRICTED),
                                   (late, date(2032, 1, 1), erasure.PURGED)):
        clock.set_now(on)
        try:
            with in_tenant(tenant):
                subject = db.session.get(DataSubject, record_id)
                assert erasure.erase_subject(subject, reason="rights_request").status == outcome
        finally:
            clock.set_now(None)
    kept = look(tenant, early, category)
    assert kept.exists and "Fiscale bewaarplicht (art. 52 lid 4 AWR)" in kept.restricted_reason
    assert kept.fields == {**FISCAL_KEPT, "email": None, "phone": None, "notes": None}
    gone = look(tenant, late, category)
    assert not gone.exists and gone.keys == 0 and gone.shredded


def test_a_sweep_restricts_when_an_overridden_anchor_falls_inside_the_legal_hold(make_tenant, sweep):
    """The fiscal hold counts from the end of the relationship; a tenant counting its purge from the last
    contact gets a restrict while the hold runs (the fiscal fields stay), and a purge once it ends."""
    tenant = make_tenant(plugins=["fiscal"], settings={"fiscal": {"retention_years": 7, "liability_hold": False}},
                         retention={"fiscal.relation_records": {"anchor": "last_contact_on"}})
    relation = add_record(tenant, "relation", {"last_contact_on": date(2015, 6, 1),
                                               "relationship_ended_on": date(2020, 6, 30)})
    assert sweep(tenant, date(2022, 12, 31)) == {}
    assert sweep(tenant, date(2023, 1, 1)) == {"fiscal.relation_records@v1": {"restrict": 1}}
    seen = look(tenant, relation, "relation")
    assert seen.exists and seen.fields == {**FISCAL_KEPT, "email": None, "phone": None, "notes": None}
    assert seen.restricted_reason == "Fiscale bewaarplicht (art. 52 lid 4 AWR)"
    assert sweep(tenant, date(2027, 12, 31)) == {}
    assert sweep(tenant, date(2028, 1, 1)) == {"fiscal.relation_records@v1": {"purge": 1}}
    gone = look(tenant, relation, "relation")
    assert not gone.exists and gone.keys == 0 and gone.shredded
