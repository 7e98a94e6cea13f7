"""A bounded schemathesis run over the whole OpenAPI document, with an admin, a client and an agent token:
no 5xx, no answer outside the document (status, content type, body schema, headers such as X-Pagination),
and no answer that breaks need-to-know (a client never receives a person of another client organisation
or of none; an agent only people of the assignment it works on).

Every built-in check runs except "positive data acceptance": a schema cannot say that a referenced client
organisation must exist, that a category must be one of the tenant's plugins or that an IBAN needs a valid
checksum; those answer 422 with a message, as every write documents.

Bounded: SAAS_SCHEMATHESIS_EXAMPLES cases per operation and role (default 15), no shrinking, derandomised;
a few minutes on a 2-core machine. Path parameters are drawn from the ids of a small world (two client
organisations, their people, companies and assignments) plus an unknown id, so the item routes are reached.
"""
from __future__ import annotations

import os
import uuid
from collections import Counter
from dataclasses import dataclass, field

import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from schemathesis.specs.openapi.checks import positive_data_acceptance

from saas.core import tenancy
from saas.extensions import db

pytestmark = pytest.mark.slow

EXAMPLES = int(os.environ.get("SAAS_SCHEMATHESIS_EXAMPLES", "15"))
ROLES = ("admin", "client", "agent")
FIGURES: Counter = Counter()


@dataclass
class World:
    slug: str = ""
    org_a: uuid.UUID | None = None
    tokens: dict = field(default_factory=dict)
    ids: dict = field(default_factory=dict)          # path parameter name -> candidate ids
    agent_subjects: set = field(default_factory=set)  # what the agent may see
    client_subjects: set = field(default_factory=set)


def _build_world(app) -> World:
    from saas.api import tokens
    from saas.modules.accounts import operations as accounts
    from saas.modules.assignments.models import Assignment, AssignmentAgent, AssignmentSubject
    from saas.modules.clients.models import ClientOrganisation
    from saas.modules.companies.models import Company
    from saas.modules.subjects.models import DataSubject
    from saas.modules.tenants import operations as tenants

    world = World(slug=f"st-{uuid.uuid4().hex[:8]}")
    with app.app_context():
        tenancy.set_tenant(None)
        tenant, _ = tenants.upsert(world.slug, name="Schemathesis BV", plugins=["recruitment"])
        db.session.commit()
        users = {role: accounts.create_user(f"{role}-{uuid.uuid4().hex[:6]}@example.test", role.title(),
                                            uuid.uuid4().hex) for role in ROLES}
        db.session.commit()
        tenancy.set_tenant(tenant.id)
        org_a, org_b = ClientOrganisation(name="Klant A"), ClientOrganisation(name="Klant B")
        db.session.add_all([org_a, org_b])
        db.session.flush()
        for role, user in users.items():
            accounts.add_membership(tenant, user, role, org_a.id if role == "client" else None)
        people = {}
        for key, org in (("a", org_a), ("a2", org_a), ("b", org_b), ("none", None)):
            person = DataSubject(category="candidate", client_org_id=org.id if org else None)
            person.given_name, person.family_name, person.email = "Femke", f"de Vries {key}", f"{key}@example.test"
            db.session.add(person)
            people[key] = person
        companies = [Company(name="Bakkerij A", client_org_id=org_a.id), Company(name="Bakkerij B", client_org_id=org_b.id)]
        db.session.add_all(companies)
        db.session.flush()
        work = Assignment(client_org_id=org_a.id, title="Bellen A", active=True)
        other = Assignment(client_org_id=org_b.id, title="Bellen B", active=True)
        db.session.add_all([work, other])
        db.session.flush()
        db.session.add_all([AssignmentAgent(assignment_id=work.id, user_id=users["agent"].id),
                            AssignmentSubject(assignment_id=work.id, subject_id=people["a"].id),
                            AssignmentSubject(assignment_id=other.id, subject_id=people["b"].id)])
        db.session.flush()
        unknown = uuid.uuid4()
        world.org_a = org_a.id
        world.ids = {"subject_id": [people[k].id for k in people] + [unknown],
                     "company_id": [c.id for c in companies] + [unknown],
                     "assignment_id": [work.id, other.id, unknown],
                     "user_id": [users["agent"].id, users["client"].id, unknown],
                     "consent_id": [unknown]}
        world.agent_subjects = {str(people["a"].id)}
        world.client_subjects = {str(people["a"].id), str(people["a2"].id)}
        for role, user in users.items():
            world.tokens[role] = tokens.create(user, "schemathesis", 1)[1]
        db.session.commit()
        tenancy.set_tenant(None)
    return world


@pytest.fixture(scope="module")
def world(app) -> World:
    return _build_world(app)


@pytest.fixture(scope="module")
def api_schema(app, world):
    loaded = schemathesis.openapi.from_wsgi("/api/v1/openapi.json", app)

    @loaded.hook
    def flatmap_path_parameters(context, path_parameters):
        strategies = {name: st.sampled_from([str(i) for i in world.ids[name]]) for name in path_parameters
                      if name in world.ids}
        fixed = {**path_parameters, "tenant": world.slug} if "tenant" in path_parameters else dict(path_parameters)
        return st.fixed_dictionaries(strategies).map(lambda drawn: {**fixed, **drawn})

    return loaded


def _people_in(body) -> list[dict]:
    """Every object in a JSON answer that is a person (has a category and an id)."""
    found = []
    stack = [body]
    while stack:
        item = stack.pop()
        if isinstance(item, list):
            stack.extend(item)
        elif isinstance(item, dict):
            if "category" in item and "id" in item:
                found.append(item)
            stack.extend(v for v in item.values() if isinstance(v, (list, dict)))
    return found


def _check_need_to_know(role: str, world: World, response) -> None:
    if not 200 <= response.status_code < 300 or not response.content:
        return
    try:
        body = response.json()
    except ValueError:
        return
    for person in _people_in(body):
        if role == "client":
            assert person.get("client_org_id") == str(world.org_a), f"client received another organisation's person: {person['id']}"
        if role == "agent":
            assert person["id"] in world.agent_subjects or person.get("created_by_me"), \
                f"agent received a person outside its assignment: {person['id']}"


def _run_operation(operation, role: str, world: World) -> list[str]:
    """Up to EXAMPLES cases of one operation with one role's token; the failures found, as text."""
    failures: list[str] = []

    @given(case=operation.as_strategy())
    @settings(max_examples=EXAMPLES, deadline=None, derandomize=True, database=None,
              phases=[Phase.explicit, Phase.generate], suppress_health_check=list(HealthCheck))
    def run(case):
        FIGURES[(role, operation.label)] += 1
        response = case.call_and_validate(headers={"Authorization": f"Bearer {world.tokens[role]}"},
                                          excluded_checks=[positive_data_acceptance])
        _check_need_to_know(role, world, response)

    try:
        run()
    except (Exception, BaseExceptionGroup) as exc:  # noqa: BLE001 - every operation's failures, reported at the end
        failures.append(f"{role} {operation.label}: {exc}")
    return failures


@pytest.mark.parametrize("role", ROLES)
def test_the_api_keeps_its_contract(api_schema, world, role):
    operations = [result.ok() for result in api_schema.get_all_operations()]
    failures = [failure for operation in operations for failure in _run_operation(operation, role, world)]
    cases = sum(n for (r, _label), n in FIGURES.items() if r == role)
    print(f"\nschemathesis {role}: {len(operations)} operations, {cases} cases, {len(failures)} failing operations")
    assert not failures, "\n\n".join(failures)
