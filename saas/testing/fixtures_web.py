"""Fixtures for the web tests; any test module may use them.

- `client`: a Flask test client whose requests run like real ones: each in a fresh context (its own app
  context, `g`, database session and tenant, none shared with the test's `ctx`), from its own random
  REMOTE_ADDR so the per-IP login rate limit one test uses up never reaches another test. Time frozen with
  `clock.frozen_at` does not reach requests; use `clock.set_now`.
- `new_client()`: another such client (a second browser).
- `web_tenant`: a fresh, committed tenant; the default tenant of `make_user`.
- `make_user(email=None, role="admin", tenant=None, client_org=None, name=None)` -> (user, password):
  a user with a membership of `role` in `tenant` (default `web_tenant`; pass tenant=False for no
  membership). A client user needs a client organisation: pass one, or one is created. The test's
  tenant context is None afterwards.
- `login(client, email, password, next=None)` -> the response to the login POST (not followed); it
  reads the csrf_token from the login form first.
- `csrf_token(client, path="/login")` -> the CSRF token of the forms on a page, for your own POSTs.
- `live_server` -> base URL ("http://127.0.0.1:PORT") of a threaded werkzeug server running `app`.
"""
from __future__ import annotations

import contextvars
import random
import re
import secrets
import threading
import uuid

import pytest
from flask.testing import FlaskClient
from werkzeug.serving import make_server

from saas.core import tenancy
from saas.extensions import db

_CSRF = re.compile(r'name="csrf_token"[^>]*value="([^"]+)"')


def find_csrf_token(html: str) -> str:
    match = _CSRF.search(html)
    if match is None:
        raise AssertionError("no csrf_token field on the page")
    return match.group(1)


class IsolatedClient(FlaskClient):
    """Without this, a request made while the test holds an app context would reuse that context:
    the same `g`, database session and tenant as the test, which no real request ever shares."""

    def open(self, *args, **kwargs):
        return contextvars.Context().run(super().open, *args, **kwargs)


def _isolated_client(app) -> IsolatedClient:
    test_client = IsolatedClient(app, app.response_class, use_cookies=True)
    test_client.environ_base["REMOTE_ADDR"] = f"10.{random.randint(0, 255)}.{random.randint(0, 255)}.{random.randint(1, 254)}"
    return test_client


@pytest.fixture()
def new_client(app):
    return lambda: _isolated_client(app)


@pytest.fixture()
def client(app):
    return _isolated_client(app)


@pytest.fixture()
def web_tenant(make_tenant):
    return make_tenant()


@pytest.fixture()
def make_user(ctx, web_tenant):
    from saas.modules.accounts import operations
    from saas.modules.clients.models import ClientOrganisation

    def _make(email: str | None = None, role: str = "admin", tenant=None, client_org=None, name: str | None = None):
        tenant = web_tenant if tenant is None else tenant
        email = email or f"user-{uuid.uuid4().hex[:10]}@example.test"
        password = secrets.token_urlsafe(16)
        db.session.commit()
        tenancy.set_tenant(None)
        user = operations.create_user(email, name or f"Test {role.title()}", password)
        db.session.commit()
        if tenant:
            tenancy.set_tenant(tenant.id)
            if role == "client" and client_org is None:
                client_org = ClientOrganisation(name=f"Client {uuid.uuid4().hex[:6]}")
                db.session.add(client_org)
                db.session.flush()
            operations.add_membership(tenant, user, role, client_org.id if client_org is not None else None)
            db.session.commit()
            tenancy.set_tenant(None)
        return user, password

    return _make


@pytest.fixture()
def csrf_token():
    def _token(test_client, path: str = "/login") -> str:
        return find_csrf_token(test_client.get(path).get_data(as_text=True))

    return _token


@pytest.fixture()
def login():
    def _login(test_client, email: str, password: str, next: str | None = None):
        token = find_csrf_token(test_client.get("/login").get_data(as_text=True))
        data = {"email": email, "password": password, "csrf_token": token}
        if next is not None:
            data["next"] = next
        return test_client.post("/login", data=data)

    return _login


@pytest.fixture(scope="session")
def live_server(app):
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, name="live-server", daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()
    thread.join(10)
