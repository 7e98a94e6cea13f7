"""Reads of imports. An import is seen by whoever may import (the matrix: admin, supervisor, client) and sees
its assignment (need-to-know: a client only its own organisation's, a supervisor those they supervise).
Another client's or tenant's import answers 404."""
from __future__ import annotations

import sqlalchemy as sa

from saas.core.web import get_or_404
from saas.extensions import db
from saas.access import policy as access
from saas.access import scopes
from saas.modules.assignments.models import Assignment
from saas.modules.imports import messages
from saas.modules.imports.models import ImportRun

LIST_LIMIT = 50


def find_import(import_id) -> ImportRun:
    run = get_or_404(ImportRun, import_id)
    assignment = db.session.get(Assignment, run.assignment_id)
    membership = access.current_membership()
    if assignment is None or not scopes.can_see_assignment(membership, assignment):
        access.refuse("import", "person", run.id)
    return run


def find_assignment_for_import(assignment_id) -> Assignment:
    assignment = get_or_404(Assignment, assignment_id)
    if not scopes.can_see_assignment(access.current_membership(), assignment) or not assignment.active:
        access.refuse("import", "person", assignment.id)
    return assignment


def importable_assignments(membership) -> list[Assignment]:
    """The active assignments this member may upload into."""
    return list(db.session.scalars(sa.select(Assignment).where(
        Assignment.active.is_(True), *scopes.assignment_conditions(membership)).order_by(Assignment.title)))


def list_imports(membership) -> list[tuple[ImportRun, str]]:
    return list(db.session.execute(
        sa.select(ImportRun, Assignment.title).join(Assignment, Assignment.id == ImportRun.assignment_id)
        .where(*scopes.assignment_conditions(membership))
        .order_by(ImportRun.created_at.desc(), ImportRun.id).limit(LIST_LIMIT)).all())


def assignment_title(run: ImportRun) -> str:
    return db.session.scalar(sa.select(Assignment.title).where(Assignment.id == run.assignment_id)) or ""


def report_rows(run: ImportRun) -> list[tuple[int, int, str, str]]:
    """(row, column, code, reason in the reader's language): no values."""
    return [(row, column, code, messages.row_message(code)) for row, column, code in (run.problems or [])]
