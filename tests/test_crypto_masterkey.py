"""The master key: a 0600 file on a laptop, the environment in production."""
import stat

import pytest

from saas import create_app
from saas.config import DEMO_SECRET_KEY, ConfigError, Settings
from saas.core.crypto import masterkey
from saas.core.crypto.masterkey import MasterKeyError


def _mode(path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_key_file_is_created_with_mode_0600(tmp_path):
    path = tmp_path / "instance" / "master.key"
    ring = masterkey.load("", str(path), create=True)
    assert _mode(path) == 0o600
    assert masterkey.load("", str(path), create=False) == ring


def test_rewritten_key_file_stays_0600_and_leaves_no_temporary_file(tmp_path):
    path = tmp_path / "master.key"
    masterkey.write_file(path, masterkey.generate())
    ring = masterkey.parse(path.read_text()).with_new_active()
    masterkey.write_file(path, ring)
    assert _mode(path) == 0o600
    assert masterkey.parse(path.read_text()) == ring
    assert [p.name for p in tmp_path.iterdir()] == ["master.key"]


def test_a_missing_key_file_is_not_invented_when_creation_is_off(tmp_path):
    with pytest.raises(MasterKeyError):
        masterkey.load("", str(tmp_path / "master.key"), create=False)


@pytest.mark.parametrize("text", ["no-separator", "mk-1:c2hvcnQ=", ""])
def test_malformed_key_rings_are_refused(text):
    with pytest.raises(MasterKeyError):
        masterkey.parse(text)


def _production(tmp_path, **overrides) -> Settings:
    values = dict(
        env="production", instance_path=tmp_path, secret_key="a-real-secret", master_key=masterkey.generate().serialise(),
        database_url="postgresql+psycopg://app@db/saas", redis_url="redis://redis:6379/0", smtp_url="smtp://mail:25",
        base_url="https://privacy.example.nl",
    )
    values.update(overrides)
    return Settings.from_env(**values)


def test_production_accepts_a_complete_configuration(tmp_path):
    _production(tmp_path).check_production()


@pytest.mark.parametrize("overrides, complaint", [
    ({"master_key": ""}, "SAAS_MASTER_KEY"),
    ({"secret_key": DEMO_SECRET_KEY}, "SECRET_KEY"),
    ({"database_url": ""}, "DATABASE_URL"),
    ({"redis_url": ""}, "REDIS_URL"),
])
def test_production_refuses_demo_keys_and_embedded_services(tmp_path, overrides, complaint):
    settings = _production(tmp_path, **overrides)
    with pytest.raises(ConfigError, match=complaint):
        settings.check_production()
    with pytest.raises(ConfigError, match=complaint):
        create_app(settings)
    assert not (tmp_path / "master.key").exists()


def test_a_new_key_file_never_replaces_one_another_process_made_first(tmp_path):
    path = tmp_path / "instance" / "master.key"
    first = masterkey.create_file(path, masterkey.generate())
    assert masterkey.create_file(path, masterkey.generate()) == first
    assert _mode(path) == 0o600 and [p.name for p in path.parent.iterdir()] == ["master.key"]
