"""The shipped tenants/*.toml: valid, and holding what the seeds say."""
from __future__ import annotations

import pytest

from saas.modules.tenants.schemas import TenantConfigError, read_tenant_dir, read_tenant_file
from saas.plugins import manager
from saas.testing.fixtures_plugins import SEED_SLUGS, SHIPPED_TENANTS


@pytest.fixture(scope="module")
def configs():
    return {c.slug: c for c in read_tenant_dir(SHIPPED_TENANTS, manager.load())}


def test_the_five_seed_organisations_are_configured(configs):
    assert tuple(sorted(configs)) == SEED_SLUGS
    assert {slug: c.fields["plugins"] for slug, c in configs.items()} == {
        "zest": ["consultancy"],
        "kantoor": ["fiscal"],
        "client-ict": ["recruitment", "hosting"],
        "kvgo": ["fiscal", "association"],
        "leadhunter": ["leadgen", "employment"],
    }
    assert all(c.fields["locale"] == "nl" for c in configs.values())


def test_rights_request_targets_follow_the_seeds(configs):
    days = {slug: c.fields["rights_request_days"] for slug, c in configs.items()}
    assert days == {"zest": 30, "kantoor": 30, "client-ict": 30, "kvgo": 28, "leadhunter": 14}


def test_plugin_settings_carry_the_seed_values(configs):
    settings = {slug: c.fields["settings"] for slug, c in configs.items()}
    assert settings["leadhunter"]["employment"] == {
        "applicant_weeks": 4, "applicant_with_consent_months": 12, "employee_years": 5,
    }
    assert settings["leadhunter"]["leadgen"]["verify_after_months"] == 6
    assert settings["leadhunter"]["leadgen"]["purge_unverified_after_months"] == 12
    assert settings["client-ict"]["recruitment"] == {
        "reconsent_after_months": 12, "purge_after_months": 24,
    }
    assert len(settings["client-ict"]["hosting"]["sub_processors"]) == 3
    assert settings["kvgo"]["fiscal"]["retention_years"] == 7
    assert settings["kvgo"]["association"]["keep_until_erasure_request"] is True
    assert settings["kantoor"]["fiscal"]["liability_hold"] is True
    assert settings["kantoor"]["fiscal"]["liability_years"] == 20      # art. 3:310 BW
    assert "consultancy" not in settings["zest"]                        # the plugin takes no settings


def test_contacts_are_the_organisations_own(configs):
    contacts = {slug: c.fields["contact"] for slug, c in configs.items()}
    assert contacts["client-ict"]["role"] == "dpo"
    assert contacts["client-ict"]["email"] == "mfalier@client.nl"
    assert contacts["kvgo"]["email"] == "info@kvgo.nl"
    assert contacts["leadhunter"] == {
        "role": "management", "email": "anton@leadhunter.nl", "phone": "088-0039888",
        "address": "Goese Dieplaan 97, 4463LA Goes",
    }
    assert "email" not in contacts["zest"] and "email" not in contacts["kantoor"]


def _is_value(line: str) -> bool:
    return "=" in line and not line.startswith(("#", " ", "[", "slug"))


def test_every_value_has_a_comment_citing_the_seed():
    """A value, or the group of values it stands in, comes right after a comment."""
    for slug in SEED_SLUGS:
        lines = (SHIPPED_TENANTS / f"{slug}.toml").read_text(encoding="utf-8").splitlines()
        for number, line in enumerate(lines):
            if _is_value(line):
                above = next(lines[i] for i in range(number - 1, -1, -1) if not _is_value(lines[i]))
                assert above.lstrip().startswith("#"), f"{slug}.toml line {number + 1}: {line}"


def test_the_config_hash_depends_on_every_value(tmp_path):
    registry = manager.load()
    text = (SHIPPED_TENANTS / "kvgo.toml").read_text(encoding="utf-8")
    path = tmp_path / "kvgo.toml"
    path.write_text(text, encoding="utf-8")
    original = read_tenant_file(path, registry).config_hash
    path.write_text(text.replace("keep_until_erasure_request = true", "keep_until_erasure_request = false"), encoding="utf-8")
    assert read_tenant_file(path, registry).config_hash != original
    path.write_text("# a comment changes nothing\n" + text, encoding="utf-8")
    assert read_tenant_file(path, registry).config_hash == original


def test_leaving_out_a_plugin_table_stores_its_defaults(tmp_path):
    path = tmp_path / "minimal.toml"
    path.write_text('slug = "minimal"\nname = "M"\nlocale = "en"\nplugins = ["fiscal"]\n'
                    'rights_request_days = 30\n[contact]\nrole = "contact"\n', encoding="utf-8")
    config = read_tenant_file(path, manager.load())
    assert config.fields["settings"] == {"fiscal": {"retention_years": 7, "liability_hold": False,
                                                    "liability_years": 20}}


@pytest.mark.parametrize("line, key, reason", [
    ('slug = "Bad_Slug"', "slug", "lowercase letters"),
    ("rights_request_days = 45", "rights_request_days", "less than or equal to 30"),
    ('locale = "de"', "locale", "Must be one of"),
    ('plugins = ["fiscal", "fiscal"]', "plugins", "listed twice"),
])
def test_top_level_values_are_checked(tmp_path, line, key, reason):
    base = {
        "slug": 'slug = "bad-slug"', "name": 'name = "B"', "locale": 'locale = "nl"',
        "plugins": 'plugins = ["fiscal"]', "rights_request_days": "rights_request_days = 30",
    }
    base[line.split(" =")[0]] = line
    path = tmp_path / "bad-slug.toml"
    path.write_text("\n".join(base.values()) + '\n[contact]\nrole = "contact"\n', encoding="utf-8")
    with pytest.raises(TenantConfigError) as raised:
        read_tenant_file(path, manager.load())
    assert [(p.key, reason in p.reason) for p in raised.value.problems] == [(key, True)]


def test_a_settings_table_for_a_plugin_without_settings_is_refused(tmp_path, make_test_plugin):
    registry = manager.load([make_test_plugin("plain")])
    path = tmp_path / "plain-user.toml"
    path.write_text('slug = "plain-user"\nname = "P"\nlocale = "nl"\nplugins = ["plain"]\nrights_request_days = 30\n'
                    '[contact]\nrole = "contact"\n[settings.plain]\nx = 1\n', encoding="utf-8")
    with pytest.raises(TenantConfigError, match="settings.plain: plugin 'plain' takes no settings"):
        read_tenant_file(path, registry)
