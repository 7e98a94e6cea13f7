"""`saas demo seed`: every demo tenant filled, the same data every time, never twice."""
from __future__ import annotations

import random

import sqlalchemy as sa

from saas.cli import cli
from saas.core import clock, tenancy
from saas.extensions import db
from saas.modules.accounts.models import ROLES, Membership, User
from saas.modules.clients.models import ClientOrganisation
from saas.modules.demo import operations as demo
from saas.modules.subjects.models import DataSubject
from saas.modules.tenants.queries import get_by_slug
from saas.testing.fixtures_demo import DEMO_TODAY
from saas.testing.fixtures_web import find_csrf_token


def _in_tenant(slug: str):
    tenant = get_by_slug(slug)
    db.session.commit()
    tenancy.set_tenant(tenant.id)
    return tenant


def _counts():
    subjects = db.session.scalar(sa.select(sa.func.count(DataSubject.id)))
    roles = dict(db.session.execute(sa.select(Membership.role, sa.func.count()).group_by(Membership.role)).all())
    orgs = db.session.scalar(sa.select(sa.func.count(ClientOrganisation.id)))
    return subjects, roles, orgs


def _stored_people():
    subjects = db.session.scalars(sa.select(DataSubject)).all()
    return sorted(
        (s.category, s.given_name, s.family_name, s.email, s.phone, s.job_title, s.city, s.notes, s.last_contact_on)
        for s in subjects
    )


def _planned_people(plan):
    return sorted(
        (p.category, p.given_name, p.family_name, p.email, p.phone, p.job_title, p.city, p.notes, p.last_contact_on)
        for p in plan.subjects
    )


def test_every_demo_tenant_has_every_role_and_hundreds_of_subjects(demo_ctx):
    assert [t.slug for t in demo.demo_tenants()] == list(demo.DEMO_TENANTS)
    for slug in demo.DEMO_TENANTS:
        tenant = _in_tenant(slug)
        subjects, roles, orgs = _counts()
        assert subjects >= 200, slug
        assert set(roles) == set(ROLES), slug
        assert orgs >= 2, slug
        clients = db.session.scalars(sa.select(Membership).where(Membership.role == "client")).all()
        assert clients and all(m.client_org_id is not None for m in clients)
        categories = set(db.session.scalars(sa.select(DataSubject.category).distinct()))
        assert categories == set(demo.categories_for(tenant.plugins)), slug


def test_categories_follow_the_plugins_of_the_tenant(demo_ctx):
    assert set(demo.categories_for(get_by_slug("leadhunter").plugins)) >= {"prospect", "applicant"}
    assert "candidate" in demo.categories_for(get_by_slug("client-ict").plugins)
    assert set(demo.categories_for(get_by_slug("kvgo").plugins)) >= {"member", "relation"}
    assert set(demo.categories_for(get_by_slug("zest").plugins)) >= {"crm_contact", "training_participant"}


def test_people_are_dutch_and_contact_dates_plausible(demo_ctx):
    _in_tenant("kantoor")
    subjects = db.session.scalars(sa.select(DataSubject)).all()
    assert all(s.email and "@" in s.email and s.family_name for s in subjects)
    assert all(s.last_contact_on <= DEMO_TODAY for s in subjects)
    current = [s for s in subjects if s.relationship_ended_on is None or s.relationship_ended_on > DEMO_TODAY]
    assert all((DEMO_TODAY - s.last_contact_on).days <= demo.MAX_CONTACT_AGE_DAYS for s in current)
    # A former client's last contact is no later than the end of the relationship.
    assert all(s.last_contact_on <= s.relationship_ended_on for s in subjects if s not in current)
    assert len({s.last_contact_on for s in subjects}) > 50
    assert any(s.phone.startswith(("0", "+31", "(0")) for s in subjects)


def test_the_plan_is_the_same_every_time_and_differs_per_tenant(ctx):   # categories come from the plugin registry
    first = demo.plan_tenant("zest", ["consultancy"], DEMO_TODAY)
    assert first == demo.plan_tenant("zest", ["consultancy"], DEMO_TODAY)
    assert first.subjects != demo.plan_tenant("kvgo", ["consultancy"], DEMO_TODAY).subjects


def test_stored_data_is_the_plan_and_a_reset_gives_it_again(demo_ctx):
    tenant = _in_tenant("kantoor")
    before = _stored_people()
    assert before == _planned_people(demo.plan_tenant("kantoor", tenant.plugins, DEMO_TODAY))
    old_ids = set(db.session.scalars(sa.select(DataSubject.id)))
    db.session.commit()
    tenancy.set_tenant(None)

    with clock.frozen_at(DEMO_TODAY):
        result = demo.seed_tenant(get_by_slug("kantoor"), reset=True)
    assert result.seeded

    _in_tenant("kantoor")
    assert _stored_people() == before
    assert old_ids.isdisjoint(set(db.session.scalars(sa.select(DataSubject.id))))


def test_seeding_again_duplicates_nothing(demo_ctx):
    totals = {}
    for slug in demo.DEMO_TENANTS:
        _in_tenant(slug)
        totals[slug] = _counts()
    db.session.commit()
    tenancy.set_tenant(None)
    users = db.session.scalar(sa.select(sa.func.count(User.id)))

    result = demo_ctx.test_cli_runner().invoke(cli, args=["demo", "seed"])

    assert result.exit_code == 0, result.output
    assert result.output.count("has demo data already") == len(demo.DEMO_TENANTS)
    assert demo.DEMO_PASSWORD in result.output
    db.session.commit()
    assert db.session.scalar(sa.select(sa.func.count(User.id))) == users
    for slug in demo.DEMO_TENANTS:
        _in_tenant(slug)
        assert _counts() == totals[slug], slug


def test_seeding_an_unknown_tenant_says_how_to_create_it(demo_ctx):
    result = demo_ctx.test_cli_runner().invoke(cli, args=["demo", "seed", "--tenant", "nope"])
    assert result.exit_code == 1
    assert "saas tenants sync" in result.output


def test_every_demo_user_can_log_in(demo_app):
    # No app context is held during the requests: each login starts with a clean `g`.
    with demo_app.app_context():
        logins = demo.demo_logins(demo.demo_tenants())
        db.session.remove()
    assert len(logins) == len(demo.DEMO_TENANTS) * len(demo.DEMO_ACCOUNTS)
    for slug, role, email in logins:
        client = demo_app.test_client()
        client.environ_base["REMOTE_ADDR"] = f"10.9.{random.randint(0, 255)}.{random.randint(1, 254)}"
        token = find_csrf_token(client.get("/login").get_data(as_text=True))
        response = client.post("/login", data={"email": email, "password": demo.DEMO_PASSWORD, "csrf_token": token})
        assert response.status_code == 302, (email, response.status_code)
        assert response.headers["Location"].startswith(f"/{slug}/"), email
        page = client.get(f"/{slug}/subjects")
        assert page.status_code == 200, (email, page.status_code)
