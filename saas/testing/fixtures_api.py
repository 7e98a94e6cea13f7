"""Fixtures for the API and audit tests; any test module may use them.

- `bearer(token)` (a plain function): the Authorization header of a token.
- `make_token(user, tenant, days=30, name="test")` -> the token string (committed; tenant context None after).
- `api_user(role="admin", tenant=None, client_org=None)` -> (user, token): a member of `tenant`
  (default `web_tenant`) with a fresh token.
- `add_subject(tenant, **fields)` -> the new subject's id (committed, written as the system).
- `audit_rows(tenant)` -> the tenant's audit entries as dicts, oldest first, read fresh from the database.
- `tamper(tenant, sql, **params)`: run SQL against the tenant's audit rows as the table owner would
  (on PostgreSQL: the owner URL, the tenant set, the append-only trigger disabled for that transaction).
"""
from __future__ import annotations

import pytest
import sqlalchemy as sa

from saas.core import tenancy
from saas.extensions import db


def bearer(token: str) -> dict:
    return {"Authorization": f"Bearer {token}"}


@pytest.fixture()
def make_token(ctx):
    from saas.api import tokens

    def _make(user, tenant, days: int = 30, name: str = "test") -> str:
        db.session.commit()
        tenancy.set_tenant(tenant.id)
        _row, token = tokens.create(user, name, days)
        db.session.commit()
        tenancy.set_tenant(None)
        return token

    return _make


@pytest.fixture()
def api_user(make_user, make_token, web_tenant):
    def _make(role: str = "admin", tenant=None, client_org=None):
        tenant = tenant or web_tenant
        user, _password = make_user(role=role, tenant=tenant, client_org=client_org)
        return user, make_token(user, tenant)

    return _make


@pytest.fixture()
def add_subject(ctx):
    from saas.modules.subjects.models import DataSubject

    def _make(tenant, **fields):
        fields.setdefault("category", "candidate")
        db.session.commit()
        tenancy.set_tenant(tenant.id)
        subject = DataSubject(**fields)
        db.session.add(subject)
        subject_id = subject.id  # read before the commit expires it
        db.session.commit()
        tenancy.set_tenant(None)
        return subject_id

    return _make


@pytest.fixture()
def audit_rows(ctx):
    from saas.modules.audit.models import AuditEntry

    def _rows(tenant) -> list[dict]:
        db.session.commit()
        with tenancy.tenant_context(tenant.id):
            columns = [getattr(AuditEntry, c.key) for c in AuditEntry.__table__.columns]
            rows = db.session.execute(sa.select(*columns).order_by(AuditEntry.seq)).all()
            result = [dict(row._mapping) for row in rows]
            db.session.commit()
        return result

    return _rows


@pytest.fixture()
def tamper(ctx, settings):
    def _tamper(tenant, sql: str, **params) -> None:
        db.session.commit()  # the app's session must hold no lock on audit_entry
        engine = sa.create_engine(settings.database_owner_url)
        try:
            with engine.begin() as conn:
                postgres = conn.dialect.name == "postgresql"
                if postgres:
                    conn.execute(sa.text("SELECT set_config('app.tenant_id', :t, true)"), {"t": str(tenant.id)})
                    conn.execute(sa.text("ALTER TABLE audit_entry DISABLE TRIGGER append_only"))
                conn.execute(sa.text(sql), {"tenant_id": tenant.id, **params})
                if postgres:
                    conn.execute(sa.text("ALTER TABLE audit_entry ENABLE TRIGGER append_only"))
        finally:
            engine.dispose()
        db.session.expire_all()

    return _tamper
