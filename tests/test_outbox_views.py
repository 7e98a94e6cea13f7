"""The outbox pages: admins only, the list shows no personal data, opening a mail is audited."""
from __future__ import annotations

from datetime import timedelta

import sqlalchemy as sa

from saas.core import clock, tenancy
from saas.extensions import db
from saas.jobs.queues import queue
from saas.modules.outbox import operations
from saas.modules.outbox.models import FAILED, QUEUED, SENDING, SENT, OutboxMail
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


def _drop_jobs(mail_id=None) -> None:
    """The relay nudges of the test (they carry no mail id: the relay finds what is due)."""
    queue("mail").empty()


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


def _stored(tenant_id, mail_id) -> OutboxMail:
    db.session.commit()
    tenancy.set_tenant(tenant_id)
    db.session.expire_all()
    return db.session.scalars(sa.select(OutboxMail).where(OutboxMail.id == mail_id)).one()


def _set(tenant_id, mail_id, **values) -> None:
    mail = _stored(tenant_id, mail_id)
    for name, value in values.items():
        setattr(mail, name, value)
    db.session.commit()
    tenancy.set_tenant(None)


def test_failed_mail_can_be_queued_again(make_user, web_tenant, browser_as):
    mail_id = _queued_mail(web_tenant.id, status=FAILED)
    _set(web_tenant.id, mail_id, attempts=7, last_error="SMTPDataError")
    browser = browser_as(*make_user(role="admin"))
    page = browser.get(f"/{web_tenant.slug}/outbox/{mail_id}").get_data(as_text=True)

    response = browser.post(f"/{web_tenant.slug}/outbox/{mail_id}/requeue", data={"csrf_token": find_csrf_token(page)})

    assert response.status_code == 302
    mail = _stored(web_tenant.id, mail_id)
    assert (mail.status, mail.attempts, mail.last_error) == (QUEUED, 0, None)
    [job] = queue("mail").get_jobs()
    assert (job.meta["tenant_id"], job.kwargs, job.func_name) == (web_tenant.id, {}, operations.RELAY_JOB)
    _drop_jobs()


def test_a_stuck_claim_can_be_queued_again_but_not_one_being_sent(make_user, web_tenant, browser_as):
    mail_id = _queued_mail(web_tenant.id, status=SENDING)
    _set(web_tenant.id, mail_id, attempts=1, lease_until=clock.now() + timedelta(minutes=1))
    browser = browser_as(*make_user(role="admin"))
    page = browser.get(f"/{web_tenant.slug}/outbox/{mail_id}").get_data(as_text=True)
    token = find_csrf_token(page)
    assert f"{mail_id}/requeue" not in page

    assert browser.post(f"/{web_tenant.slug}/outbox/{mail_id}/requeue", data={"csrf_token": token}).status_code == 400
    assert _stored(web_tenant.id, mail_id).status == SENDING

    _set(web_tenant.id, mail_id, lease_until=clock.now() - timedelta(seconds=1))  # its relay died
    page = browser.get(f"/{web_tenant.slug}/outbox/{mail_id}").get_data(as_text=True)
    assert f"{mail_id}/requeue" in page
    assert browser.post(f"/{web_tenant.slug}/outbox/{mail_id}/requeue", data={"csrf_token": token}).status_code == 302
    mail = _stored(web_tenant.id, mail_id)
    assert (mail.status, mail.attempts, mail.lease_until) == (QUEUED, 1, None)
    _drop_jobs()


def test_a_sent_mail_is_not_queued_again(make_user, web_tenant, browser_as):
    mail_id = _queued_mail(web_tenant.id, status=SENT)
    browser = browser_as(*make_user(role="admin"))
    token = find_csrf_token(browser.get(f"/{web_tenant.slug}/outbox").get_data(as_text=True))
    assert browser.post(f"/{web_tenant.slug}/outbox/{mail_id}/requeue", data={"csrf_token": token}).status_code == 400
    assert _stored(web_tenant.id, mail_id).status == SENT


def test_tabs_count_and_filter_mails(make_user, web_tenant, browser_as):
    waiting = _queued_mail(web_tenant.id, template="tab_waiting")
    failing = _queued_mail(web_tenant.id, template="tab_failing")
    _set(web_tenant.id, failing, attempts=3, last_error="ConnectionRefusedError",
         next_attempt_at=clock.now() + timedelta(minutes=4))
    _queued_mail(web_tenant.id, status=SENT, template="tab_sent")
    _queued_mail(web_tenant.id, status=FAILED, template="tab_failed")
    stuck = _queued_mail(web_tenant.id, template="tab_stuck")
    _set(web_tenant.id, stuck, next_attempt_at=clock.now() - timedelta(minutes=10))
    browser = browser_as(*make_user(role="admin"))

    def shown(tab):
        html = browser.get(f"/{web_tenant.slug}/outbox?tab={tab}").get_data(as_text=True)
        return {t for t in ("tab_waiting", "tab_failing", "tab_sent", "tab_failed", "tab_stuck") if t in html}, html

    assert shown("waiting")[0] == {"tab_waiting", "tab_stuck"}
    kinds, html = shown("failing")
    assert kinds == {"tab_failing"} and "ConnectionRefusedError" in html
    assert shown("sent")[0] == {"tab_sent"}
    assert shown("failed")[0] == {"tab_failed"}
    kinds, html = shown("all")
    assert len(kinds) == 5
    assert f'data-mail="{stuck}"' in html and html.count("badge--danger") >= 2  # failed + stuck
    assert 'data-tab="failing"' in html
    assert browser.get(f"/{web_tenant.slug}/outbox?tab=nonsense").status_code == 404
    assert waiting


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
