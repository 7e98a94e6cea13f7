"""/<tenant>/audit: the audit log page, for the tenant's admins only."""
from __future__ import annotations

import re
from datetime import datetime, timezone

from saas.core import clock, tenancy
from saas.extensions import db
from saas.modules.audit import operations as audit


def _write(tenant, count: int, at: datetime) -> None:
    db.session.commit()
    with tenancy.tenant_context(tenant.id), clock.frozen_at(at):
        for n in range(count):
            audit.record("subject.read", "data_subject", f"subject-{n}")
        audit.record("api.authenticate", "api_token", "token-1", outcome="denied")
        db.session.commit()


def _seqs(html: str) -> list[int]:
    return [int(s) for s in re.findall(r'data-seq="(\d+)"', html)]


def test_admin_sees_recent_entries_in_amsterdam_time_with_paging(web_tenant, make_user, login, client):
    admin, password = make_user(role="admin")
    _write(web_tenant, 59, datetime(2025, 1, 15, 11, 5, tzinfo=timezone.utc))
    login(client, admin.email, password)
    first = client.get(f"/{web_tenant.slug}/audit")
    assert first.status_code == 200
    html = first.get_data(as_text=True)
    newest = max(_seqs(html))
    assert _seqs(html) == list(range(newest, newest - 50, -1))
    assert "2025-01-15 12:05 CET" in html  # 11:05 UTC is 12:05 in Amsterdam in winter
    assert "api.authenticate" in html and "token-1" in html
    assert f"/{web_tenant.slug}/audit?page=2" in html
    second = client.get(f"/{web_tenant.slug}/audit?page=2").get_data(as_text=True)
    assert _seqs(second) == list(range(newest - 50, 0, -1))


def test_summer_time_is_shown_with_its_zone(web_tenant, make_user, login, client):
    admin, password = make_user(role="admin")
    _write(web_tenant, 1, datetime(2025, 7, 1, 8, 30, tzinfo=timezone.utc))
    login(client, admin.email, password)
    assert "2025-07-01 10:30 CEST" in client.get(f"/{web_tenant.slug}/audit").get_data(as_text=True)


def test_other_roles_and_other_tenants_get_404(make_tenant, web_tenant, make_user, login, new_client):
    other = make_tenant()
    for role, tenant in (("supervisor", web_tenant), ("agent", web_tenant), ("client", web_tenant), ("admin", other)):
        user, password = make_user(role=role, tenant=tenant)
        browser = new_client()
        login(browser, user.email, password)
        assert browser.get(f"/{web_tenant.slug}/audit").status_code == 404, role
