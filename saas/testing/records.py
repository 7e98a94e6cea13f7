"""Helpers for the tests of subjects, consents, companies and assignments (plain functions, no fixtures).

Each writes as the system in the tenant given, commits, and leaves the test's tenant context None:
- `in_tenant(tenant)`: a block run as that tenant, committed at the end.
- `make_agreement(tenant, status="completed", client_org_id=None)` -> agreement id.
- `make_assignment(tenant, client_org_id, agents=(), subjects=(), active=True, agreement_id=None,
  supervisor=None, title="Belcampagne")` -> assignment id (agents and supervisor are users).
- `add_note(tenant, assignment_id, subject_id, body)` -> call note id.
- `make_company(tenant, name="Bakkerij Jansen BV", **fields)` -> company id.
- `count(tenant, model, *conditions)` -> number of rows.
- `leadgen_tenant(make_tenant, agreement_per_assignment=True, work_queue=False)` -> a tenant with the leadgen sector.
"""
from __future__ import annotations

import contextlib
import uuid

import sqlalchemy as sa

from saas.core import tenancy
from saas.extensions import db


@contextlib.contextmanager
def in_tenant(tenant):
    db.session.commit()
    tenancy.set_tenant(tenant.id)
    try:
        yield
        db.session.commit()
    finally:
        db.session.rollback()
        tenancy.set_tenant(None)


def make_agreement(tenant, status: str = "completed", client_org_id=None) -> uuid.UUID:
    from saas.modules.agreements.models import Agreement, AgreementTemplate

    with in_tenant(tenant):
        template = AgreementTemplate(key=f"vo-{uuid.uuid4().hex[:8]}", language="nl", version=1, title="VO",
                                     body="Tekst", status="published")
        db.session.add(template)
        db.session.flush()
        agreement = Agreement(number=f"VO-{uuid.uuid4().hex[:8]}", template_id=template.id, tenant_role="processor",
                              counterparty_name="Opdrachtgever BV", status=status, client_org_id=client_org_id)
        db.session.add(agreement)
        agreement_id = agreement.id
    return agreement_id


def make_assignment(tenant, client_org_id, *, agents=(), subjects=(), active: bool = True, agreement_id=None,
                    supervisor=None, title: str = "Belcampagne") -> uuid.UUID:
    from saas.modules.assignments.models import Assignment, AssignmentAgent, AssignmentSubject

    with in_tenant(tenant):
        assignment = Assignment(client_org_id=client_org_id, title=title, active=active, agreement_id=agreement_id,
                                supervisor_id=supervisor.id if supervisor is not None else None)
        db.session.add(assignment)
        db.session.flush()
        db.session.add_all(AssignmentAgent(assignment_id=assignment.id, user_id=user.id) for user in agents)
        db.session.add_all(AssignmentSubject(assignment_id=assignment.id, subject_id=getattr(s, "id", s))
                           for s in subjects)
        assignment_id = assignment.id
    return assignment_id


def add_note(tenant, assignment_id, subject_id, body: str) -> uuid.UUID:
    from saas.modules.assignments.models import CallNote

    with in_tenant(tenant):
        note = CallNote(assignment_id=assignment_id, subject_id=subject_id)
        note.body = body
        db.session.add(note)
        note_id = note.id
    return note_id


def make_company(tenant, name: str = "Bakkerij Jansen BV", **fields) -> uuid.UUID:
    from saas.modules.companies.models import Company

    with in_tenant(tenant):
        company = Company(name=name, **fields)
        db.session.add(company)
        company_id = company.id
    return company_id


def count(tenant, model, *conditions) -> int:
    with in_tenant(tenant):
        return db.session.scalar(sa.select(sa.func.count()).select_from(model).where(*conditions))


def leadgen_tenant(make_tenant, agreement_per_assignment: bool = True, work_queue: bool = False):
    """A leadgen tenant. `work_queue` off by default: most tests are about the assignment-level rules, which
    the work queue (agents see only records checked out to them) narrows further; its tests switch it on."""
    return make_tenant(plugins=["leadgen"], settings={"leadgen": {
        "verify_after_months": 6, "purge_unverified_after_months": 12, "delete_when_contact_left": True,
        "agreement_per_assignment": agreement_per_assignment, "work_queue": work_queue}})
