"""The demo's records around the people: lifecycle dates that put work before every retention rule, consents,
companies and assignments with call notes; the same on every run."""
from __future__ import annotations

from datetime import date, timedelta

import sqlalchemy as sa

from saas.core import tenancy
from saas.extensions import db
from saas.modules.assignments.models import Assignment, AssignmentAgent, AssignmentSubject, CallNote
from saas.modules.companies.models import Company
from saas.modules.consents.models import ConsentRecord
from saas.modules.demo import operations as demo
from saas.modules.demo.records import shift_months
from saas.modules.subjects.models import DataSubject
from saas.modules.tenants.queries import get_by_slug
from saas.testing.fixtures_demo import DEMO_TODAY

SOON = (DEMO_TODAY, DEMO_TODAY + timedelta(days=14))


def _in_tenant(slug: str):
    tenant = get_by_slug(slug)
    db.session.commit()
    tenancy.set_tenant(tenant.id)
    return tenant


def _subjects(category: str) -> list[DataSubject]:
    return list(db.session.scalars(sa.select(DataSubject).where(DataSubject.category == category)))


def _due_soon(days) -> int:
    """How many of these due dates fall within the next two weeks (after today, up to 14 days)."""
    return sum(SOON[0] < day <= SOON[1] for day in days if day is not None)


def test_leadgen_prospects_work_at_companies_and_every_rule_has_work_soon(demo_ctx):
    _in_tenant("leadhunter")
    companies = {c.id: c for c in db.session.scalars(sa.select(Company))}
    assert len(companies) >= 10
    assert any(c.needs_verification_since for c in companies.values())
    prospects = _subjects("prospect")
    assert all(p.company_id in companies for p in prospects)
    assert all(p.email.endswith("@" + companies[p.company_id].website.removeprefix("https://www.")) for p in prospects)
    assert all(p.last_verified_on and p.last_verified_on <= DEMO_TODAY for p in prospects)
    flagged = [p for p in prospects if p.needs_verification_since]
    assert flagged and all(p.needs_verification_since == shift_months(p.last_verified_on, 6) for p in flagged)
    assert all(shift_months(p.last_verified_on, 6) > DEMO_TODAY for p in prospects if p not in flagged)
    assert _due_soon(shift_months(p.last_verified_on, 6) for p in prospects) >= 1      # flag
    assert _due_soon(shift_months(p.last_verified_on, 12) for p in prospects) >= 1     # purge unverified
    assert any(p.left_company_on for p in prospects)                                  # purged at once

    applicants = _subjects("applicant")
    rejected = [a for a in applicants if a.procedure_outcome == "rejected"]
    assert _due_soon(a.procedure_closed_on + timedelta(weeks=4) for a in rejected) >= 1
    assert all(a.procedure_closed_on and a.procedure_closed_on <= DEMO_TODAY for a in applicants if a.procedure_outcome)
    pool = db.session.scalars(sa.select(ConsentRecord).where(ConsentRecord.purpose == "applicant_pool")).all()
    assert pool and all(c.expires_on for c in pool)
    employees = _subjects("employee")
    assert all(e.employed_to is None or e.employed_from <= e.employed_to for e in employees)


def test_candidates_are_asked_again_and_purged_and_some_consented(demo_ctx):
    _in_tenant("client-ict")
    candidates = _subjects("candidate")
    never_placed = [c for c in candidates if c.placed_from is None]
    assert _due_soon(shift_months(c.last_contact_on, 12) for c in never_placed) >= 1
    assert _due_soon(shift_months(c.last_contact_on, 24) for c in never_placed) >= 1
    placed = [c for c in candidates if c.placed_from]
    assert placed and all(c.placed_to >= c.placed_from for c in placed)
    consents = db.session.scalars(sa.select(ConsentRecord)).all()
    assert {c.purpose for c in consents} == {"candidate_pool"}
    assert any(c.withdrawn_at for c in consents) and any(c.withdrawn_at is None for c in consents)
    assert all(c.evidence_text and c.channel == "web" for c in consents)


def test_relationships_end_in_the_past_or_soon(demo_ctx):
    _in_tenant("zest")
    ended = [s.relationship_ended_on for s in _subjects("crm_contact") + _subjects("training_participant")]
    assert _due_soon(ended) >= 1 and any(day and day <= DEMO_TODAY for day in ended)
    _in_tenant("kvgo")
    members = _subjects("member")
    assert any(m.relationship_ended_on and m.relationship_ended_on.year <= DEMO_TODAY.year - 8 for m in members)


def test_assignments_with_agents_subjects_and_call_notes(demo_ctx):
    _in_tenant("leadhunter")
    assignments = {a.title: a for a in db.session.scalars(sa.select(Assignment))}
    assert sorted(a.active for a in assignments.values()) == [False, True]
    for assignment in assignments.values():
        agents = db.session.scalars(
            sa.select(AssignmentAgent).where(AssignmentAgent.assignment_id == assignment.id)).all()
        subject_ids = set(db.session.scalars(
            sa.select(AssignmentSubject.subject_id).where(AssignmentSubject.assignment_id == assignment.id)))
        notes = db.session.scalars(sa.select(CallNote).where(CallNote.assignment_id == assignment.id)).all()
        assert agents and len(subject_ids) >= 5 and notes
        assert {n.subject_id for n in notes} <= subject_ids
        assert all(n.body and n.created_at for n in notes)
        people = db.session.scalars(sa.select(DataSubject).where(DataSubject.id.in_(subject_ids))).all()
        assert all(p.client_org_id in (assignment.client_org_id, None) for p in people)
        assert all(p.needs_verification_since is None and p.left_company_on is None for p in people)
    _in_tenant("kantoor")
    assert db.session.scalar(sa.select(sa.func.count(Assignment.id))) == 1


def test_stored_records_are_the_plan(demo_ctx):
    tenant = _in_tenant("leadhunter")
    plan = demo.plan_tenant("leadhunter", tenant.plugins, DEMO_TODAY)
    stored = sorted((s.email, s.needs_verification_since, s.last_verified_on, s.procedure_closed_on, s.employed_to)
                    for s in db.session.scalars(sa.select(DataSubject)))
    planned = sorted((p.email, p.lifecycle.needs_verification_since, p.lifecycle.last_verified_on,
                      p.lifecycle.procedure_closed_on, p.lifecycle.employed_to) for p in plan.subjects)
    assert stored == planned
    assert sorted(db.session.scalars(sa.select(Company.name))) == sorted(c.name for c in plan.companies)
    planned_consents = sum(len(p.lifecycle.consents) for p in plan.subjects)
    assert db.session.scalar(sa.select(sa.func.count(ConsentRecord.id))) == planned_consents
    assert plan == demo.plan_tenant("leadhunter", tenant.plugins, DEMO_TODAY)
    assert demo.plan_tenant("leadhunter", tenant.plugins, date(2025, 6, 3)).companies[0].name == plan.companies[0].name


def test_leadhunter_agents_work_under_a_sealed_agreement_and_one_waits_for_signing(demo_ctx):
    from saas.modules.agreements import queries as agreement_queries
    from saas.modules.agreements.models import Agreement, AgreementTemplate
    from saas.modules.seals.verify import verify_pdf
    from saas.modules.files import queries as stored_files

    _in_tenant("leadhunter")
    assignments = {a.active: a for a in db.session.scalars(sa.select(Assignment))}
    assert agreement_queries.covers_assignment(assignments[True])
    assert not agreement_queries.covers_assignment(assignments[False])
    statuses = sorted(a.status for a in db.session.scalars(sa.select(Agreement)))
    assert statuses == ["completed", "sent"]
    sealed = db.session.scalar(sa.select(Agreement).where(Agreement.status == "completed"))
    verdict = verify_pdf(stored_files.read(stored_files.get(sealed.sealed_file_id)))
    assert verdict.valid and verdict.tenant
    _in_tenant("kvgo")   # every tenant gets the shipped templates, published; only Leadhunter makes agreements here
    templates = db.session.scalars(sa.select(AgreementTemplate)).all()
    assert sorted((t.language, t.status) for t in templates) == [("en", "published"), ("nl", "published")]
    assert db.session.scalar(sa.select(sa.func.count(Agreement.id))) == 0
