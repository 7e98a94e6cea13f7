"""Every hold ends or is reviewed. The liability hold of seed 001 ("voor zo lang dat nodig is in verband met
onze mogelijke aansprakelijkheidspositie") ends `liability_years` after the relationship ended (default 20: the
outer limit for claims for damages, art. 3:310 BW) and is reviewed every year until then; a hold definition
with neither an end nor a review is refused when the plugins load. Dates at the edges, read from the settable
clock as a sweep reads them."""
from __future__ import annotations

import uuid
from datetime import date, timedelta
from types import SimpleNamespace

import pytest
from marshmallow import ValidationError

from saas.core import clock
from saas.modules.retention.engine import Ruleset, forecast
from saas.modules.retention.policies import resolve
from saas.plugins import manager
from saas.plugins.definitions import ErasureException, PluginInfo, RecordView, RetentionPolicy
from saas.plugins.hookspecs import hookimpl

REGISTRY = manager.load()
ONE = timedelta(days=1)
ENDED = date(2019, 3, 1)            # the fiscal 7 years run through 2026: held from 1 January 2027
HELD_FROM = date(2027, 1, 1)
LIABILITY_END = date(2039, 3, 1)    # 20 years after the relationship ended


def liability(**settings):
    definition = REGISTRY.get("saas_retention_policies", "fiscal.client_contact_liability")
    loaded = REGISTRY.settings_schemas["fiscal"]().load({"liability_hold": True, **settings})
    return resolve(definition, loaded, None)


def ex_client() -> RecordView:
    return RecordView(id=uuid.uuid4(), kind="subject", category="client_contact", created_on=date(2015, 1, 1),
                      relationship_ended_on=ENDED)


def decided_on(day: date, policy=None) -> list[tuple[str, date]]:
    """What the daily sweep decides about the ex-client on `day` (the sweep takes its date from the clock)."""
    clock.set_now(day)
    try:
        ruleset = Ruleset([policy or liability()], [], tenant_id=1, today=clock.today())
        return [(d.action, d.due_on) for d in ruleset.decide(ex_client())]
    finally:
        clock.set_now(None)


def test_the_liability_hold_defaults_to_the_twenty_year_outer_limit():
    assert REGISTRY.settings_schemas["fiscal"]().load({})["liability_years"] == 20
    assert liability().hold_years == 20 and liability().review_months == 12


@pytest.mark.parametrize("day, expected", [
    (LIABILITY_END - ONE, [("hold", HELD_FROM), ("review", date(2039, 1, 1))]),
    (LIABILITY_END, [("purge", LIABILITY_END)]),
    (LIABILITY_END + ONE, [("purge", LIABILITY_END)]),       # the same decision: made once
])
def test_the_liability_hold_ends_twenty_years_after_the_relationship(day, expected):
    assert decided_on(day) == expected


@pytest.mark.parametrize("day, expected", [
    (date(2027, 12, 31), [("hold", HELD_FROM)]),
    (date(2028, 1, 1), [("hold", HELD_FROM), ("review", date(2028, 1, 1))]),
    (date(2028, 1, 2), [("hold", HELD_FROM), ("review", date(2028, 1, 1))]),   # the same review: once a year
    (date(2029, 1, 1), [("hold", HELD_FROM), ("review", date(2029, 1, 1))]),
])
def test_the_hold_is_reviewed_every_year_from_its_start(day, expected):
    assert decided_on(day) == expected


@pytest.mark.parametrize("day, action", [
    (date(2029, 2, 28), "hold"), (date(2029, 3, 1), "purge"), (date(2029, 3, 2), "purge"),
])
def test_the_tenant_setting_moves_the_end(day, action):
    assert decided_on(day, liability(liability_years=10))[0][0] == action


def test_the_liability_may_not_end_before_the_fiscal_duty():
    with pytest.raises(ValidationError, match="longer than retention_years"):
        REGISTRY.settings_schemas["fiscal"]().load({"liability_years": 7})


def test_the_forecast_shows_the_review_and_the_end():
    counts = forecast([ex_client()], [liability()], SimpleNamespace(id=1), date(2039, 1, 1), 365)
    key = "fiscal.client_contact_liability@v1"
    assert counts == {("2039-01", key, "review"): 1, ("2039-03", key, "purge"): 1}


def test_a_hold_without_end_or_review_cannot_be_reviewed_away():
    """The association's "until you ask us" has no end: reviewed every year, never purged by a sweep."""
    definition = REGISTRY.get("saas_retention_policies", "association.member_kept")
    policy = resolve(definition, REGISTRY.settings_schemas["association"]().load({}), None)
    member = RecordView(id=uuid.uuid4(), kind="subject", category="member", created_on=date(2015, 1, 1),
                        relationship_ended_on=ENDED)
    decisions = Ruleset([policy], [], 1, date(2060, 6, 1)).decide(member)
    assert [(d.action, d.due_on) for d in decisions] == [("hold", HELD_FROM), ("review", date(2060, 1, 1))]


def _plugin_with(*, policies=(), exceptions=()):
    class HoldPlugin:
        @hookimpl
        def saas_plugin_info(self) -> PluginInfo:
            return PluginInfo(name="holdtest", version="0.1", title="holdtest", description="test plugin")

        @hookimpl
        def saas_retention_policies(self):
            return list(policies)

        @hookimpl
        def saas_erasure_exceptions(self):
            return list(exceptions)

    return HoldPlugin()


def _hold(**fields) -> RetentionPolicy:
    return RetentionPolicy(name="holdtest.keep", version=1, category="candidate", anchor="last_contact_on",
                           action="hold", **fields)


@pytest.mark.parametrize("fields", [{"hold_years": 5}, {"hold_setting": "keep_years"}, {"review_months": 12}])
def test_a_hold_with_an_end_or_a_review_loads(fields):
    registry = manager.load([_plugin_with(policies=[_hold(**fields)])], installed=False)
    assert registry.get("saas_retention_policies", "holdtest.keep").plugin == "holdtest"


@pytest.mark.parametrize("plugin, message", [
    (_plugin_with(policies=[_hold()]), "a hold needs an end .* or a review date"),
    (_plugin_with(policies=[_hold(hold_setting="keep_for")]), "must end in _years"),
    (_plugin_with(policies=[RetentionPolicy(name="holdtest.purge", version=1, category="candidate",
                                            anchor="last_contact_on", action="purge", review_months=12)]),
     "for hold policies only"),
    (_plugin_with(exceptions=[ErasureException(name="holdtest.fields", version=1, category="candidate",
                                               fields=("iban",), reason="tax")]),
     "a legal hold needs an end"),
])
def test_a_hold_without_an_end_or_a_review_is_refused_at_load(plugin, message):
    with pytest.raises(manager.PluginError, match=message):
        manager.load([plugin], installed=False)


def test_the_retention_page_shows_when_a_hold_ends_and_how_often_it_is_reviewed(make_tenant, make_user, browser_as):
    tenant = make_tenant(plugins=["fiscal"], locale="en",
                         settings={"fiscal": {"retention_years": 7, "liability_hold": True, "liability_years": 20}})
    browser = browser_as(*make_user(role="admin", tenant=tenant))
    page = browser.get(f"/{tenant.slug}/retention", headers={"Accept-Language": "en"}).get_data(as_text=True)
    assert "The hold ends 20 years after the end of the relationship." in page
    assert "Reviewed every 12 months while it runs." in page
