"""Sessions end on the server (log out, password change), a first password is changed, and logins are
limited per account with back-off next to the per-IP limit, which counts failures only."""
from __future__ import annotations

from datetime import timedelta

import sqlalchemy as sa

from saas.core import clock, tenancy
from saas.extensions import db
from saas.modules.accounts.models import User
from saas.modules.audit.models import AuditEntry


def _audit(tenant, action):
    db.session.commit()
    tenancy.set_tenant(tenant.id)
    rows = db.session.scalars(sa.select(AuditEntry).where(AuditEntry.action == action).order_by(AuditEntry.seq))
    found = [(e.outcome, e.object_id, e.detail) for e in rows]
    db.session.commit()
    tenancy.set_tenant(None)
    return found


def _replay_client(new_client, original):
    """Another client from the same address and browser, holding a copy of `original`'s session cookie."""
    copy = new_client()
    copy.environ_base["REMOTE_ADDR"] = original.environ_base["REMOTE_ADDR"]
    copy.set_cookie("session", original.get_cookie("session").value)
    return copy


def test_cookie_replayed_after_logout_is_refused(client, new_client, login, csrf_token, make_user, web_tenant):
    user, password = make_user()
    login(client, user.email, password)
    dashboard = f"/{web_tenant.slug}/"
    stolen = _replay_client(new_client, client)
    assert stolen.get(dashboard).status_code == 200      # the copy works while the session lives
    assert client.post("/logout", data={"csrf_token": csrf_token(client, dashboard)}).status_code == 302
    assert stolen.get(dashboard).status_code == 302      # and not after the log out
    assert stolen.get(dashboard).headers["Location"].startswith("/login")


def test_password_change_needs_the_current_password_and_ends_other_sessions(
        client, new_client, login, csrf_token, make_user, web_tenant):
    user, password = make_user()
    other = new_client()
    login(client, user.email, password)
    login(other, user.email, password)
    dashboard = f"/{web_tenant.slug}/"
    token = csrf_token(client, "/account/password")
    wrong = client.post("/account/password", data={
        "csrf_token": token, "current_password": "not-the-password", "new_password": "een-nieuw-wachtwoord",
        "new_password_again": "een-nieuw-wachtwoord"})
    assert wrong.status_code == 400 and "Het huidige wachtwoord klopt niet." in wrong.get_data(as_text=True)
    assert other.get(dashboard).status_code == 200
    changed = client.post("/account/password", data={
        "csrf_token": token, "current_password": password, "new_password": "een-nieuw-wachtwoord",
        "new_password_again": "een-nieuw-wachtwoord"})
    assert changed.status_code == 302
    assert client.get(dashboard).status_code == 200     # this browser goes on
    assert other.get(dashboard).status_code == 302      # every other session ended
    assert login(new_client(), user.email, password).status_code == 401
    assert login(new_client(), user.email, "een-nieuw-wachtwoord").status_code == 302
    assert [e[0] for e in _audit(web_tenant, "auth.password_change")] == ["failed", "ok"]


def test_a_first_password_must_be_changed_before_anything_else(client, login, csrf_token, make_user, web_tenant):
    user, password = make_user()
    db.session.execute(sa.update(User).where(User.id == user.id).values(must_change_password=True))
    db.session.commit()
    assert login(client, user.email, password).headers["Location"] == "/account/password"
    assert client.get(f"/{web_tenant.slug}/").headers["Location"] == "/account/password"
    assert client.get(f"/{web_tenant.slug}/members").headers["Location"] == "/account/password"
    response = client.post("/account/password", data={
        "csrf_token": csrf_token(client, "/account/password"), "current_password": password,
        "new_password": "mijn-eigen-wachtwoord", "new_password_again": "mijn-eigen-wachtwoord"})
    assert response.headers["Location"] == f"/{web_tenant.slug}/"
    assert client.get(f"/{web_tenant.slug}/").status_code == 200


def _same_address(new_client, original):
    browser = new_client()
    browser.environ_base["REMOTE_ADDR"] = original.environ_base["REMOTE_ADDR"]
    return browser


def test_successful_logins_do_not_count_against_the_address(client, new_client, login, make_user):
    """An office behind one address: many people log in (the limit is 10 per minute), then someone
    mistypes; the right password still gets in."""
    users = [make_user() for _ in range(3)]
    for _ in range(4):
        for user, password in users:
            assert login(_same_address(new_client, client), user.email, password).status_code == 302
    assert login(client, users[0][0].email, "a-typo-in-it").status_code == 401
    assert login(client, users[0][0].email, users[0][1]).status_code == 302


def test_lockout_per_account_with_back_off_while_another_account_from_the_same_address_logs_in(
        client, new_client, login, make_user, web_tenant):
    locked, password = make_user()
    colleague, colleague_password = make_user()
    start = clock.now()
    clock.set_now(start)
    for _ in range(5):
        assert login(client, locked.email, "wrong-password-x").status_code == 401
    right_but_locked = login(client, locked.email, password)
    assert right_but_locked.status_code == 401         # the same answer as a wrong password
    assert login(client, colleague.email, colleague_password).status_code == 302   # same address, other account
    assert {"locked": True} in [e[2] for e in _audit(web_tenant, "auth.login")]

    later = new_client()                                  # (a fresh address: the per-IP limit is another test)
    clock.set_now(start + timedelta(seconds=61))          # the first lock lasts one minute
    assert login(later, locked.email, "wrong-again-x").status_code == 401   # one more failure: two minutes
    clock.set_now(start + timedelta(seconds=61 + 100))
    assert login(later, locked.email, password).status_code == 401
    clock.set_now(start + timedelta(seconds=61 + 121))
    assert login(later, locked.email, password).status_code == 302
    db.session.expire_all()
    assert db.session.get(User, locked.id).failed_logins == 0


def _stored_failures(user_id) -> tuple[int, object]:
    """The counter as the database holds it (not as this session remembers it)."""
    db.session.commit()
    db.session.expire_all()
    user = db.session.get(User, user_id)
    found = (user.failed_logins, user.locked_until)
    db.session.commit()
    return found


def test_a_failed_login_is_counted_although_the_commit_point_rolls_back_its_401(
        client, new_client, login, make_user, web_tenant):
    """Regression: the request's commit point rolls back every answer >= 400; the failure counter, the
    lockout and the audit line of a refused login must land all the same."""
    user, password = make_user()
    assert login(client, user.email, "wrong-password-x").status_code == 401
    assert _stored_failures(user.id) == (1, None)
    assert [outcome for outcome, *_ in _audit(web_tenant, "auth.login")] == ["failed"]
    for _attempt in range(4):
        assert login(new_client(), user.email, "wrong-password-x").status_code == 401
    failures, locked_until = _stored_failures(user.id)
    assert failures == 5 and locked_until is not None
    assert login(new_client(), user.email, password).status_code == 401     # locked: the right password too
    assert _stored_failures(user.id)[0] == 5     # a refused attempt while locked is not counted again


def test_a_wrong_second_factor_is_counted_although_the_answer_is_401(
        client, new_client, login, csrf_token, make_user, web_tenant):
    import re

    import pyotp

    user, password = make_user()
    login(client, user.email, password)
    page = client.get("/account/two-factor").get_data(as_text=True)       # enrolment, committed by the commit point
    key = re.search(r"<code>([A-Z2-7 ]{16,})</code>", page).group(1).replace(" ", "")
    confirmed = client.post("/account/two-factor/confirm", data={
        "csrf_token": csrf_token(client, "/account/two-factor"), "code": pyotp.TOTP(key).now()})
    assert confirmed.status_code == 200
    browser = new_client()
    assert login(browser, user.email, password).headers["Location"] == "/login/two-factor"
    wrong = str((int(pyotp.TOTP(key).now()) + 1) % 1_000_000).zfill(6)
    answer = browser.post("/login/two-factor", data={"csrf_token": csrf_token(browser, "/login/two-factor"),
                                                     "code": wrong})
    assert answer.status_code == 401
    assert _stored_failures(user.id)[0] == 1
    assert ("failed", str(user.id), {"step": "second_factor"}) in _audit(web_tenant, "auth.login")
