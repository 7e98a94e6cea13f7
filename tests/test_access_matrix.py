"""Every rule of the URL map, portal and API, times every role, held against the access policy's matrix.

A route that neither declares a requirement (`@access.requires`) nor is listed as public fails. Then each
rule is requested as each role, with real records for its URL parameters (records the role may see, so
need-to-know does not hide them): a role the matrix allows must not get 404 (nor a 5xx), a role it denies
must get 404. Requests that change something get fresh records of their own.
"""
from __future__ import annotations

import re
import uuid

import pytest
import sqlalchemy as sa

from saas.core import tenancy
from saas.extensions import db
from saas.access import policy
from saas.testing.fixtures_api import bearer
from saas.testing.fixtures_web import find_csrf_token
from saas.testing.records import in_tenant, make_agreement, make_assignment, make_company

SKIPPED_METHODS = {"HEAD", "OPTIONS"}
# URL parameters without a practical fixture: only the denied roles are checked for routes with them (an
# unknown id is 404 for every role, so "allowed => not 404" cannot be told apart). Each is admin-only.
NO_FIXTURE = {
    "job_id": "an RQ job in Redis (jobs_admin is covered by tests/test_jobs_admin.py)",
    "mail_id": "an outbox mail (covered by tests/test_outbox_views.py)",
    "invitation_id": "a member invitation (covered by tests/test_accounts_invitations.py)",
    "sub_id": "a sub-processor of an agreement (covered by tests/test_agreements_subprocessors.py)",
    "token_id": "a member's own API token (covered by tests/test_tokens_portal.py)",
    "document_id": "a document of a person (covered by tests/test_documents.py; staff and board)",
}
# Endpoints whose record answers 404 until it reaches a state (a PDF rendered or sealed by a job): only the
# denied roles are checked (agreements' PDFs are covered by tests/test_agreements_views.py).
NEEDS_STATE = {"agreements.document": "the agreement's rendered PDF", "agreements.sealed": "the sealed PDF",
               "databases.agreement_pdf": "the sealed PDF of the assignment's agreement"}
_PARAM = re.compile(r"<(?:[a-z_]+:)?([a-z_]+)>")


def _rules(app):
    for rule in sorted(app.url_map.iter_rules(), key=lambda r: (r.rule, r.endpoint)):
        for method in sorted(rule.methods - SKIPPED_METHODS):
            yield rule, method


def test_every_route_is_public_or_declares_a_requirement(app):
    undeclared, public_in_tenant = [], []
    for rule, method in _rules(app):
        if rule.endpoint in policy.PUBLIC_ENDPOINTS:
            if rule.rule.startswith("/<tenant>/"):   # a tenant's pages are for its members only
                public_in_tenant.append(rule.rule)
            continue
        if policy.requirement_of(app.view_functions[rule.endpoint], method) is None:
            undeclared.append(f"{method} {rule.rule} ({rule.endpoint})")
    assert undeclared == [], "routes without an access requirement: " + ", ".join(undeclared)
    assert public_in_tenant == []
    stale = policy.PUBLIC_ENDPOINTS - {rule.endpoint for rule in app.url_map.iter_rules()}
    assert stale == set(), f"public endpoints that no longer exist: {stale}"


def test_the_matrix_names_only_known_roles_actions_and_kinds():
    for kind, actions in policy.MATRIX.items():
        assert kind in policy.KINDS
        for action, roles in actions.items():
            assert action in policy.ACTIONS and roles <= set(policy.ROLES), (kind, action)
    with pytest.raises(ValueError):
        policy.requires("fly", "person")


class World:
    """One member per role, logged in to the portal and holding an API token, and records they may see."""

    def __init__(self, tenant, make_user, make_token, make_client_org, browser_as):
        self.tenant = tenant
        self.make_user = make_user
        self.org = make_client_org(tenant)
        self.users, self.tokens, self.browsers, self.csrf = {}, {}, {}, {}
        for role in policy.ROLES:
            user, password = make_user(role=role, client_org=self.org if role == "client" else None)
            self.users[role] = user
            self.tokens[role] = make_token(user, tenant)
            browser = browser_as(user, password)
            self.browsers[role] = browser
            self.csrf[role] = find_csrf_token(browser.get(f"/{tenant.slug}/").get_data(as_text=True))
        self._shared = {}

    def values(self, role: str, fresh: bool) -> dict:
        """URL values for `role`: shared ones for reads, new records for a request that changes something."""
        if not fresh and role in self._shared:
            return self._shared[role]
        values = self._bundle(role)
        if not fresh:
            self._shared[role] = values
        return values

    def _bundle(self, role: str) -> dict:
        from saas.modules.accounts.models import Membership
        from saas.modules.consents import operations as consents
        from saas.modules.retention.models import SweepRun
        from saas.modules.subjects.models import DataSubject

        tenant = self.tenant
        company_id = make_company(tenant, name=f"Bedrijf {uuid.uuid4().hex[:6]}", client_org_id=self.org.id)
        with in_tenant(tenant):
            # The board's records are HR files; everyone else's a prospect of the client organisation.
            category, org_id = ("employee", None) if role == policy.BOARD else ("prospect", self.org.id)
            person = DataSubject(category=category, client_org_id=org_id, given_name="Matrix",
                                 family_name=uuid.uuid4().hex[:6], company_id=company_id)
            db.session.add(person)
            db.session.flush()
            consent = consents.give_consent(person, "nieuwsbrief", "consent", "Ja, graag.", "web")
            run = SweepRun(as_of=tenancy_today(), dry_run=True, trigger="portal", status="finished")
            db.session.add(run)
            db.session.flush()
            person_id, consent_id, run_id = person.id, consent.id, run.id
            rights_request_id = _rights_request()
        agreement_id = make_agreement(tenant, "draft", self.org.id)
        with in_tenant(tenant):
            from saas.modules.agreements.models import Agreement
            template_id = db.session.get(Agreement, agreement_id).template_id
        assignment_id = make_assignment(tenant, self.org.id, agents=[self.users["agent"]], subjects=[person_id],
                                        supervisor=self.users["supervisor"])
        with in_tenant(tenant):
            from saas.core import clock
            from saas.modules.imports.models import ImportRun
            # A finished import of the assignment's client (its report, status and undo need no file).
            run = ImportRun(assignment_id=assignment_id, client_org_id=self.org.id, file_kind="csv", status="done",
                            counts={"rows_read": 1}, problems=[], mapping={}, error_detail={}, finished_at=clock.now())
            db.session.add(run)
            import_id = run.id
        extra, _password = self.make_user(role="agent")  # a member the admin may remove or change
        with in_tenant(tenant):
            membership_id = db.session.scalar(sa.select(Membership.id).where(Membership.user_id == extra.id))
        return {"tenant": tenant.slug, "subject_id": person_id, "consent_id": consent_id, "company_id": company_id,
                "assignment_id": assignment_id, "user_id": self.users["agent"].id, "agreement_id": agreement_id,
                "template_id": template_id, "run_id": run_id, "membership_id": membership_id,
                "request_id": rights_request_id, "import_id": import_id,
                "client_org_id": self.org.id}


def _rights_request():
    """A rights request received today (no mail: the row only), inside the caller's tenant transaction."""
    from saas.core import clock
    from saas.modules.rights.models import RightsRequest

    today = clock.today()
    row = RightsRequest(kind="access", channel="phone", status="received", locale="nl", received_on=today,
                        legal_due_on=today, target_due_on=today, code_attempts=0, outcome={})
    db.session.add(row)
    db.session.flush()
    return row.id


def tenancy_today():
    from saas.core import clock

    return clock.today()


def _request(world: World, role: str, rule, method: str, values: dict):
    path = _PARAM.sub(lambda m: str(values.get(m.group(1), uuid.uuid4())), rule.rule)
    if rule.rule.startswith("/api/"):
        body = {"json": {}} if method in ("POST", "PATCH", "PUT") else {}
        return world.browsers[role].open(path, method=method, headers=bearer(world.tokens[role]), **body)
    data = {"csrf_token": world.csrf[role]} if method != "GET" else None
    return world.browsers[role].open(path, method=method, data=data)


def test_every_route_answers_every_role_as_the_matrix_says(app, web_tenant, make_user, make_token,
                                                           make_client_org, browser_as):
    world = World(web_tenant, make_user, make_token, make_client_org, browser_as)
    tenancy.set_tenant(None)
    wrong, checked, routes = [], 0, set()
    for rule, method in _rules(app):
        if rule.endpoint in policy.PUBLIC_ENDPOINTS:
            continue
        routes.add((rule.rule, method))
        requirement = policy.requirement_of(app.view_functions[rule.endpoint], method)
        params = set(_PARAM.findall(rule.rule)) - {"tenant"}
        for role in policy.ROLES:
            allowed = policy.allowed(role, requirement.action, requirement.kind)
            if allowed and (params & set(NO_FIXTURE) or rule.endpoint in NEEDS_STATE):
                continue
            values = world.values(role, fresh=allowed and method != "GET")
            response = _request(world, role, rule, method, values)
            checked += 1
            status = response.status_code
            if allowed and (status == 404 or status >= 500):
                wrong.append(f"{role} {method} {rule.rule}: {status}, allowed by {requirement}")
            if not allowed and status != 404:
                wrong.append(f"{role} {method} {rule.rule}: {status}, denied by {requirement}")
    print(f"matrix: {len(routes)} route-methods x {len(policy.ROLES)} roles, {checked} requests")
    assert wrong == [], "\n".join(wrong)
    assert len(routes) > 100 and checked > 400
