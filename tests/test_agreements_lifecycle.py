"""The agreement lifecycle: create, send, sign (signing module), countersign, seal, distribute; the refused
moves; expiry and reminders at their time edges; idempotent jobs; the sealed PDF verifies."""
from __future__ import annotations

import hashlib
import uuid
from datetime import timedelta

import pytest
import sqlalchemy as sa
from flask_babel import force_locale

from saas.core import clock
from saas.core.errors import DomainError
from saas.extensions import db
from saas.modules.accounts.models import User
from saas.modules.agreements import (
    common, countersigning, drafting, jobs, lifecycle, queries, queueing, rendering, sending,
)
from saas.modules.agreements.models import Agreement, Signer, SubProcessor
from saas.modules.audit.models import AuditEntry
from saas.modules.files import queries as stored_files
from saas.modules.outbox.models import OutboxMail
from saas.modules.signing import operations as signing
from saas.modules.signing.models import SigningToken
from saas.modules.tenants.models import Tenant
from saas.testing.agreements import SIGNER_EMAIL, agreement_queue, agreements_world  # noqa: F401  (fixtures)


def _mails(world, template: str) -> list[OutboxMail]:
    world.enter()
    return list(db.session.scalars(sa.select(OutboxMail).where(OutboxMail.template == template)))


def _tenant(world) -> Tenant:
    db.session.commit()
    return db.session.get(Tenant, world.tenant_id)


def _count(world, model, *where) -> int:
    world.enter()
    return db.session.scalar(sa.select(sa.func.count()).select_from(model).where(*where))


# ---- creating ------------------------------------------------------------------------------------

def test_create_checks_everything_at_once_and_writes_nothing_when_refused(agreements_world):
    world = agreements_world
    world.enter()
    fields = dict(world.input().fields, subject_matter="", breach_notice_hours="200", end_of_contract="burn")
    with pytest.raises(DomainError) as refused:
        drafting.create_agreement(world.input(fields=fields, counterparty_kvk="1234", signer_email="not-an-address",
                                                countersigner_id=None, sub_processors="Hosting zonder land"),
                                    world.admin_id)
    assert set(refused.value.errors) == {"subject_matter", "breach_notice_hours", "end_of_contract", "counterparty_kvk",
                                         "signer_email", "countersigner_id", "sub_processors"}
    db.session.rollback()
    assert _count(world, Agreement) == 0 and _count(world, Signer) == 0


def test_the_countersigner_must_be_an_admin_of_the_tenant(agreements_world, make_user, make_tenant):
    world = agreements_world
    tenant = _tenant(world)
    supervisor, _ = make_user(role="supervisor", tenant=tenant)
    stranger, _ = make_user(role="admin", tenant=make_tenant())
    for user in (supervisor, stranger):
        world.enter()
        with pytest.raises(DomainError) as refused:
            drafting.create_agreement(world.input(countersigner_id=user.id), world.admin_id)
        assert set(refused.value.errors) == {"countersigner_id"}
        db.session.rollback()


def test_a_draft_has_its_signers_encrypted_its_annex_and_a_created_event(agreements_world):
    world = agreements_world
    agreement_id = world.draft()
    agreement = world.get(agreement_id)
    assert agreement.status == "draft" and agreement.number.startswith(f"VO-{clock.today().year}-")
    other, ours = queries.counterparty_signers(agreement)[0], queries.tenant_signer(agreement)
    assert (other.name, other.email, other.function) == ("Jan Jansen", SIGNER_EMAIL, "directeur")
    assert SIGNER_EMAIL.encode() not in other.ciphertext
    assert ours.user_id == world.admin_id and ours.email == world.admin_email
    assert [(s.name, s.country) for s in queries.sub_processors_of(agreement)] == [("Hosting B.V.", "NL")]
    assert world.events(agreement_id) == ["created"]
    assert _count(world, AuditEntry, AuditEntry.action == "agreement.create", AuditEntry.object_id == str(agreement_id)) == 1


# ---- sending -------------------------------------------------------------------------------------

def test_the_send_job_renders_freezes_and_invites_exactly_once(agreements_world, agreement_queue):
    world = agreements_world
    agreement_id = world.draft()
    world.enter()
    sending.request_send(world.get(agreement_id), 14)
    world.leave()
    assert [j.id for j in agreement_queue.get_jobs()] == [queueing.job_id("send", agreement_id)]
    assert world.run(jobs.send_agreement, agreement_id=str(agreement_id), valid_days=14) == "sent"
    agreement = world.get(agreement_id)
    assert agreement.status == "sent"
    assert queries.aware(agreement.expires_at) - queries.aware(agreement.sent_at) == timedelta(days=14)
    document = stored_files.read(stored_files.get(agreement.document_file_id))
    assert document.startswith(b"%PDF-") and hashlib.sha256(document).hexdigest() == agreement.document_sha256
    html = stored_files.read(stored_files.get(agreement.document_html_file_id)).decode()
    assert "telefonische leadgeneratie voor de campagne Voorjaar" in html and "Hosting B.V." in html
    assert len(_mails(world, "agreement_invitation")) == 1

    frozen_sha = agreement.document_sha256
    assert world.run(jobs.send_agreement, agreement_id=str(agreement_id), valid_days=14) == "skipped (sent)"
    assert len(_mails(world, "agreement_invitation")) == 1
    assert world.get(agreement_id).document_sha256 == frozen_sha
    assert world.events(agreement_id) == ["created", "sent", "sent"]    # the agreement, then its invitation


def test_send_is_refused_for_anything_but_a_draft_and_for_a_silly_period(agreements_world):
    world = agreements_world
    draft_id, sent_id = world.draft(), world.sent()
    world.enter()
    with pytest.raises(DomainError):
        sending.request_send(world.get(draft_id), 0)
    with pytest.raises(DomainError):
        sending.request_send(world.get(sent_id), 30)


# ---- refused moves -------------------------------------------------------------------------------

@pytest.mark.parametrize("status", sorted(lifecycle.TRANSITIONS))
def test_every_move_outside_the_table_is_refused(status):
    agreement = Agreement(number="VO-TEST", status=status)
    for target in lifecycle.TRANSITIONS:
        if target in lifecycle.TRANSITIONS[status]:
            continue
        with pytest.raises(lifecycle.TransitionRefused):
            lifecycle.move(agreement, target)
        assert agreement.status == status


def test_signing_a_revoked_agreement_is_refused(agreements_world):
    world = agreements_world
    agreement_id = world.sent()
    world.enter()
    sending.revoke(world.get(agreement_id), "verkeerde partij gekozen", world.admin_id)
    world.leave()
    agreement = world.get(agreement_id)
    assert agreement.status == "revoked" and agreement.closed_reason == "verkeerde partij gekozen"
    tokens = list(db.session.scalars(sa.select(SigningToken)))
    assert tokens and all(t.revoked_at is not None for t in tokens)
    signer = queries.counterparty_signers(agreement)[0]
    with pytest.raises(DomainError):
        signing.sign(signer, "Jan Jansen", "directeur", True, agreement.document_sha256, token=tokens[0])
    db.session.rollback()
    assert world.get(agreement_id).status == "revoked"
    with pytest.raises(lifecycle.TransitionRefused):
        lifecycle.move(world.get(agreement_id), "signed")


def test_revoking_needs_a_reason_and_a_revocable_state(agreements_world):
    world = agreements_world
    draft_id = world.draft()
    completed_id = world.completed()
    world.enter()
    with pytest.raises(DomainError):
        sending.revoke(world.get(draft_id), "   ", world.admin_id)
    with pytest.raises(DomainError):
        sending.revoke(world.get(completed_id), "te laat", world.admin_id)


def test_countersigning_is_refused_until_signed_and_for_anyone_but_the_countersigner(agreements_world, make_user):
    world = agreements_world
    agreement_id = world.sent()
    world.enter()
    with pytest.raises(DomainError):
        countersigning.countersign(world.get(agreement_id), world.admin(), "bestuurder", True,
                               world.get(agreement_id).document_sha256)
    db.session.rollback()
    world.sign_as_counterparty(agreement_id)
    assert world.get(agreement_id).status == "signed"

    other_admin, _ = make_user(role="admin", tenant=_tenant(world))
    agreement = world.get(agreement_id)
    sha = agreement.document_sha256
    for user, function, authority, seen, field in (
        (db.session.get(User, other_admin.id), "bestuurder", True, sha, None),
        (world.admin(), "bestuurder", True, "0" * 64, None),
        (world.admin(), "", False, sha, {"function", "authority"}),
    ):
        with pytest.raises(DomainError) as refused:
            countersigning.countersign(world.get(agreement_id), user, function, authority, seen)
        if field:
            assert set(refused.value.errors) == field
        db.session.rollback()
    assert world.get(agreement_id).status == "signed"


def test_a_declined_agreement_keeps_the_reason_and_can_get_a_new_version(agreements_world):
    world = agreements_world
    agreement_id = world.sent()
    agreement = world.get(agreement_id)
    signer = queries.counterparty_signers(agreement)[0]
    token = db.session.scalar(sa.select(SigningToken).where(SigningToken.signer_id == signer.id))
    signing.decline(signer, "De bewaartermijn is te lang.", token=token)
    world.leave()
    agreement = world.get(agreement_id)
    assert agreement.status == "declined" and agreement.closed_reason == "De bewaartermijn is te lang."

    new = drafting.new_version(agreement, world.admin_id)
    new_id = new.id
    world.leave()
    assert world.get(agreement_id).status == "superseded"
    copy = world.get(new_id)
    assert (copy.version, copy.status, copy.supersedes_id, copy.number) == (2, "draft", agreement_id, f"{agreement.number}-v2")
    assert copy.fields == agreement.fields
    assert [s.email for s in queries.counterparty_signers(copy)] == [SIGNER_EMAIL]
    assert [s.name for s in queries.sub_processors_of(copy)] == ["Hosting B.V."]
    with pytest.raises(DomainError):
        drafting.new_version(world.get(agreement_id), world.admin_id)    # superseded: no second branch


# ---- time: expiry and reminders ------------------------------------------------------------------

def test_expiry_at_the_edge_with_one_note_to_the_countersigner(agreements_world):
    world = agreements_world
    start = clock.now().replace(microsecond=0)
    clock.set_now(start)
    agreement_id = world.sent()
    expires_at = start + timedelta(days=30)

    clock.set_now(expires_at - timedelta(days=1))
    assert world.run(jobs.expire_overdue) == 0
    clock.set_now(expires_at - timedelta(seconds=1))
    assert world.run(jobs.expire_overdue) == 0
    assert world.get(agreement_id).status == "sent"

    clock.set_now(expires_at)
    assert world.run(jobs.expire_overdue) == 1
    assert world.get(agreement_id).status == "expired"
    assert all(t.revoked_at is not None for t in db.session.scalars(sa.select(SigningToken)))
    notes = _mails(world, "agreement_expired")
    assert [m.recipient for m in notes] == [world.admin_email]

    clock.set_now(expires_at + timedelta(days=1))
    assert world.run(jobs.expire_overdue) == 0
    assert len(_mails(world, "agreement_expired")) == 1
    assert world.events(agreement_id).count("expired") == 1


def test_reminders_follow_the_cadence_and_a_rerun_sends_nothing(agreements_world):
    world = agreements_world
    start = clock.now().replace(microsecond=0)
    clock.set_now(start)
    agreement_id = world.sent(reminder_days=3)

    def reminders():
        return len(_mails(world, "agreement_reminder"))

    clock.set_now(start + timedelta(days=3) - timedelta(minutes=1))
    assert world.run(jobs.send_reminders) == 0 and reminders() == 0
    clock.set_now(start + timedelta(days=3))
    assert world.run(jobs.send_reminders) == 1 and reminders() == 1
    assert world.run(jobs.send_reminders) == 0 and reminders() == 1          # same hour, run again
    clock.set_now(start + timedelta(days=5))
    assert world.run(jobs.send_reminders) == 0 and reminders() == 1
    clock.set_now(start + timedelta(days=6))
    assert world.run(jobs.send_reminders) == 1 and reminders() == 2
    world.sign_as_counterparty(agreement_id)
    clock.set_now(start + timedelta(days=12))
    assert world.run(jobs.send_reminders) == 0 and reminders() == 2          # signed: no more reminders


def test_no_reminders_when_switched_off(agreements_world):
    world = agreements_world
    start = clock.now().replace(microsecond=0)
    clock.set_now(start)
    world.sent(reminder_days=0)
    clock.set_now(start + timedelta(days=20))
    assert world.run(jobs.send_reminders) == 0


# ---- countersign, seal, distribute ---------------------------------------------------------------

def test_countersigning_enqueues_the_seal(agreements_world, agreement_queue):
    world = agreements_world
    agreement_id = world.sent()
    world.sign_as_counterparty(agreement_id)
    agreement_queue.empty()
    world.countersign(agreement_id)
    agreement = world.get(agreement_id)
    ours = queries.tenant_signer(agreement)
    assert agreement.status == "countersigned"
    assert (ours.status, ours.function, ours.authority_confirmed) == ("signed", "bestuurder", True)
    assert [j.id for j in agreement_queue.get_jobs()] == [queueing.job_id("seal", agreement_id)]
    with pytest.raises(DomainError):
        drafting.new_version(world.get(agreement_id), world.admin_id)     # wait for the seal
    with pytest.raises(DomainError):
        sending.revoke(world.get(agreement_id), "te laat bedacht", world.admin_id)


def test_seal_and_distribution_happen_once_and_the_sealed_pdf_verifies(agreements_world, agreement_queue):
    from saas.modules.outbox.jobs import build_message
    from saas.modules.seals.verify import verify_pdf

    world = agreements_world
    agreement_id = world.completed()
    agreement = world.get(agreement_id)
    assert agreement.status == "completed" and agreement.completed_at is not None
    sealed_file_id, sealed_sha, number = agreement.sealed_file_id, agreement.sealed_sha256, agreement.number
    assert queueing.job_id("distribute", agreement_id) in [j.id for j in agreement_queue.get_jobs()]

    assert world.run(jobs.seal_agreement, agreement_id=str(agreement_id)) == "skipped (completed)"
    again = world.get(agreement_id)
    assert (again.sealed_file_id, again.sealed_sha256) == (sealed_file_id, sealed_sha)
    assert world.events(agreement_id).count("sealed") == 1

    assert world.run(jobs.distribute_sealed, agreement_id=str(agreement_id)) == "mailed 2"
    assert world.run(jobs.distribute_sealed, agreement_id=str(agreement_id)) == "skipped"
    mails = _mails(world, "agreement_sealed")
    assert sorted(m.recipient for m in mails) == sorted([SIGNER_EMAIL, world.admin_email])
    assert world.events(agreement_id).count("distributed") == 1

    sealed = stored_files.read(stored_files.get(sealed_file_id))
    assert hashlib.sha256(sealed).hexdigest() == sealed_sha
    message = build_message(mails[0])
    attachment = next(message.iter_attachments())
    assert attachment.get_filename() == f"{number}.pdf"
    assert attachment.get_content() == sealed

    result = verify_pdf(sealed)
    assert result.valid and result.covers_whole_document and result.sha256 == sealed_sha, result.reason
    tampered = bytearray(sealed)
    position = sealed.index(b"Verwerkersovereenkomst")
    tampered[position] ^= 0x01
    assert not verify_pdf(bytes(tampered)).valid


def test_the_sealed_pdf_prints_the_signature_page_and_the_trail(agreements_world):
    import io

    from pyhanko.pdf_utils.reader import PdfFileReader

    world = agreements_world
    agreement_id = world.completed()
    agreement = world.get(agreement_id)
    sealed = stored_files.read(stored_files.get(agreement.sealed_file_id))
    document = stored_files.read(stored_files.get(agreement.document_file_id))
    reader = PdfFileReader(io.BytesIO(sealed))
    names = reader.root["/Names"]["/EmbeddedFiles"]["/Names"]
    assert names[0] == f"{agreement.number}-signed.pdf"
    assert names[1].get_object()["/EF"]["/F"].get_object().data == document
    html = stored_files.read(stored_files.get(agreement.document_html_file_id)).decode()
    with force_locale("en"):
        page = countersigning.signature_page(agreement, common.current_tenant(), "Verwerkersovereenkomst")
        final = rendering.sealed_html(html, page, countersigning.trail(agreement), "en")
    assert agreement.document_sha256 in final and "UTC" in final and ("CET" in final or "CEST" in final)
    assert "Jan Jansen" in final and "Anna Admin" in final and "Countersigned" in final


# ---- assignments: one agreement per assignment ---------------------------------------------------

def _assignment(world):
    from saas.modules.assignments.models import Assignment
    from saas.modules.clients.models import ClientOrganisation

    world.enter()
    org = ClientOrganisation(name=f"Opdrachtgever {uuid.uuid4().hex[:6]}")
    db.session.add(org)
    db.session.flush()
    assignment = Assignment(client_org_id=org.id, title="Campagne Voorjaar")
    db.session.add(assignment)
    db.session.flush()
    assignment_id = assignment.id
    world.leave()
    return assignment_id


def _assignment_row(world, assignment_id):
    from saas.modules.assignments.models import Assignment

    world.enter()
    db.session.expire_all()
    return db.session.get(Assignment, assignment_id)


def test_an_assignment_gets_one_agreement_which_covers_it_once_completed(agreements_world):
    world = agreements_world
    assignment_id = _assignment(world)
    agreement_id = world.sent(assignment_id=assignment_id)
    assignment = _assignment_row(world, assignment_id)
    assert assignment.agreement_id == agreement_id and not queries.covers_assignment(assignment)

    world.enter()
    with pytest.raises(DomainError) as refused:
        drafting.create_agreement(world.input(assignment_id=assignment_id), world.admin_id)
    assert set(refused.value.errors) == {"assignment_id"}
    db.session.rollback()

    world.sign_as_counterparty(agreement_id)
    world.countersign(agreement_id)
    assert not queries.covers_assignment(_assignment_row(world, assignment_id))   # countersigned, not sealed yet
    world.run(jobs.seal_agreement, agreement_id=str(agreement_id))
    assert queries.covers_assignment(_assignment_row(world, assignment_id))
    html = stored_files.read(stored_files.get(world.get(agreement_id).document_html_file_id)).decode()
    assert "Campagne Voorjaar" in html and "Reikwijdte per opdracht" in html


def test_a_new_version_of_a_completed_agreement_takes_over_the_assignment_when_completed(agreements_world):
    world = agreements_world
    assignment_id = _assignment(world)
    old_id = world.completed(assignment_id=assignment_id)

    world.enter()
    new_id = drafting.new_version(world.get(old_id), world.admin_id).id
    world.leave()
    assert world.get(old_id).status == "completed"                   # still in force meanwhile
    assignment = _assignment_row(world, assignment_id)
    assert assignment.agreement_id == old_id and queries.covers_assignment(assignment)

    world.enter()
    with pytest.raises(DomainError):
        drafting.new_version(world.get(old_id), world.admin_id)   # one newer version at a time
    db.session.rollback()
    world.run(jobs.send_agreement, agreement_id=str(new_id), valid_days=30)
    world.sign_as_counterparty(new_id)
    world.countersign(new_id)
    world.run(jobs.seal_agreement, agreement_id=str(new_id))
    assert world.get(old_id).status == "superseded"
    assignment = _assignment_row(world, assignment_id)
    assert assignment.agreement_id == new_id and queries.covers_assignment(assignment)


def test_a_new_version_of_an_open_agreement_supersedes_it_at_once(agreements_world):
    world = agreements_world
    assignment_id = _assignment(world)
    old_id = world.sent(assignment_id=assignment_id)
    world.enter()
    new_id = drafting.new_version(world.get(old_id), world.admin_id).id
    world.leave()
    assert world.get(old_id).status == "superseded"
    assert all(t.revoked_at is not None for t in db.session.scalars(sa.select(SigningToken)))
    assert _assignment_row(world, assignment_id).agreement_id == new_id
    assert not queries.covers_assignment(_assignment_row(world, assignment_id))


# ---- the real worker -----------------------------------------------------------------------------

def test_the_worker_runs_send_seal_and_distribution(agreements_world, work_in_process):
    world = agreements_world
    agreement_id = world.draft()
    world.enter()
    sending.request_send(world.get(agreement_id), 30)
    world.leave()
    work_in_process(("agreements",))
    assert world.get(agreement_id).status == "sent"
    world.sign_as_counterparty(agreement_id)
    world.countersign(agreement_id)
    work_in_process(("agreements",))          # seal, then the distribution it enqueued
    agreement = world.get(agreement_id)
    assert agreement.status == "completed" and agreement.distributed_at is not None
    work_in_process(("mail",))
    mails = _mails(world, "agreement_sealed")
    assert len(mails) == 2 and {m.status for m in mails} == {"outbox"}
    assert _count(world, SubProcessor) == 1


def test_editing_a_draft_replaces_its_terms_annex_and_assignment(agreements_world):
    world = agreements_world
    first, second = _assignment(world), _assignment(world)
    agreement_id = world.draft(assignment_id=first)
    world.enter()
    drafting.update_draft(world.get(agreement_id), world.input(
        counterparty_name="Andere Naam B.V.", assignment_id=second, signer_email="nieuw@opdrachtgever.example",
        sub_processors="Backup B.V. | NL | back-ups\nMail Ltd | IE | e-mail"))
    world.leave()
    agreement = world.get(agreement_id)
    assert agreement.counterparty_name == "Andere Naam B.V."
    assert [s.email for s in queries.counterparty_signers(agreement)] == ["nieuw@opdrachtgever.example"]
    assert len(queries.signers_of(agreement)) == 2
    assert [s.name for s in queries.sub_processors_of(agreement)] == ["Backup B.V.", "Mail Ltd"]
    assert _assignment_row(world, first).agreement_id is None
    assert _assignment_row(world, second).agreement_id == agreement_id

    world.run(jobs.send_agreement, agreement_id=str(agreement_id), valid_days=30)
    world.enter()
    with pytest.raises(DomainError):
        drafting.update_draft(world.get(agreement_id), world.input())
