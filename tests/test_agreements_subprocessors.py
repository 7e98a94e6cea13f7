"""Sub-processor changes under a general authorisation (art. 28(2)): the controller is mailed a link and may
object until the end of the notice period (Europe/Amsterdam), tested the day before, the day of and after."""
from __future__ import annotations

import logging
import re
from datetime import datetime, timedelta, timezone

import pytest
import sqlalchemy as sa

from saas.core import clock
from saas.core.errors import DomainError
from saas.extensions import db
from saas.modules.agreements import drafting, queries, sub_processors
from saas.modules.agreements.models import SubProcessor
from saas.modules.agreements.views import RedactObjectionTokens
from saas.modules.outbox.models import OutboxMail
from saas.testing.agreements import SIGNER_EMAIL, agreement_queue, agreements_world  # noqa: F401  (fixtures)
from saas.testing.fixtures_web import find_csrf_token

ANNOUNCED = datetime(2026, 3, 10, 11, 0, tzinfo=timezone.utc)          # noon in Amsterdam (CET)
# 30 days' notice: the last day is 9 April 2026, summer time by then; the period ends 23:59:59 CEST.
DEADLINE = datetime(2026, 4, 9, 21, 59, 59, tzinfo=timezone.utc)
LINK = re.compile(r"https?://[^/\s]+(/objection/[^/\s]+/[A-Za-z0-9_-]+)")


def _announce(world, agreement_id, name: str) -> tuple[str, str]:
    """Announce a new sub-processor; returns its id and the path of the objection link in the mail."""
    clock.set_now(ANNOUNCED)
    agreement = world.get(agreement_id)
    sub = sub_processors.add_sub_processor(agreement, name, "IE", "e-mail verzenden")
    sub_id = sub.id
    world.leave()
    world.enter()
    mail = db.session.scalars(sa.select(OutboxMail).where(OutboxMail.template == "agreement_sub_processor_change")
                              .order_by(OutboxMail.created_at.desc())).first()
    assert mail.recipient == SIGNER_EMAIL and name in mail.body
    path = LINK.search(mail.body).group(1)
    world.leave()
    return sub_id, path


def _object(new_client, path: str, reason: str = "Wij willen geen verwerking buiten de EER."):
    browser = new_client()
    page = browser.get(path)
    assert page.status_code == 200
    text = page.get_data(as_text=True)
    if 'id="objection-form"' not in text:
        return page, text
    response = browser.post(path, data={"reason": reason, "csrf_token": find_csrf_token(text)})
    return response, browser.get(path).get_data(as_text=True)


def test_a_change_is_mailed_with_a_deadline_at_the_end_of_the_last_day(agreements_world):
    world = agreements_world
    agreement_id = world.completed()
    sub_id, path = _announce(world, agreement_id, "Mailverzender Ltd")
    world.enter()
    sub = db.session.get(SubProcessor, sub_id)
    assert (sub.change, queries.aware(sub.objection_until)) == ("added", DEADLINE)
    assert queries.sub_processor_state(sub, DEADLINE) == "announced"
    assert queries.sub_processor_state(sub, DEADLINE + timedelta(seconds=1)) == "effective"
    assert sub.objection_token_hash is not None and path.split("/")[-1].encode() not in sub.objection_token_hash
    assert "subprocessor_announced" in world.events(agreement_id)
    mail = db.session.scalar(sa.select(OutboxMail).where(OutboxMail.template == "agreement_sub_processor_change"))
    assert "2026-04-09 23:59:59 CEST" in mail.body


@pytest.mark.parametrize("moment, accepted", [
    (DEADLINE - timedelta(days=1), True),                     # the day before the last day
    (DEADLINE - timedelta(hours=1), True),                    # the last day, late in the evening
    (DEADLINE + timedelta(seconds=1), False),                 # just after midnight: too late
    (DEADLINE + timedelta(days=1), False),                    # the day after
])
def test_the_controller_may_object_until_the_end_of_the_notice_period(agreements_world, new_client, moment, accepted):
    world = agreements_world
    agreement_id = world.completed()
    sub_id, path = _announce(world, agreement_id, "Mailverzender Ltd")
    clock.set_now(moment)
    response, page = _object(new_client, path)
    world.enter()
    sub = db.session.get(SubProcessor, sub_id)
    if accepted:
        assert response.status_code == 302 and 'data-state="objected"' in page
        assert sub.objected_at is not None and sub.objection_reason.startswith("Wij willen")
        assert queries.sub_processor_state(sub) == "objected" and not queries.in_annex(sub)
        note = db.session.scalar(sa.select(OutboxMail).where(OutboxMail.template == "agreement_objection"))
        assert note.recipient == world.admin_email and "Mailverzender Ltd" in note.body
        assert "subprocessor_objected" in world.events(agreement_id)
    else:
        assert 'data-state="closed"' in page and 'id="objection-form"' not in page
        assert sub.objected_at is None and queries.sub_processor_state(sub) == "effective"
        world.enter()
        with pytest.raises(DomainError):
            sub_processors.object_to_change(db.session.get(SubProcessor, sub_id), "te laat")


def test_a_second_objection_and_a_missing_reason_are_refused(agreements_world, new_client):
    world = agreements_world
    sub_id, path = _announce(world, world.completed(), "Mailverzender Ltd")
    clock.set_now(ANNOUNCED + timedelta(days=2))
    browser = new_client()
    text = browser.get(path).get_data(as_text=True)
    empty = browser.post(path, data={"reason": " ", "csrf_token": find_csrf_token(text)})
    assert empty.status_code == 400
    _object(new_client, path)
    world.enter()
    with pytest.raises(DomainError):
        sub_processors.object_to_change(db.session.get(SubProcessor, sub_id), "nogmaals")


def test_a_removal_is_announced_and_takes_effect_after_the_period(agreements_world):
    world = agreements_world
    agreement_id = world.completed()
    clock.set_now(ANNOUNCED)
    agreement = world.get(agreement_id)
    (hosting,) = queries.sub_processors_of(agreement)
    sub_processors.remove_sub_processor(agreement, hosting)
    hosting_id = hosting.id
    world.leave()
    world.enter()
    hosting = db.session.get(SubProcessor, hosting_id)
    assert queries.sub_processor_state(hosting) == "removal_announced" and queries.in_annex(hosting)
    clock.set_now(DEADLINE + timedelta(seconds=1))
    assert queries.sub_processor_state(hosting) == "removed" and not queries.in_annex(hosting)
    new = drafting.new_version(world.get(agreement_id), world.admin_id)
    assert queries.sub_processors_of(new) == []


def test_changes_are_announced_only_for_completed_processor_agreements_with_general_authorisation(agreements_world):
    world = agreements_world
    draft_id = world.draft()
    sent_id = world.sent()
    as_controller = world.completed(tenant_role="controller")
    specific = world.completed(fields={**world.input().fields, "subprocessor_authorisation": "specific"})
    world.enter()
    sub_processors.add_sub_processor(world.get(draft_id), "Nieuw B.V.", "NL", "backup")     # a draft: simply added
    world.leave()
    assert [s.change for s in queries.sub_processors_of(world.get(draft_id))] == ["existing", "existing"]
    for agreement_id in (sent_id, as_controller, specific):
        world.enter()
        with pytest.raises(DomainError):
            sub_processors.add_sub_processor(world.get(agreement_id), "Nieuw B.V.", "NL", "backup")
        db.session.rollback()
    world.enter()
    assert db.session.scalar(sa.select(sa.func.count()).select_from(OutboxMail).where(
        OutboxMail.template == "agreement_sub_processor_change")) == 0


def test_the_objection_page_answers_404_for_a_wrong_token_or_tenant(agreements_world, new_client, make_tenant):
    world = agreements_world
    _, path = _announce(world, world.completed(), "Mailverzender Ltd")
    browser = new_client()
    slug, token = path.split("/")[2], path.split("/")[3]
    other = make_tenant()
    assert browser.get(f"/objection/{slug}/{token[:-2]}xx").status_code == 404
    assert browser.get(f"/objection/{other.slug}/{token}").status_code == 404
    assert browser.get(f"/objection/no-such-tenant/{token}").status_code == 404
    assert browser.get(f"/objection/{slug}/{token}").status_code == 200


def test_the_portal_shows_the_open_objection_window(agreements_world, client, login):
    world = agreements_world
    agreement_id = world.completed()
    _announce(world, agreement_id, "Mailverzender Ltd")
    clock.set_now(ANNOUNCED + timedelta(days=1))
    login(client, world.admin_email, world.password)
    listing = client.get(f"/{world.slug}/agreements").get_data(as_text=True)
    assert "2026-04-09 23:59" in listing
    detail = client.get(f"/{world.slug}/agreements/{agreement_id}").get_data(as_text=True)
    assert 'data-state="announced"' in detail


def test_objection_tokens_stay_out_of_the_logs():
    record = logging.LogRecord("werkzeug", logging.INFO, __file__, 1, '"GET /objection/%s/%s HTTP/1.1" 200', ("leadhunter", "A" * 43), None)
    RedactObjectionTokens().filter(record)
    assert record.getMessage() == '"GET /objection/leadhunter/[token] HTTP/1.1" 200'
