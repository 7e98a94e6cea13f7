"""The one access policy: which role may do which action to which kind of record (issue 9, DESIGN.md 3).

Two layers, both decided here and nowhere else:

1. The matrix (`MATRIX`): role x action x kind. A portal view or API endpoint declares what it does with
   `@requires(action, kind)`; a role outside the matrix gets 404 and an audited refusal ("denied").
2. Need-to-know on records (`can(membership, action, record)`): the matrix first, then the record's scope
   from `saas.access.scopes` (client organisation, supervised or open assignment, HR records).

Roles (seed 004, section 3 and 9):
- admin: the system administrator ("systeembeheerder"): everything of the tenant except HR files; manages
  members, client organisations, agreements, retention, outbox, jobs and the audit trail.
- supervisor ("opdrachtbegeleider"): the assignments they supervise; the people of those assignments' client
  organisations ("in zijn geheel", section 3: the supervisor of the assignment, not every supervisor) and the
  tenant's own relations (no client organisation), except HR files.
- agent ("call-agent"): only the usable people and notes of the assignments open for them right now.
- client: only the records of its own client organisation ("its own database": view, change, download).
- board ("bestuurders van de Cooperatie"): HR files. Seed 004 section 9: employees' files "zijn alleen
  zichtbaar voor de bestuurders". So a person in an HR category (`HR_CATEGORIES`) is seen, changed and
  erased by the board only; the system administrator does not read them (section 9 names no one else,
  unlike section 3, which names the system administrator explicitly). The board sees nothing else.

Erasing a person: admin (and the board, for HR files only: they are the only ones who see them). The
erasure itself is one operation elsewhere; this module only decides who may call it.

`membership` None means system code (jobs, commands): the whole tenant, no role checks.
"""
from __future__ import annotations

import functools
import uuid
from dataclasses import dataclass

from flask import abort, g, request

from saas.access.roles import ADMIN, AGENT, BOARD, CLIENT, ROLES, SUPERVISOR
ACTIONS = ("list", "view", "create", "edit", "erase", "export", "import", "verify", "note", "sign", "manage")
# Personal data kinds first, then what only admins (and some supervisors) manage.
KINDS = ("person", "call_note", "client_database", "company", "assignment", "client_org", "consent", "agreement",
         "file", "document", "template", "member", "audit", "outbox", "job", "retention", "sweep", "dashboard",
         "account", "rights_request", "register")

_ALL = frozenset(ROLES)
_STAFF = frozenset({ADMIN, SUPERVISOR})
_WORKERS = frozenset({ADMIN, SUPERVISOR, AGENT})
_ASSIGNMENT_READERS = frozenset({ADMIN, SUPERVISOR, AGENT, CLIENT})
_OWNERS = frozenset({ADMIN, SUPERVISOR, CLIENT, BOARD})  # keep a database of their own (seed 004 s.3)
_ADMIN = frozenset({ADMIN})
# Seed 004 s.3: "Een door de opdrachtgever geüploade database is in zijn geheel alleen in te zien door de
# opdrachtgever, door de interne opdrachtbegeleider van Leadhunter en door de systeembeheerder" and "De
# opdrachtgever kan te allen tijde zijn/haar eigen database inzien, downloaden, aanpassen of verwijderen".
_DATABASE_READERS = frozenset({ADMIN, SUPERVISOR, CLIENT})

MATRIX: dict[str, dict[str, frozenset[str]]] = {
    "person": {
        "list": _ALL, "view": _ALL,
        "create": _OWNERS, "edit": _OWNERS, "export": _OWNERS,
        "import": frozenset({ADMIN, SUPERVISOR, CLIENT}),
        "erase": frozenset({ADMIN, BOARD}),
        "verify": _WORKERS,
    },
    "call_note": {"list": _ASSIGNMENT_READERS, "view": _ASSIGNMENT_READERS, "create": _WORKERS},
    # A client organisation's whole database (issue 11): seen and downloaded by the client, the supervisor of
    # its assignments and the administrator; deleted (through the erasure path) by the client and the admin.
    "client_database": {"view": _DATABASE_READERS, "export": _DATABASE_READERS, "erase": frozenset({ADMIN, CLIENT})},
    "assignment": {
        "list": _ASSIGNMENT_READERS, "view": _ASSIGNMENT_READERS,
        # Seed 004 s.4.3: "De opdrachtgever kan de opdracht verwijderen, dan worden ook de gespreksverslagen
        # verwijderd": the client deletes its own assignments too (scopes: only its own organisation's).
        "create": _STAFF, "edit": _STAFF, "erase": _DATABASE_READERS, "manage": _STAFF,
        "note": _WORKERS, "export": frozenset({ADMIN, SUPERVISOR, CLIENT}),
    },
    "company": {
        "list": _ASSIGNMENT_READERS, "view": _ASSIGNMENT_READERS,
        "create": _STAFF, "edit": _STAFF, "verify": _WORKERS, "erase": _ADMIN,
    },
    "client_org": {"list": _ADMIN, "view": _ADMIN, "create": _ADMIN, "edit": _ADMIN},
    "consent": {
        "list": _ALL, "view": _ALL,
        "create": frozenset({ADMIN, SUPERVISOR, BOARD}), "edit": frozenset({ADMIN, SUPERVISOR, BOARD}),
    },
    "agreement": {
        "list": _STAFF, "view": _STAFF, "export": _STAFF,
        "create": _ADMIN, "edit": _ADMIN, "sign": _ADMIN, "erase": _ADMIN,
    },
    "file": {"view": _STAFF},
    # Documents kept with a person (issue 17): staff and the board; need-to-know by the person and, for
    # board-only types (staff files, talk notes, seed 004 s.9), `scopes.document_conditions`.
    "document": {"list": _STAFF | {BOARD}, "view": _STAFF | {BOARD}, "create": _STAFF | {BOARD},
                 "edit": _STAFF | {BOARD}, "erase": _STAFF | {BOARD}},
    "template": {"list": _STAFF, "view": _STAFF, "create": _ADMIN, "edit": _ADMIN},
    "member": {"manage": _ADMIN},
    "audit": {"list": _ADMIN, "view": _ADMIN},
    "outbox": {"manage": _ADMIN},
    "job": {"view": _ALL, "manage": _ADMIN},  # view: the progress of a job (counts, no personal data)
    "retention": {"view": _WORKERS, "manage": _ADMIN},
    "sweep": {"view": _STAFF, "create": _ADMIN},
    "dashboard": {"view": _ALL},
    "account": {"view": _ALL},
    # Rights requests (issue 12): answering them is the controller's duty, handled by its administrator / DPO
    # (seed 002 s.2.8 "Functionaris Gegevensbescherming"; seed 004 s.7 answers after checking authenticity).
    # The answer reads every database of the tenant, so no other role handles them.
    "rights_request": {"list": _ADMIN, "view": _ADMIN, "create": _ADMIN, "edit": _ADMIN, "export": _ADMIN},
    # The art. 30 registers describe every processing of the organisation and answer to the supervisory
    # authority: the system administrator keeps them (seed 002 s.2.3: "Cliënt ICT Groep onderhoud een
    # verwerkingsregister"); supervisors see the processing of their assignments, not the whole organisation's.
    "register": {"view": _ADMIN, "export": _ADMIN},
}

# Routes anyone may open without a tenant membership: each checks its own secret (a signing, consent or
# objection token) or shows nothing personal. Everything else must declare a requirement.
PUBLIC_ENDPOINTS = frozenset({
    "static", "accounts.home", "accounts.login", "accounts.logout", "accounts.set_locale",
    "seals.verify", "seals.ca_certificate", "consents_public.answer", "agreements_public.objection",
    "signing.start", "signing.code", "signing.send_code", "signing.decline", "signing.document",
    "signing.done", "signing.review", "signing.sign", "api-docs.openapi_json",
    # The signed-in user's own account (no tenant's data): second factor, password, two-factor set-up.
    "accounts.account.second_factor", "accounts.account.overview", "accounts.account.password",
    "accounts.account.two_factor", "accounts.account.two_factor_confirm", "accounts.account.recovery_codes",
    "accounts.account.two_factor_disable", "accounts.account.forgot_password", "accounts.account.reset_password",
    "accounts.account.reset_password_form",
    # An invitation link: the person is not a member until they accept it.
    "accounts.invite.open", "accounts.invite.accept",
    # A tenant's public rights-request form, its code page and the expiring download link of an answer
    # (each checks its own code; none says whether the tenant holds data about anyone).
    "rights_public.form", "rights_public.confirm", "rights_public.download",
    "rights_public.page_ask", "rights_public.page",
})


def _check_known(action: str, kind: str) -> None:
    if kind not in MATRIX or action not in ACTIONS:
        raise ValueError(f"unknown access requirement {action!r} on {kind!r}")


def allowed(role: str | None, action: str, kind: str) -> bool:
    """The matrix: may this role ever do `action` on this kind of record?"""
    _check_known(action, kind)
    return role in MATRIX[kind].get(action, frozenset())


def roles_for(action: str, kind: str) -> frozenset[str]:
    _check_known(action, kind)
    return MATRIX[kind].get(action, frozenset())


def current_membership():
    return getattr(g, "membership", None)


# How refusals are named in the audit trail (the names the audit log used before this module).
_AUDIT_KINDS = {"person": "subject"}
_AUDIT_VERBS = {"edit": "update", "erase": "delete"}
_AUDIT_OBJECT_TYPES = {"person": "data_subject"}


def refusal_name(action: str, kind: str) -> str:
    return f"{_AUDIT_KINDS.get(kind, kind)}.{_AUDIT_VERBS.get(action, action)}"


def refuse(action: str, kind: str, object_id=None, *, audit_as: str | None = None):
    """Stop the request with 404 and keep an audited refusal: nothing is revealed, not even that the
    record exists. `audit_as` names the refusal in the audit trail (default: kind.action)."""
    from saas.modules.audit import operations as audit

    audit.record_refusal(audit_as or refusal_name(action, kind), _AUDIT_OBJECT_TYPES.get(kind, kind), object_id)
    abort(404)


@dataclass(frozen=True)
class Requirement:
    action: str
    kind: str


def requires(action: str, kind: str, **by_method: tuple[str, str]):
    """Declare what an endpoint does; a member whose role may not do it gets 404 (audited).

        @access.requires("view", "template", POST=("edit", "template"))

    The requirement is kept on the view (`access_requirements`, by HTTP method) so the route-by-role
    test can hold every URL rule against the matrix."""
    default = Requirement(action, kind)
    _check_known(action, kind)
    per_method = {method.upper(): Requirement(*pair) for method, pair in by_method.items()}
    for requirement in per_method.values():
        _check_known(requirement.action, requirement.kind)

    def decorator(view):
        @functools.wraps(view)
        def wrapper(*args, **kwargs):
            requirement = per_method.get(request.method, default)
            membership = current_membership()
            if membership is None or not allowed(membership.role, requirement.action, requirement.kind):
                refuse(requirement.action, requirement.kind, _record_id(kwargs))
            return view(*args, **kwargs)

        wrapper.access_requirements = {"*": default, **per_method}
        return wrapper

    return decorator


def _record_id(url_values: dict) -> str | None:
    """The id of the record a refused request was about (the first id in its URL), for the audit line; only
    a well-formed UUID is kept, so nothing a caller typed ends up in the log."""
    for name, value in url_values.items():
        if name.endswith("_id"):
            try:
                return str(uuid.UUID(str(value)))
            except ValueError:
                return None
    return None


def requirement_of(view_function, method: str) -> Requirement | None:
    """The requirement declared on an endpoint for one HTTP method (MethodView classes per method)."""
    view_class = getattr(view_function, "view_class", None)
    if view_class is not None:
        handler = getattr(view_class, method.lower(), None)
        if handler is None and method == "HEAD":
            handler = getattr(view_class, "get", None)
        declared = getattr(handler, "access_requirements", None)
    else:
        declared = getattr(view_function, "access_requirements", None)
    if declared is None:
        return None
    return declared.get(method, declared.get("GET" if method == "HEAD" else method, declared["*"]))


def can(membership, action: str, target) -> bool:
    """May `membership` do `action` on `target`: a kind (str: the matrix only) or a record (the matrix,
    then need-to-know on that record). System code (membership None) may do everything."""
    from saas.access import scopes

    if membership is None:
        return True
    kind = target if isinstance(target, str) else scopes.kind_of(target)
    if not allowed(membership.role, action, kind):
        return False
    if isinstance(target, str):
        return True
    return scopes.in_scope(membership, action, target)


def require(action: str, target, *, audit_as: str | None = None) -> None:
    """`can` for the current member (None outside a request: system code), or 404 with an audited refusal."""
    from flask import has_request_context

    membership = current_membership() if has_request_context() else None
    if has_request_context() and membership is None:
        abort(404)
    if not can(membership, action, target):
        kind = target if isinstance(target, str) else scopes_kind(target)
        refuse(action, kind, getattr(target, "id", None), audit_as=audit_as)


def scopes_kind(record) -> str:
    from saas.access import scopes

    return scopes.kind_of(record)


def may_choose_supervisor(membership) -> bool:
    """Only an administrator hands an assignment to a supervisor; a supervisor supervises what it makes."""
    return membership is None or membership.role == ADMIN


def sees_whole_tenant(membership) -> bool:
    """Staff who see every client organisation (and so may be shown their names)."""
    return membership is None or membership.role in (ADMIN, SUPERVISOR)
