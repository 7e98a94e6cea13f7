"""Fixtures for the demo, outbox and data-subject page tests.

- `demo_app`: an app on its own databases (not the shared `app`), with the tenants of tenants/*.toml
  synced and every demo tenant seeded once at DEMO_TODAY; `demo_ctx` is an app context of it.
- `make_subject(tenant, category, client_org=None, **fields)` -> a committed, detached DataSubject of `tenant`;
  `make_client_org(tenant)` likewise (the test's tenant is None after both).
- `browser_as(user, password)` -> a logged-in test client whose requests never share the test's `g`.
- `audit_lines(tenant_id, action)` -> [(outcome, object_id, actor_id, detail)].
- `smtp_server`: a real SMTP server (aiosmtpd) on loopback; `.url`, `.messages` (email.message.Message).
- `use_smtp(url)`: point the shared app at an SMTP URL for one test ("" means no SMTP: the outbox).
- `page_token(client, path)`: the CSRF token of the forms on a page.
"""
from __future__ import annotations

import email
import email.policy
import random
from datetime import date

import pytest

from saas.core import clock, tenancy
from saas.extensions import db
from saas.testing.fixtures_web import find_csrf_token
from saas.testing.services import free_port

DEMO_TODAY = date(2025, 6, 2)


@pytest.fixture(scope="session")
def demo_app(tmp_path_factory, pg_server, redis_server):
    from flask_migrate import upgrade

    from saas import create_app
    from saas.modules.demo import operations as demo
    from saas.modules.tenants import operations as tenants
    from saas.testing.core import make_settings

    settings = make_settings(tmp_path_factory, pg_server, redis_server, name="saas_demo")
    application = create_app(settings)
    application.config["WTF_CSRF_ENABLED"] = True
    with application.app_context():
        upgrade()
        tenants.sync(settings.tenants_dir)
        with clock.frozen_at(DEMO_TODAY):
            for tenant in demo.demo_tenants():
                demo.seed_tenant(tenant)
        db.session.remove()
    return application


@pytest.fixture()
def demo_ctx(demo_app):
    with demo_app.app_context():
        tenancy.set_tenant(None)
        yield demo_app
        db.session.rollback()
        db.session.close()
        tenancy.set_tenant(None)
        clock.set_now(None)


@pytest.fixture()
def demo_client(demo_app):
    client = demo_app.test_client()
    client.environ_base["REMOTE_ADDR"] = f"10.{random.randint(0, 255)}.{random.randint(0, 255)}.{random.randint(1, 254)}"
    return client


@pytest.fixture()
def make_subject(ctx):
    from saas.modules.subjects.models import DataSubject

    def _make(tenant, category: str = "candidate", client_org=None, **fields):
        db.session.commit()
        tenancy.set_tenant(tenant.id)
        fields.setdefault("family_name", "Jansen")
        subject = DataSubject(category=category, client_org_id=client_org.id if client_org else None, **fields)
        db.session.add(subject)
        db.session.commit()
        db.session.refresh(subject)
        db.session.expunge(subject)  # detached with its columns loaded: later commits do not expire it
        tenancy.set_tenant(None)
        return subject

    return _make


@pytest.fixture()
def make_client_org(ctx):
    from saas.modules.clients.models import ClientOrganisation

    def _make(tenant, name: str | None = None):
        db.session.commit()
        tenancy.set_tenant(tenant.id)
        org = ClientOrganisation(name=name or f"Opdrachtgever {random.randint(0, 10**9)}")
        db.session.add(org)
        db.session.commit()
        db.session.refresh(org)
        db.session.expunge(org)
        tenancy.set_tenant(None)
        return org

    return _make


@pytest.fixture()
def page_token():
    def _token(client, path: str) -> str:
        response = client.get(path)
        assert response.status_code == 200, response.status_code
        return find_csrf_token(response.get_data(as_text=True))

    return _token


class _Collector:
    """Keeps every accepted message; refuses recipients at refused.test (a permanent SMTP error)."""

    def __init__(self):
        self.messages: list = []

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if address.endswith("@refused.test"):
            return "550 5.1.1 No such user"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        self.messages.append(email.message_from_bytes(envelope.original_content, policy=email.policy.default))
        return "250 Message accepted for delivery"


@pytest.fixture()
def smtp_server():
    from aiosmtpd.controller import Controller

    collector = _Collector()
    port = free_port()
    controller = Controller(collector, hostname="127.0.0.1", port=port)
    controller.start()
    collector.url = f"smtp://127.0.0.1:{port}"
    yield collector
    controller.stop()


@pytest.fixture()
def use_smtp(app):
    settings = app.extensions["saas.settings"]
    original = settings.smtp_url

    def _use(url: str) -> None:
        settings.smtp_url = url

    yield _use
    settings.smtp_url = original


class FreshContextClient:
    """A test client whose every request runs in an app context of its own, so the `g` (logged-in
    user, tenant, membership) and database session of the test's `ctx` never leak into a request."""

    def __init__(self, app, client):
        self.app, self.client = app, client

    def open(self, *args, **kwargs):
        with self.app.app_context():
            return self.client.open(*args, **kwargs)

    def get(self, *args, **kwargs):
        return self.open(*args, method="GET", **kwargs)

    def post(self, *args, **kwargs):
        return self.open(*args, method="POST", **kwargs)


@pytest.fixture()
def browser_as(app, login):
    """browser_as(user, password) -> a logged-in FreshContextClient of its own (own cookies and address)."""

    def _as(user, password):
        client = app.test_client()
        client.environ_base["REMOTE_ADDR"] = f"10.{random.randint(0, 255)}.{random.randint(0, 255)}.{random.randint(1, 254)}"
        fresh = FreshContextClient(app, client)
        response = login(fresh, user.email, password)
        assert response.status_code == 302, response.status_code
        return fresh

    return _as


@pytest.fixture()
def audit_lines(ctx):
    """audit_lines(tenant_id, action) -> [(outcome, object_id, actor_id, detail)] in order."""
    import sqlalchemy as sa

    from saas.modules.audit.models import AuditEntry

    def _lines(tenant_id: int, action: str):
        db.session.commit()
        tenancy.set_tenant(tenant_id)
        rows = db.session.scalars(sa.select(AuditEntry).where(AuditEntry.action == action).order_by(AuditEntry.seq))
        found = [(e.outcome, e.object_id, e.actor_id, e.detail) for e in rows]
        db.session.commit()
        tenancy.set_tenant(None)
        return found

    return _lines
