"""The outbox pages: admins only, the list shows no personal data, opening a mail is audited."""
from __future__ import annotations

import sqlalchemy as sa

from saas.core import tenancy
from saas.extensions import db
from saas.jobs.queues import queue
from saas.modules.outbox import operations
from saas.modules.outbox.models import FAILED, QUEUED, OutboxMail
from saas.testing.fixtures_web import find_csrf_token


def _queued_mail(tenant_id: int, status: str = QUEUED, template: str = "confirmation",
                 body: str = "Beste Jan, dit is een bevestiging."):
    db.session.commit()
    tenancy.set_tenant(tenant_id)
    mail = operations.queue_mail("jan.de.boer@example.nl", "Bevestiging", body, template=template)
    mail.status = status
    mail_id = mail.id
    db.session.commit()
    tenancy.set_tenant(None)
    _drop_jobs(mail_id)
    return mail_id


def _drop_jobs(mail_id) -> None:
    for job in queue("mail").get_jobs():
        if job.kwargs.get("mail_id") == str(mail_id):
            job.delete()


def test_admin_lists_without_personal_data_and_views_audited(make_user, web_tenant, browser_as, audit_lines):
    mail_id = _queued_mail(web_tenant.id)
    user, password = make_user(role="admin")
    browser = browser_as(user, password)

    listing = browser.get(f"/{web_tenant.slug}/outbox")
    assert listing.status_code == 200
    assert "confirmation" in listing.get_data(as_text=True)
    assert "jan.de.boer" not in listing.get_data(as_text=True)

    shown = browser.get(f"/{web_tenant.slug}/outbox/{mail_id}")
    assert shown.status_code == 200
    assert "jan.de.boer@example.nl" in shown.get_data(as_text=True)
    assert "Beste Jan, dit is een bevestiging." in shown.get_data(as_text=True)
    assert audit_lines(web_tenant.id, "mail.view") == [("ok", str(mail_id), str(user.id), {})]


def test_only_admins_see_the_outbox(make_user, web_tenant, browser_as):
    mail_id = _queued_mail(web_tenant.id)
    for role in ("supervisor", "agent", "client"):
        browser = browser_as(*make_user(role=role))
        assert browser.get(f"/{web_tenant.slug}/outbox").status_code == 404, role
        assert browser.get(f"/{web_tenant.slug}/outbox/{mail_id}").status_code == 404, role


def test_another_tenants_mail_is_404(make_user, make_tenant, web_tenant, browser_as, audit_lines):
    other = make_tenant()
    theirs = _queued_mail(other.id, status=FAILED)
    browser = browser_as(*make_user(role="admin"))
    token = find_csrf_token(browser.get(f"/{web_tenant.slug}/outbox").get_data(as_text=True))

    assert browser.get(f"/{web_tenant.slug}/outbox/{theirs}").status_code == 404
    assert browser.post(f"/{web_tenant.slug}/outbox/{theirs}/requeue", data={"csrf_token": token}).status_code == 404
    assert audit_lines(other.id, "mail.view") == []


def test_failed_mail_can_be_queued_again(make_user, web_tenant, browser_as):
    mail_id = _queued_mail(web_tenant.id, status=FAILED)
    browser = browser_as(*make_user(role="admin"))
    page = browser.get(f"/{web_tenant.slug}/outbox/{mail_id}").get_data(as_text=True)

    response = browser.post(f"/{web_tenant.slug}/outbox/{mail_id}/requeue", data={"csrf_token": find_csrf_token(page)})

    assert response.status_code == 302
    db.session.commit()
    tenancy.set_tenant(web_tenant.id)
    mail = db.session.scalars(sa.select(OutboxMail).where(OutboxMail.id == mail_id)).one()
    assert (mail.status, mail.attempts) == (QUEUED, 0)
    assert [(j.meta["tenant_id"], j.kwargs) for j in queue("mail").get_jobs()
            if j.kwargs.get("mail_id") == str(mail_id)] == [(web_tenant.id, {"mail_id": str(mail_id)})]
    _drop_jobs(mail_id)
    again = browser.post(f"/{web_tenant.slug}/outbox/{mail_id}/requeue", data={"csrf_token": find_csrf_token(page)})
    assert again.status_code == 400  # only a failed mail goes out again


def test_a_signing_link_is_not_shown_once_mail_leaves_by_smtp(app, make_user, web_tenant, browser_as):
    secret = "https://portal.example/sign/geheim-token"
    mail_id = _queued_mail(web_tenant.id, template="agreement_invitation", body=f"Onderteken hier: {secret}")
    user, password = make_user(role="admin")
    browser = browser_as(user, password)
    settings = app.extensions["saas.settings"]

    # Outbox-only mode (demo): the page is how the mail is delivered, so it shows the link.
    assert secret in browser.get(f"/{web_tenant.slug}/outbox/{mail_id}").get_data(as_text=True)

    settings.smtp_url = "smtp://127.0.0.1:2525"
    try:
        page = browser.get(f"/{web_tenant.slug}/outbox/{mail_id}").get_data(as_text=True)
    finally:
        settings.smtp_url = ""
    assert secret not in page, page[page.find("geheim") - 300:page.find("geheim") + 100]
    assert "alleen voor de ontvanger" in page
