"""The retention actions on single records (erasure on request, verify, mark as left, re-consent) and the
bulk statements under them: every row naming a purged subject goes, the key goes after the rows (a crash
in between is finished later), legal holds restrict instead, other tenants' records are refused."""
import uuid
from datetime import date, timedelta

import pytest
import sqlalchemy as sa

from saas.core import bulk, clock
from saas.core.crypto.models import ShreddedSubject, SubjectKey
from saas.core.tenancy import CrossTenantWrite
from saas.extensions import db
from saas.modules.assignments.models import Assignment, AssignmentSubject, CallNote
from saas.modules.audit import operations as audit
from saas.modules.audit.models import AuditEntry
from saas.modules.audit.queries import verify
from saas.modules.clients.models import ClientOrganisation
from saas.modules.companies.models import Company
from saas.modules.consents import operations as consents
from saas.modules.consents import queries as consent_queries
from saas.modules.consents.models import ConsentRecord, ConsentRequest
from saas.modules.erasure import operations as erasure
from saas.modules.files import operations as files
from saas.modules.files import storage
from saas.modules.files.models import StoredFile
from saas.modules.outbox.models import OutboxMail
from saas.modules.outbox.operations import queue_mail
from saas.modules.retention import jobs, operations, queries
from saas.modules.retention.engine import Decision
from saas.modules.retention.models import RetentionDecision, SuppressionEntry
from saas.modules.retention.policies import effective_policies
from saas.modules.retention.suppression import is_suppressed
from saas.modules.subjects.models import DataSubject
from saas.testing.retention_for_tests import FISCAL_REASON, POOL, rules, sweep_queues  # noqa: F401  (fixtures)

DEPENDENTS = (ConsentRecord, ConsentRequest, AssignmentSubject, CallNote, OutboxMail, StoredFile)


def person(category="candidate", **dates) -> DataSubject:
    """A subject with personal data and a row in every table that names a subject, committed."""
    subject = DataSubject(category=category, **dates)
    tag = uuid.uuid4().hex[:8]
    subject.given_name, subject.family_name = "Quirijn", f"Vandermolen{tag}"
    subject.email, subject.phone = f"q.{tag}@voorbeeld-mail.nl", "0612345678"
    subject.address, subject.iban, subject.notes = "Kade 1, Goes", "NL91ABNA0417164300", "Wil naar Tiel"
    db.session.add(subject)
    org = ClientOrganisation(name=f"Opdrachtgever {tag}")
    db.session.add(org)
    db.session.flush()
    assignment = Assignment(client_org_id=org.id, title="Belronde")
    db.session.add(assignment)
    db.session.flush()
    db.session.add(AssignmentSubject(assignment_id=assignment.id, subject_id=subject.id))
    note = CallNote(assignment_id=assignment.id, subject_id=subject.id)
    note.body = "Teruggebeld, wil geen contact meer"
    db.session.add(note)
    consents.give_consent(subject, "nieuwsbrief", "consent", "Ja, stuur mij de nieuwsbrief.", "web")
    consents.create_request(subject, "nieuwsbrief", date(2024, 1, 1), clock.now() + timedelta(days=30))
    queue_mail(subject.email, "Bevestiging", "Dank voor uw aanmelding.", template="test", subject_id=subject.id)
    files.save(b"geheimhoudingsverklaring", "text/plain", "nda", subject_id=subject.id, filename="nda.txt")
    db.session.commit()
    return subject


def rows_naming(subject_id) -> dict:
    counts = {model.__tablename__: db.session.scalar(sa.select(sa.func.count()).select_from(model)
                                                      .where(model.subject_id == subject_id))
              for model in DEPENDENTS}
    counts["data_subject"] = db.session.scalar(sa.select(sa.func.count()).select_from(DataSubject)
                                               .where(DataSubject.id == subject_id))
    counts["subject_key"] = db.session.scalar(sa.select(sa.func.count()).select_from(SubjectKey)
                                              .where(SubjectKey.subject_id == subject_id))
    return counts


def decisions_of(record_id) -> list[tuple]:
    return [(d.policy, d.action, d.due_on, d.completed, d.reason) for d in db.session.scalars(
        sa.select(RetentionDecision).where(RetentionDecision.record_id == record_id).order_by(RetentionDecision.due_on))]


@pytest.fixture()
def tenant(make_tenant, as_tenant, rules, sweep_queues):
    owner = make_tenant(plugins=["rtest"])
    as_tenant(owner)
    return owner


def test_the_generic_delete_knows_every_table_that_names_a_subject(ctx):
    found = {model.__tablename__: rule for model, _, rule in erasure.subject_dependents()}
    assert {model.__tablename__ for model in DEPENDENTS} <= set(found)
    assert set(found.values()) <= {"CASCADE", "SET NULL"}
    order = [model.__tablename__ for model, _, _ in erasure.subject_dependents()]
    assert order.index("consent_record") < order.index("consent_request")  # a grant names its request


def test_erasure_without_a_hold_purges_every_row_and_then_the_key(tenant, as_tenant):
    subject = person(last_contact_on=date(2020, 1, 1))
    subject_id, email = subject.id, subject.email
    stored = db.session.scalar(sa.select(StoredFile).where(StoredFile.subject_id == subject_id))
    path = storage.path_of(stored)
    assert path.exists() and all(rows_naming(subject_id).values())

    assert erasure.erase_subject(subject, reason="rights_request").status == "purged"

    as_tenant(tenant)
    assert set(rows_naming(subject_id).values()) == {0}
    assert not path.exists()
    ledger = db.session.get(ShreddedSubject, subject_id)
    assert ledger is not None and ledger.reason == "erasure"
    assert decisions_of(subject_id) == [("erasure", "purge", clock.today(), True, "rights_request")]
    assert db.session.scalar(sa.select(AuditEntry.action).where(
        AuditEntry.object_id == str(subject_id)).order_by(AuditEntry.seq.desc()).limit(1)) == "subject.erase"
    assert not is_suppressed(email=email)  # suppression only when asked for
    assert verify(tenant.id).ok


def test_erasure_can_put_the_person_on_the_suppression_list(tenant, as_tenant):
    subject = person("prospect")
    email = subject.email
    erasure.erase_subject(subject, reason="rights_request", suppress=True)
    as_tenant(tenant)
    assert is_suppressed(email=email) and is_suppressed(phone="06-12345678")
    assert db.session.scalar(sa.select(SuppressionEntry.reason)) == "erasure"


def test_erasure_during_a_legal_hold_keeps_only_the_held_fields_until_the_hold_ends(tenant, as_tenant):
    clock.set_now(date(2024, 5, 1))
    subject = person("client_contact", relationship_ended_on=date(2022, 5, 1))
    subject_id = subject.id

    assert erasure.erase_subject(subject, reason="unsubscribed").status == "restricted"
    db.session.commit()

    as_tenant(tenant)
    kept = db.session.get(DataSubject, subject_id)
    assert (kept.given_name, kept.family_name, kept.address, kept.iban) == \
        ("Quirijn", kept.family_name, "Kade 1, Goes", "NL91ABNA0417164300")
    assert (kept.email, kept.phone, kept.notes, kept.email_bidx) == (None, None, None, None)
    assert kept.restriction_reason == FISCAL_REASON   # the legal duty the record page shows
    counts = rows_naming(subject_id)
    assert counts["subject_key"] == 1 and counts["consent_record"] == counts["call_note"] == counts["outbox_mail"] == 0
    assert decisions_of(subject_id) == [
        ("erasure", "restrict", date(2024, 5, 1), True, f"unsubscribed; {FISCAL_REASON}")]

    # Asked again the same day: nothing more to take, nothing written twice.
    assert erasure.erase_subject(kept, reason="unsubscribed").status == "restricted"
    db.session.commit()
    assert len(decisions_of(subject_id)) == 1

    # The hold ends with 2029 (ended in 2022: the records of 2022, kept 7 years): then everything goes.
    clock.set_now(date(2030, 1, 1))
    as_tenant(tenant)
    assert erasure.erase_subject(db.session.get(DataSubject, subject_id), reason="unsubscribed").status == "purged"
    as_tenant(tenant)
    assert set(rows_naming(subject_id).values()) == {0}


def test_a_purge_stopped_between_the_two_databases_is_finished_by_the_next_sweep(tenant, as_tenant):
    subject = person(last_contact_on=date(2020, 1, 1))
    subject_id = subject.id
    policy = {p.name: p for p in effective_policies(tenant)}["rtest.candidate_purge"]
    decision = Decision(policy, "purge", date(2022, 1, 1))

    # Step 1 only (as if the worker died right after its commit): rows gone, key still there.
    applied = operations.apply([(queries.record_view(subject), decision)], today=date(2024, 1, 1))
    db.session.commit()
    assert [pending[1] for pending in applied.pending] == [subject_id]
    as_tenant(tenant)
    assert rows_naming(subject_id)["subject_key"] == 1 and rows_naming(subject_id)["data_subject"] == 0
    assert queries.pending_purges() == [(applied.pending[0][0], subject_id, "rtest.candidate_purge")]

    run = jobs.start_sweep(tenant.id, as_of=date(2024, 1, 2), enqueue=False)
    jobs.run_sweep(tenant.id, str(run.id))

    as_tenant(tenant)
    assert rows_naming(subject_id)["subject_key"] == 0
    assert db.session.get(ShreddedSubject, subject_id).reason == "retention"
    assert decisions_of(subject_id) == [("rtest.candidate_purge", "purge", date(2022, 1, 1), True, None)]
    assert queries.pending_purges() == []


def test_verifying_a_flagged_record_makes_it_usable_from_today(tenant, as_tenant):
    clock.set_now(date(2024, 6, 3))
    prospect = DataSubject(category="prospect", last_verified_on=date(2023, 1, 1),
                           needs_verification_since=date(2023, 7, 1))
    company = Company(name="Bakkerij De Korst", last_verified_on=date(2023, 1, 1),
                      needs_verification_since=date(2023, 7, 1))
    db.session.add_all([prospect, company])
    db.session.commit()

    for record in (prospect, company):
        operations.verify_record(record)
    db.session.commit()

    as_tenant(tenant)
    for record in (db.session.get(DataSubject, prospect.id), db.session.get(Company, company.id)):
        assert (record.last_verified_on, record.needs_verification_since) == (date(2024, 6, 3), None)
    actions = db.session.scalars(sa.select(AuditEntry.object_type).where(AuditEntry.action == "retention.verify"))
    assert sorted(actions) == ["company", "data_subject"]


def test_a_person_who_left_the_company_is_purged_at_once_unless_the_tenant_keeps_leavers(
        make_tenant, as_tenant, rules, sweep_queues):
    deleting = make_tenant(plugins=["rtest"])
    keeping = make_tenant(plugins=["rtest"], settings={"rtest": {"delete_when_contact_left": False}})
    clock.set_now(date(2024, 6, 3))
    for owner in (deleting, keeping):
        as_tenant(owner)
        subject = person("prospect", last_verified_on=date(2024, 5, 1))
        email, subject_id = subject.email, subject.id
        decisions = operations.mark_left(subject)
        db.session.commit()
        as_tenant(owner)
        if owner is deleting:
            assert [(d.policy.name, d.action, d.due_on) for d in decisions] == \
                [("rtest.prospect_left", "purge", date(2024, 6, 3))]
            assert db.session.get(DataSubject, subject_id) is None and is_suppressed(email=email)
        else:
            assert decisions == []
            assert db.session.get(DataSubject, subject_id).left_company_on == date(2024, 6, 3)


def test_a_reconsent_request_mails_a_link_that_leads_to_its_request(tenant, as_tenant):
    clock.set_now(date(2024, 6, 3))
    subject = person(last_contact_on=date(2023, 6, 3))
    policy = {p.name: p for p in effective_policies(tenant)}["rtest.candidate_reconsent"]

    operations.request_reconsent(subject, Decision(policy, "reconsent", date(2024, 6, 3)))
    db.session.commit()

    as_tenant(tenant)
    mail = db.session.scalar(sa.select(OutboxMail).where(OutboxMail.template == "retention.reconsent"))
    assert mail.recipient == subject.email and mail.subject_id == subject.id
    token = mail.body.split("/consent/")[1].split()[0]
    assert consent_queries.tenant_of_token(token).id == tenant.id
    request = consent_queries.find_request(token)
    assert (request.subject_id, request.purpose, request.due_on, request.mail_id) == \
        (subject.id, POOL, date(2024, 6, 3), mail.id)
    assert decisions_of(subject.id) == [("rtest.candidate_reconsent", "reconsent", date(2024, 6, 3), True, None)]

    # Without an e-mail address nobody can be asked: the decision says so, no request is made.
    silent = DataSubject(category="candidate", last_contact_on=date(2023, 6, 3))
    db.session.add(silent)
    db.session.commit()
    operations.request_reconsent(silent, Decision(policy, "reconsent", date(2024, 6, 3)))
    db.session.commit()
    as_tenant(tenant)
    assert decisions_of(silent.id)[0][-1] == "no_email"
    assert db.session.scalar(sa.select(sa.func.count()).select_from(ConsentRequest)
                             .where(ConsentRequest.subject_id == silent.id)) == 0


def test_records_of_another_tenant_are_refused_before_anything_is_written(make_tenant, as_tenant, rules,
                                                                          sweep_queues):
    mine, theirs = make_tenant(plugins=["rtest"]), make_tenant(plugins=["rtest"])
    as_tenant(theirs)
    foreign = person(last_contact_on=date(2020, 1, 1))
    db.session.refresh(foreign)
    db.session.expunge(foreign)  # loaded while it was visible, as a caller holding it by mistake would have it
    as_tenant(mine)
    for action in (lambda: erasure.erase_subject(foreign, reason="rights_request"),
                   lambda: operations.verify_record(foreign), lambda: operations.mark_left(foreign)):
        with pytest.raises(CrossTenantWrite):
            action()
        db.session.rollback()
    as_tenant(theirs)
    assert all(rows_naming(foreign.id).values())
    assert db.session.get(ShreddedSubject, foreign.id) is None


def test_bulk_audit_lines_chain_like_single_ones_with_any_detail(make_tenant, as_tenant):
    tenant = make_tenant()
    as_tenant(tenant)
    tricky = {"policy": 'a"b\\c', "n": [1, None, "{x,y}"], "é": "NULL"}
    audit.record("x.before", "thing", 1)
    assert audit.record_many("x.many", "thing", [uuid.uuid4() for _ in range(2500)], detail=tricky) == 2500
    audit.record("x.after", "thing", 2)
    db.session.commit()
    as_tenant(tenant)
    assert verify(tenant.id).ok and verify(tenant.id).count == 2502
    details = db.session.scalars(sa.select(AuditEntry.detail).where(AuditEntry.action == "x.many")).all()
    assert len(details) == 2500 and all(detail == tricky for detail in details)


def test_bulk_id_lists_of_any_size_select_exactly_those_rows(make_tenant, as_tenant):
    tenant = make_tenant()
    as_tenant(tenant)
    companies = [Company(name=f"Bedrijf {n}") for n in range(3000)]
    db.session.add_all(companies)
    db.session.commit()
    wanted = [c.id for c in companies[::2]] + [uuid.uuid4() for _ in range(10)]
    found = set(db.session.scalars(sa.select(Company.id).where(bulk.id_in(Company.id, wanted))))
    assert found == {c.id for c in companies[::2]}
