"""`saas tenants sync`: creates and updates tenants from their files, idempotently, all or nothing."""
from __future__ import annotations

import pytest
import sqlalchemy as sa

from saas.core.crypto.models import TenantKey
from saas.core.tenancy import tenant_context
from saas.extensions import db
from saas.modules.audit.models import AuditEntry
from saas.modules.tenants import queries
from saas.plugins.manager import current_registry


def _tenant(slug):
    db.session.expire_all()
    return queries.get_by_slug(slug)


def test_sync_creates_the_five_tenants_with_plugins_settings_and_keys(ctx, tenant_files, saas_cli):
    result = saas_cli("tenants", "sync", "--dir", str(tenant_files.directory))
    assert result.exit_code == 0, result.output
    for slug in tenant_files.slugs:
        assert f"created      {slug}" in result.output
    leadhunter = _tenant(tenant_files.slug("leadhunter"))
    assert leadhunter.name == "Leadhunter B.V."
    assert leadhunter.plugins == ["leadgen", "employment"]
    assert leadhunter.rights_request_days == 14
    assert leadhunter.plugin_settings("employment") == {
        "applicant_weeks": 4, "applicant_with_consent_months": 12, "employee_years": 5,
    }
    assert leadhunter.contact["email"] == "anton@leadhunter.nl"
    assert len(leadhunter.config_hash) == 64
    kvgo = _tenant(tenant_files.slug("kvgo"))
    assert (kvgo.plugins, kvgo.rights_request_days) == (["fiscal", "association"], 28)
    assert kvgo.plugin_settings("association")["minimum_years"] == 7
    with tenant_context(kvgo.id):
        purposes = db.session.scalars(sa.select(TenantKey.purpose).where(TenantKey.tenant_id == kvgo.id)).all()
        actions = db.session.scalars(sa.select(AuditEntry.action)).all()
    assert sorted(purposes) == ["data", "index"]
    assert actions == ["tenant.configure"]


def test_a_second_sync_changes_nothing_and_says_so(ctx, tenant_files, saas_cli, db_snapshot):
    assert saas_cli("tenants", "sync", "--dir", str(tenant_files.directory)).exit_code == 0
    before = db_snapshot()
    result = saas_cli("tenants", "sync", "--dir", str(tenant_files.directory))
    assert result.exit_code == 0, result.output
    assert "nothing to change" in result.output
    assert all(f"unchanged    {slug}" in result.output for slug in tenant_files.slugs)
    assert db_snapshot() == before


def test_changing_a_value_updates_only_that_tenant(ctx, tenant_files, saas_cli):
    saas_cli("tenants", "sync", "--dir", str(tenant_files.directory))
    kvgo_slug = tenant_files.slug("kvgo")
    old_hash = _tenant(kvgo_slug).config_hash
    tenant_files.replace("kvgo", "rights_request_days = 28", "rights_request_days = 21")
    tenant_files.replace("kvgo", "minimum_years = 7", "minimum_years = 10")
    result = saas_cli("tenants", "sync", "--dir", str(tenant_files.directory))
    assert result.exit_code == 0, result.output
    assert f"updated      {kvgo_slug}" in result.output
    assert f"unchanged    {tenant_files.slug('zest')}" in result.output
    kvgo = _tenant(kvgo_slug)
    assert kvgo.rights_request_days == 21
    assert kvgo.plugin_settings("association")["minimum_years"] == 10
    assert kvgo.config_hash != old_hash


def test_enabling_a_plugin_adds_its_settings(ctx, tenant_files, saas_cli):
    saas_cli("tenants", "sync", "--dir", str(tenant_files.directory))
    tenant_files.replace("zest", 'plugins = ["consultancy"]', 'plugins = ["consultancy", "employment"]')
    assert saas_cli("tenants", "sync", "--dir", str(tenant_files.directory)).exit_code == 0
    zest = _tenant(tenant_files.slug("zest"))
    assert zest.plugins == ["consultancy", "employment"]
    assert zest.plugin_settings("employment") == {
        "applicant_weeks": 4, "applicant_with_consent_months": 12, "employee_years": 5,
    }


def test_dry_run_reports_and_writes_nothing(ctx, tenant_files, saas_cli, db_snapshot):
    before = db_snapshot()
    result = saas_cli("tenants", "sync", "--dir", str(tenant_files.directory), "--dry-run")
    assert result.exit_code == 0, result.output
    assert f"would create {tenant_files.slug('kvgo')}" in result.output
    assert "dry run: nothing was written" in result.output
    assert db_snapshot() == before


INVALID = {
    "unknown key": (
        "zest", lambda f: f.write("zest", 'colour = "blue"\n' + f.read("zest")),
        "colour", "Unknown field.",
    ),
    "unknown plugin": (
        "zest", lambda f: f.replace("zest", 'plugins = ["consultancy"]', 'plugins = ["consultancy", "astrology"]'),
        "plugins", "unknown plugin 'astrology'",
    ),
    "wrong type in plugin settings": (
        "leadhunter", lambda f: f.replace("leadhunter", "employee_years = 5", 'employee_years = "five"'),
        "settings.employment.employee_years", "Not a valid integer.",
    ),
    "settings of a plugin not enabled": (
        "kantoor", lambda f: f.write("kantoor", f.read("kantoor") + "\n[settings.recruitment]\npurge_after_months = 6\n"),
        "settings.recruitment", "plugin 'recruitment' is not in `plugins`",
    ),
    "slug mismatch": (
        "kvgo", lambda f: f.replace("kvgo", f'slug = "{f.slug("kvgo")}"', 'slug = "kvgo-elsewhere"'),
        "slug", "must equal the file name",
    ),
    "TOML syntax error": (
        "kvgo", lambda f: f.replace("kvgo", 'name = "KVGO"', 'name = "KVGO'),
        "TOML syntax", "line",
    ),
}


@pytest.mark.parametrize("case", list(INVALID))
def test_an_invalid_file_names_file_key_reason_and_changes_nothing(ctx, tenant_files, saas_cli, db_snapshot, case):
    seed_slug, break_it, key, reason = INVALID[case]
    assert saas_cli("tenants", "sync", "--dir", str(tenant_files.directory)).exit_code == 0
    # Around the broken file: a valid change and a valid new tenant, which must not be written either.
    tenant_files.replace("client-ict", "rights_request_days = 30", "rights_request_days = 20")
    tenant_files.add_copy("zest", "newcomer")
    break_it(tenant_files)
    before = db_snapshot()

    result = saas_cli("tenants", "sync", "--dir", str(tenant_files.directory))

    assert result.exit_code != 0
    assert "nothing was changed" in result.output
    problem = next(line for line in result.output.splitlines() if str(tenant_files.path(seed_slug)) in line)
    assert problem.strip().startswith(f"{tenant_files.path(seed_slug)}: {key}: "), problem
    assert reason in problem
    assert db_snapshot() == before
    assert queries.find_by_slug(tenant_files.slug("newcomer")) is None


def test_a_slug_that_is_a_portal_path_is_refused(ctx, tenant_files, saas_cli):
    tenant_files.add_copy("zest", "login")
    login = tenant_files.path("login").rename(tenant_files.directory / "login.toml")
    login.write_text(login.read_text(encoding="utf-8").replace(f'slug = "{tenant_files.slug("login")}"', 'slug = "login"'),
                     encoding="utf-8")
    result = saas_cli("tenants", "sync", "--dir", str(tenant_files.directory))
    assert result.exit_code != 0
    assert f"{login}: slug: /login is a path of the portal" in result.output


def test_problems_of_all_files_are_reported_together(ctx, tenant_files, saas_cli):
    tenant_files.replace("zest", "rights_request_days = 30", "rights_request_days = 0")
    tenant_files.replace("leadhunter", "verify_after_months = 6", "verify_after_months = 13")
    result = saas_cli("tenants", "sync", "--dir", str(tenant_files.directory))
    assert result.exit_code != 0
    assert f"{tenant_files.path('zest')}: rights_request_days: " in result.output
    assert f"{tenant_files.path('leadhunter')}: settings.leadgen.verify_after_months: must be shorter" in result.output
    assert all(queries.find_by_slug(slug) is None for slug in tenant_files.slugs)


def test_tenants_plugin_lists_drive_their_definitions(ctx, tenant_files, saas_cli):
    saas_cli("tenants", "sync", "--dir", str(tenant_files.directory))
    registry = current_registry()
    categories = {
        seed: {d.name for d in registry.of("saas_subject_categories", _tenant(tenant_files.slug(seed)).plugins)}
        for seed in ("leadhunter", "kvgo", "client-ict")
    }
    assert categories == {
        "leadhunter": {"prospect", "applicant", "employee"},
        "kvgo": {"client_contact", "relation", "member"},
        "client-ict": {"candidate", "hosting_contact", "system_user"},
    }
    tenant_files.replace("leadhunter", 'plugins = ["leadgen", "employment"]', 'plugins = ["leadgen"]')
    tenant_files.replace("leadhunter", "[settings.employment]", "[settings.leadgen_removed]")
    result = saas_cli("tenants", "sync", "--dir", str(tenant_files.directory))
    assert result.exit_code != 0  # a settings table left behind for a plugin no longer enabled
    text = tenant_files.read("leadhunter")
    tenant_files.write("leadhunter", text[:text.index("[settings.leadgen_removed]")])
    assert saas_cli("tenants", "sync", "--dir", str(tenant_files.directory)).exit_code == 0
    leadhunter = _tenant(tenant_files.slug("leadhunter"))
    assert {d.name for d in registry.of("saas_subject_categories", leadhunter.plugins)} == {"prospect"}
    assert "employment" not in leadhunter.settings


def test_tenants_list_shows_synced_tenants(ctx, tenant_files, saas_cli):
    saas_cli("tenants", "sync", "--dir", str(tenant_files.directory))
    result = saas_cli("tenants", "list")
    assert result.exit_code == 0, result.output
    line = next(l for l in result.output.splitlines() if l.startswith(tenant_files.slug("kvgo")))
    assert "fiscal, association" in line and "28 days" in line
    assert _tenant(tenant_files.slug("kvgo")).config_hash[:12] in line
