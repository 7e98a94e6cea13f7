"""TOTP two-factor login: required for admins and supervisors by default (per tenant for other roles),
enrolment with a server-made QR code, recovery codes (hashed, single use), secrets encrypted at rest."""
from __future__ import annotations

import re
from datetime import timedelta

import pyotp
import pytest
import sqlalchemy as sa

from saas.core import clock, tenancy
from saas.core.crypto.aead import DecryptionError
from saas.extensions import db
from saas.modules.accounts import twofactor
from saas.modules.accounts.models import RecoveryCode, User
from saas.modules.audit.models import AuditEntry
from saas.modules.tenants.schemas import read_tenant_file
from saas.plugins.manager import current_registry

_KEY = re.compile(r"<code>([A-Z2-7 ]{16,})</code>")
_RECOVERY = re.compile(r"<code>([A-Z2-7]{4}-[A-Z2-7]{4}-[A-Z2-7]{4}-[A-Z2-7]{4})</code>")


def _actions(tenant) -> list[str]:
    db.session.commit()
    tenancy.set_tenant(tenant.id)
    found = list(db.session.scalars(sa.select(AuditEntry.action).order_by(AuditEntry.seq)))
    db.session.commit()
    tenancy.set_tenant(None)
    return found


@pytest.fixture()
def strict_tenant(make_tenant):
    """A tenant as `saas tenants sync` makes it from a file without `two_factor_roles`: the default."""
    return make_tenant(two_factor_roles=["admin", "supervisor"])


def _code(key: str, offset_steps: int = 0) -> str:
    return pyotp.TOTP(key).at(clock.now() + timedelta(seconds=30 * offset_steps))


def _enrol(client, csrf_token) -> tuple[str, list[str]]:
    """Scan (read the key from the page), confirm with the app's code; returns (key, recovery codes)."""
    page = client.get("/account/two-factor")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert "<svg" in html and "https://" not in html.split("<svg", 1)[1].split("</svg>", 1)[0]
    assert "style=" not in html and "<script>" not in html         # the CSP allows neither inline
    key = _KEY.search(html).group(1).replace(" ", "")
    confirmed = client.post("/account/two-factor/confirm", data={
        "csrf_token": csrf_token(client, "/account/two-factor"), "code": _code(key)})
    assert confirmed.status_code == 200
    return key, _RECOVERY.findall(confirmed.get_data(as_text=True))


def _second_step(client, csrf_token, code):
    return client.post("/login/two-factor", data={"csrf_token": csrf_token(client, "/login/two-factor"), "code": code})


def test_the_tenant_file_default_requires_admins_and_supervisors(ctx, tmp_path):
    path = tmp_path / "acme.toml"
    path.write_text('slug = "acme"\nname = "Acme"\nlocale = "nl"\nplugins = []\nrights_request_days = 30\n'
                    '[contact]\nrole = "contact"\nphone = "010 123 45 67"\n')
    assert read_tenant_file(path, current_registry()).fields["two_factor_roles"] == ["admin", "supervisor"]
    path.write_text(path.read_text().replace("rights_request_days = 30\n",
                                             'rights_request_days = 30\ntwo_factor_roles = ["admin", "boss"]\n'))
    with pytest.raises(ValueError, match="two_factor_roles"):
        read_tenant_file(path, current_registry())


def test_totp_is_required_for_an_admin_and_asked_at_every_login(
        client, new_client, login, csrf_token, make_user, strict_tenant):
    admin, password = make_user(tenant=strict_tenant)
    assert login(client, admin.email, password).headers["Location"] == "/account/two-factor"
    assert client.get(f"/{strict_tenant.slug}/").headers["Location"] == "/account/two-factor"
    wrong = client.post("/account/two-factor/confirm", data={
        "csrf_token": csrf_token(client, "/account/two-factor"), "code": "000000"})
    assert wrong.status_code == 303
    assert client.get(f"/{strict_tenant.slug}/").headers["Location"] == "/account/two-factor"
    key, codes = _enrol(client, csrf_token)
    assert len(codes) == 10
    assert client.get(f"/{strict_tenant.slug}/").status_code == 200

    browser = new_client()
    first = login(browser, admin.email, password)
    assert first.headers["Location"] == "/login/two-factor"
    assert browser.get(f"/{strict_tenant.slug}/").status_code == 302           # no session before the code
    assert _second_step(browser, csrf_token, "123456").status_code == 401
    clock.set_now(clock.now() + timedelta(seconds=60))                         # a later code of the app
    done = _second_step(browser, csrf_token, _code(key))
    assert done.headers["Location"] == f"/{strict_tenant.slug}/"
    assert browser.get(f"/{strict_tenant.slug}/").status_code == 200
    actions = _actions(strict_tenant)
    assert "auth.two_factor_enable" in actions and actions.count("auth.login") >= 3


def test_a_totp_code_is_accepted_once(client, new_client, login, csrf_token, make_user, strict_tenant):
    admin, password = make_user(tenant=strict_tenant)
    login(client, admin.email, password)
    key, _ = _enrol(client, csrf_token)
    clock.set_now(clock.now() + timedelta(seconds=90))
    code = _code(key)
    first, second = new_client(), new_client()
    login(first, admin.email, password)
    login(second, admin.email, password)
    assert _second_step(first, csrf_token, code).status_code == 302
    assert _second_step(second, csrf_token, code).status_code == 401           # the same code replayed


def test_a_recovery_code_works_once(client, new_client, login, csrf_token, make_user, strict_tenant):
    admin, password = make_user(tenant=strict_tenant)
    login(client, admin.email, password)
    _, codes = _enrol(client, csrf_token)
    stored = db.session.scalars(sa.select(RecoveryCode.code_hash).where(RecoveryCode.user_id == admin.id)).all()
    assert len(stored) == 10 and not any(code.replace("-", "") in repr(stored) for code in codes)
    first = new_client()
    login(first, admin.email, password)
    assert _second_step(first, csrf_token, codes[0].lower()).headers["Location"] == f"/{strict_tenant.slug}/"
    again = new_client()
    login(again, admin.email, password)
    assert _second_step(again, csrf_token, codes[0]).status_code == 401
    assert _second_step(again, csrf_token, codes[1]).status_code == 302
    assert "auth.recovery_code_used" in _actions(strict_tenant)


def test_other_roles_only_where_the_tenant_asks(new_client, login, make_user, make_tenant):
    relaxed = make_tenant(two_factor_roles=["admin", "supervisor"])
    strict = make_tenant(two_factor_roles=["admin", "supervisor", "agent"])
    agent, password = make_user(role="agent", tenant=relaxed)
    assert login(new_client(), agent.email, password).headers["Location"] == f"/{relaxed.slug}/"
    strict_agent, strict_password = make_user(role="agent", tenant=strict)
    assert login(new_client(), strict_agent.email, strict_password).headers["Location"] == "/account/two-factor"


def test_the_secret_is_encrypted_at_rest_and_bound_to_its_user(client, login, csrf_token, make_user, strict_tenant):
    admin, password = make_user(tenant=strict_tenant)
    other, _ = make_user(tenant=strict_tenant, role="agent")
    login(client, admin.email, password)
    key, _ = _enrol(client, csrf_token)
    db.session.expire_all()
    stored = db.session.get(User, admin.id)
    assert key.encode() not in stored.totp_secret_wrapped
    assert twofactor.manual_key(stored).replace(" ", "") == key
    victim = db.session.get(User, other.id)
    victim.totp_secret_wrapped, victim.totp_master_key_id = stored.totp_secret_wrapped, stored.totp_master_key_id
    with pytest.raises(DecryptionError):
        twofactor.manual_key(victim)
    db.session.rollback()


def test_a_master_key_rotation_rewraps_the_secret(settings, make_user):
    from saas.core.crypto.keyring import keyring
    from saas.modules.keys import operations as keys

    user, _ = make_user(tenant=False)
    user = db.session.get(User, user.id)
    twofactor.start_enrolment(user)
    assert twofactor.confirm_enrolment(user, twofactor.current_code(user))
    key, old_master = twofactor.manual_key(user), user.totp_master_key_id
    db.session.commit()
    keys.rotate_master(settings)
    db.session.expire_all()
    user = db.session.get(User, user.id)
    assert user.totp_master_key_id == keyring().master.active_id != old_master
    assert twofactor.manual_key(user) == key


def test_wrong_second_factor_codes_lock_the_account(client, new_client, login, csrf_token, make_user,
                                                   strict_tenant):
    admin, password = make_user(tenant=strict_tenant)
    login(client, admin.email, password)
    key, _ = _enrol(client, csrf_token)
    start = clock.now() + timedelta(seconds=60)
    clock.set_now(start)
    browser = new_client()
    login(browser, admin.email, password)
    for _ in range(5):
        assert _second_step(browser, csrf_token, "000000").status_code == 401
    assert _second_step(browser, csrf_token, _code(key)).status_code == 401      # locked: the right code too
    clock.set_now(start + timedelta(seconds=61))
    later = new_client()
    login(later, admin.email, password)
    assert _second_step(later, csrf_token, _code(key)).status_code == 302
