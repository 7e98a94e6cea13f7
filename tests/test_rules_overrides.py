"""`[retention."<policy>"]` in tenants/*.toml: validated against the tenant's plugins, stored by `saas tenants
sync` in `Tenant.retention`, part of the config hash, and what the engine resolves a policy's period from."""
from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

from saas.modules.retention.policies import due_on, resolve
from saas.modules.tenants import queries
from saas.modules.tenants.schemas import RECORD_DATES, TenantConfigError, read_tenant_file
from saas.plugins import manager
from saas.plugins.definitions import RecordView
from saas.testing.rules import view

REGISTRY = manager.load()
BASE = ('slug = "{slug}"\nname = "T"\nlocale = "nl"\nplugins = {plugins}\nrights_request_days = 30\n'
        '[contact]\nrole = "contact"\n')


def tenant_file(tmp_path: Path, body: str, plugins: str = '["leadgen", "employment", "fiscal"]') -> Path:
    path = tmp_path / "override.toml"
    path.write_text(BASE.format(slug="override", plugins=plugins) + body, encoding="utf-8")
    return path


def problems(path: Path) -> list[tuple[str, str]]:
    with pytest.raises(TenantConfigError) as raised:
        read_tenant_file(path, REGISTRY)
    return [(p.key, p.reason) for p in raised.value.problems]


def test_a_valid_override_is_loaded_as_given(tmp_path):
    path = tenant_file(tmp_path, '[retention."employment.applicant_pool"]\nmonths = 6\n'
                                 '[retention."leadgen.prospect_left_company"]\ndays = 3\nanchor = "last_contact_on"\n'
                                 '[retention."fiscal.relation_records"]\nenabled = false\n')
    assert read_tenant_file(path, REGISTRY).fields["retention"] == {
        "employment.applicant_pool": {"months": 6},
        "leadgen.prospect_left_company": {"days": 3, "anchor": "last_contact_on"},
        "fiscal.relation_records": {"enabled": False},
    }


def test_no_table_means_no_overrides(tmp_path):
    assert read_tenant_file(tenant_file(tmp_path, ""), REGISTRY).fields["retention"] == {}


@pytest.mark.parametrize("body, key, reason", [
    ('[retention."recruitment.candidate_purge"]\nmonths = 6\n',             # a plugin the tenant does not use
     'retention."recruitment.candidate_purge"', "unknown retention policy 'recruitment.candidate_purge'"),
    ('[retention."employment.no_such_rule"]\nmonths = 6\n',
     'retention."employment.no_such_rule"', "(known: employment.applicant_pool, "),
    ('[retention.employment.applicant_pool]\nmonths = 6\n',                 # unquoted: TOML nests it
     'retention."employment"', 'quote a dotted name'),
    ('[retention."employment.applicant_pool"]\nmonths = -1\n',
     'retention."employment.applicant_pool".months', "greater than or equal to 0"),
    ('[retention."employment.applicant_pool"]\nmonths = 1.5\n',
     'retention."employment.applicant_pool".months', "Not a valid integer"),
    ('[retention."leadgen.prospect_left_company"]\nanchor = "birthday"\n',
     'retention."leadgen.prospect_left_company".anchor', "must be a date of the record"),
    ('[retention."leadgen.prospect_left_company"]\nanchor = "procedure_outcome"\n',   # a field, not a date
     'retention."leadgen.prospect_left_company".anchor', "must be a date of the record"),
    ('[retention."leadgen.prospect_left_company"]\nenabled = "no"\n',
     'retention."leadgen.prospect_left_company".enabled', "Not a valid boolean"),
    ('[retention."leadgen.prospect_left_company"]\ncolour = "red"\n',
     'retention."leadgen.prospect_left_company".colour', "Unknown field"),
    ('[retention."leadgen.prospect_left_company"]\n',
     'retention."leadgen.prospect_left_company"', "give at least one of years, months, weeks, days, anchor, enabled"),
    ('[retention."employment.applicant_rejected"]\ndays = 20\n',           # the setting is in weeks
     'retention."employment.applicant_rejected".days',
     "is the setting settings.employment.applicant_weeks: give it in weeks only"),
    ('[retention."fiscal.relation_records"]\nyears = 5\n',                  # below the legal minimum
     'retention."fiscal.relation_records".years',
     "greater than or equal to 7. (as settings.fiscal.retention_years)"),
    ('[retention."leadgen.prospect_verification"]\nmonths = 12\n',          # not before the purge any more
     'retention."leadgen.prospect_verification".months',
     "must be shorter than purge_unverified_after_months (as settings.leadgen.verify_after_months)"),
])
def test_a_bad_override_names_the_key_and_the_reason(tmp_path, body, key, reason):
    found = problems(tenant_file(tmp_path, body))
    assert len(found) == 1 and found[0][0] == key and reason in found[0][1], found


def test_overrides_are_checked_together_with_the_settings(tmp_path):
    # Verify at 13 months is fine when the purge override moves to 24 months in the same file.
    body = ('[retention."leadgen.prospect_verification"]\nmonths = 13\n'
            '[retention."leadgen.prospect_unverified"]\nmonths = 24\n')
    assert set(read_tenant_file(tenant_file(tmp_path, body), REGISTRY).fields["retention"]) == {
        "leadgen.prospect_verification", "leadgen.prospect_unverified",
    }
    # A broken settings table and a broken override are reported together.
    body = '[settings.employment]\nemployee_years = "five"\n[retention."employment.applicant_pool"]\nmonths = -2\n'
    assert [key for key, _ in problems(tenant_file(tmp_path, body))] == [
        "settings.employment.employee_years", 'retention."employment.applicant_pool".months',
    ]


def test_anchors_are_the_dates_of_a_record_view():
    assert set(RECORD_DATES) == {
        "created_on", "last_contact_on", "placed_from", "placed_to", "employed_from", "employed_to",
        "relationship_ended_on", "procedure_closed_on", "last_verified_on", "left_company_on",
        "needs_verification_since",
    }
    assert set(RECORD_DATES) < set(RecordView.__dataclass_fields__)


def test_the_config_hash_covers_the_overrides(tmp_path):
    plain = read_tenant_file(tenant_file(tmp_path, ""), REGISTRY).config_hash
    six = read_tenant_file(tenant_file(tmp_path, '[retention."employment.applicant_pool"]\nmonths = 6\n'), REGISTRY)
    seven = read_tenant_file(tenant_file(tmp_path, '[retention."employment.applicant_pool"]\nmonths = 7\n'), REGISTRY)
    assert len({plain, six.config_hash, seven.config_hash}) == 3


# --- what the override does to a due date (the engine's `resolve`, pure) ------------------------------------

def test_an_override_changes_the_due_date_setting_and_definition_otherwise():
    policy = REGISTRY.get("saas_retention_policies", "employment.applicant_pool")
    applicant = view("applicant", procedure_closed_on=date(2026, 1, 31), procedure_outcome="rejected",
                     consents=frozenset({"applicant_pool"}))
    by_definition = resolve(policy, {}, None)
    by_setting = resolve(policy, {"applicant_with_consent_months": 9}, None)
    by_override = resolve(policy, {"applicant_with_consent_months": 9}, {"months": 6})
    assert [due_on(p, applicant) for p in (by_definition, by_setting, by_override)] == [
        date(2027, 1, 31), date(2026, 10, 31), date(2026, 7, 31),
    ]
    moved = resolve(policy, {}, {"anchor": "created_on"})
    assert due_on(moved, applicant) == date(2021, 1, 1)   # created 2020-01-01 + 12 months
    assert resolve(policy, {}, {"enabled": False}).enabled is False


# --- `saas tenants sync` stores them ---------------------------------------------------------------------

OVERRIDE = (
    '\n[retention."leadgen.prospect_left_company"]\n'
    '# A test reason: give agents a week to move the contact to the new company.\n'
    'days = 7\n'
)


def test_sync_stores_overrides_and_updates_when_they_change(ctx, tenant_files, saas_cli):
    directory = str(tenant_files.directory)
    assert saas_cli("tenants", "sync", "--dir", directory).exit_code == 0
    slug = tenant_files.slug("leadhunter")
    assert queries.get_by_slug(slug).retention == {}
    before = queries.get_by_slug(slug).config_hash

    tenant_files.write("leadhunter", tenant_files.read("leadhunter") + OVERRIDE)
    result = saas_cli("tenants", "sync", "--dir", directory)
    assert result.exit_code == 0, result.output
    assert f"updated      {slug}" in result.output
    assert f"unchanged    {tenant_files.slug('kvgo')}" in result.output
    ctx_tenant = _fresh(slug)
    assert ctx_tenant.retention == {"leadgen.prospect_left_company": {"days": 7}}
    assert ctx_tenant.config_hash != before

    tenant_files.write("leadhunter", tenant_files.read("leadhunter").replace(OVERRIDE, ""))
    assert saas_cli("tenants", "sync", "--dir", directory).exit_code == 0
    assert _fresh(slug).retention == {}
    assert _fresh(slug).config_hash == before


def test_a_bad_override_stops_the_sync_and_writes_nothing(ctx, tenant_files, saas_cli, db_snapshot):
    assert saas_cli("tenants", "sync", "--dir", str(tenant_files.directory)).exit_code == 0
    tenant_files.write("zest", tenant_files.read("zest") + '\n[retention."fiscal.relation_records"]\nyears = 8\n')
    tenant_files.replace("kvgo", "rights_request_days = 28", "rights_request_days = 21")
    before = db_snapshot()
    result = saas_cli("tenants", "sync", "--dir", str(tenant_files.directory))
    assert result.exit_code != 0
    assert (f'{tenant_files.path("zest")}: retention."fiscal.relation_records": '
            f"unknown retention policy 'fiscal.relation_records'") in result.output
    assert db_snapshot() == before


def _fresh(slug):
    from saas.extensions import db

    db.session.expire_all()
    return queries.get_by_slug(slug)
