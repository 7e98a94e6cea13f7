"""Writes of data subjects. Callers commit (the API does at the end of a successful request).

Each write checks the current member's role (agents read only; a client user works only in its own
client organisation) and leaves an audit line with ids, never the personal data itself. Values are
checked together before anything is written: a `SubjectRejected` leaves the session as it was.
"""
from __future__ import annotations

from flask_babel import lazy_gettext as _l

from saas.core.tenancy import require_tenant_id
from saas.extensions import db
from saas.access import scopes
from saas.modules.audit import operations as audit
from saas.modules.erasure import operations as erasure
from saas.modules.erasure.operations import ErasureOutcome
from saas.modules.retention import suppression
from saas.modules.subjects import queries
from saas.modules.subjects.models import DataSubject
from saas.modules.subjects.schemas import LIFECYCLE_DATES, Rejected, lifecycle_problems
from saas.modules.tenants.models import Tenant
from saas.plugins.manager import current_registry

RIGHTS_REQUEST = "rights_request"    # why an erasure asked through the portal or the API happens
# Everything the combined checks look at: these and the lifecycle values of the registry.
_CHECKED = ("category", "email", "phone", *LIFECYCLE_DATES)


class SubjectRejected(Rejected):
    """A subject's values break a rule."""


def _check_client_org(action: str, data: dict, object_id=None) -> dict:
    """A client user's subjects always belong to its own organisation."""
    member = queries.viewer()
    if scopes.own_client_org(member) is None:
        return data
    requested = data.get("client_org_id", member.client_org_id)
    if requested != member.client_org_id:
        queries.refuse(action, object_id, status=403,
                       message="a client user can only keep subjects of its own client organisation")
    return {**data, "client_org_id": member.client_org_id}


def _suppression_problems(values: dict) -> dict:
    """A prospect who asked to be left alone may not come back (seed 004: suppressed for future
    assignments). Checked on the blind indexes only."""
    if not current_registry().category_flag(values.get("category") or "", "suppressed_may_not_return"):
        return {}
    if not suppression.is_suppressed(email=values.get("email"), phone=values.get("phone")):
        return {}
    return {"email": [_l("This person asked not to be contacted again (suppression list): "
                         "they cannot be added as a prospect.")]}


def _coverage_problems(values: dict) -> dict:
    """A person may only be recorded in a category of the tenant's plugins that a retention rule of the
    tenant keeps: otherwise nothing would ever end their record. Checked here, so the portal, the API and every import get it."""
    tenant = db.session.get(Tenant, require_tenant_id())
    registry, plugins = current_registry(), tenant.plugins or []
    category = values.get("category")
    if category not in registry.categories(plugins):
        return {"category": [_l("This organisation's sectors have no such category.")]}
    if category in registry.uncovered_categories(plugins, tenant.retention or {}):
        return {"category": [_l("No retention rule of this organisation covers this category, so nobody can be "
                                "recorded in it. Ask an administrator to add a rule for it.")]}
    return {}


def check_values(values: dict, *, changed=None) -> None:
    """Raise `SubjectRejected` for values that break a rule taken together. `changed`: the fields being
    written now (the suppression list and the retention rules' coverage are consulted when the category
    changes, the suppression list also when the email or phone does)."""
    errors = lifecycle_problems(values)
    if changed is None or "category" in changed:
        for name, messages in _coverage_problems(values).items():
            errors.setdefault(name, []).extend(messages)
    if changed is None or {"category", "email", "phone"} & set(changed):
        for name, messages in _suppression_problems(values).items():
            errors.setdefault(name, []).extend(messages)
    if errors:
        raise SubjectRejected(errors)


def _scope_problems(subject: DataSubject | None, data: dict) -> dict:
    """Values that would take a person out of the writer's sight or break an assignment: an HR file is kept by
    the board only (seed 004, section 9), a supervisor keeps only the people of the client organisations they
    supervise an assignment for and the tenant's own (section 3), and a person in assignments keeps their client
    organisation (the people of an assignment belong to its client organisation)."""
    problems: dict[str, list] = {}
    category = data.get("category", subject.category if subject is not None else None)
    if category is not None and not scopes.category_in_scope(queries.viewer(), category):
        problems["category"] = [_l("Records in this category are kept by the board only (HR files), and the "
                                   "board keeps nothing else.")]
    if (subject is None or "client_org_id" in data) and not scopes.client_org_in_scope(
            queries.viewer(), data.get("client_org_id")):
        problems["client_org_id"] = [_l("You can only keep people of a client organisation whose assignment you "
                                        "supervise, or people of no client organisation.")]
    elif (subject is not None and "client_org_id" in data and data["client_org_id"] != subject.client_org_id
            and scopes.assignment_count_of_subject(subject)):
        problems["client_org_id"] = [_l("This person is in assignments of their client organisation: take them "
                                        "off those assignments before moving them to another organisation.")]
    return problems


def create_subject(data: dict) -> DataSubject:
    """`data` is validated by `schemas.SubjectCreate` (or the form)."""
    queries.require_write("subject.create")
    data = _check_client_org("subject.create", dict(data))
    problems = _scope_problems(None, data)
    if problems:
        raise SubjectRejected(problems)
    check_values(data)
    subject = DataSubject(**data)
    db.session.add(subject)
    db.session.flush()
    audit.record("subject.create", "data_subject", subject.id, detail={"category": subject.category})
    return subject


def update_subject(subject: DataSubject, data: dict) -> DataSubject:
    """`data` holds only the fields to change (validated by `schemas.SubjectUpdate`)."""
    queries.require_write("subject.update", subject.id)
    if "client_org_id" in data:
        data = _check_client_org("subject.update", dict(data), subject.id)
    problems = _scope_problems(subject, data)
    if problems:
        raise SubjectRejected(problems)
    check_values({**{name: getattr(subject, name) for name in _CHECKED}, **data}, changed=data)
    for name, value in data.items():
        setattr(subject, name, value)
    db.session.flush()
    audit.record("subject.update", "data_subject", subject.id, detail={"fields": sorted(data)})
    return subject


def erase_subject(subject: DataSubject) -> ErasureOutcome:
    """Erase on a rights request (art. 17), through the one erasure path: what a running legal hold keeps
    stays, restricted, with the reason; the rest goes, the key last. Commits (see `saas.modules.erasure`)."""
    queries.require_write("subject.delete", subject.id)
    return erasure.erase_subject(subject, reason=RIGHTS_REQUEST)
