"""Settings: embedded defaults for a laptop, strict ones in production, and no secret in any log."""
import logging
import os
import stat

import pytest
from flask_migrate import upgrade

from saas import create_app
from saas.config import DEMO_SECRET_KEY, ConfigError, Settings, default_instance_path
from saas.core.crypto import masterkey

ENV_NAMES = (
    "SAAS_ENV", "SECRET_KEY", "DATABASE_URL", "DATABASE_OWNER_URL", "KEYS_DATABASE_URL",
    "KEYS_DATABASE_OWNER_URL", "REDIS_URL", "SAAS_MASTER_KEY", "SAAS_MASTER_KEY_FILE", "SAAS_STORAGE_PATH",
    "SMTP_URL", "MAIL_FROM", "SAAS_TENANTS_DIR", "SAAS_APP_ROLE", "SAAS_INSTANCE_PATH",
)
SECRET_KEY = "prod-secret-7f3c9a1e5b"
DB_PASSWORD = "db-pass-51c2e8"
REDIS_PASSWORD = "redis-pass-a9d4"


@pytest.fixture()
def clean_env(monkeypatch, tmp_path):
    """No setting in the environment but the instance folder (tmp_path/instance); the working directory
    is another empty folder."""
    for name in ENV_NAMES:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("SAAS_INSTANCE_PATH", str(tmp_path / "instance"))
    (tmp_path / "cwd").mkdir()
    monkeypatch.chdir(tmp_path / "cwd")
    return monkeypatch


@pytest.fixture()
def production_env(clean_env):
    """A complete production environment (never connected to: starting up opens no connection)."""
    master = masterkey.generate().serialise()
    values = {
        "SAAS_ENV": "production",
        "SECRET_KEY": SECRET_KEY,
        "SAAS_MASTER_KEY": master,
        "DATABASE_URL": f"postgresql+psycopg://saas_app:{DB_PASSWORD}@127.0.0.1:5432/saas",
        "REDIS_URL": f"redis://:{REDIS_PASSWORD}@127.0.0.1:6379/0",
        "SMTP_URL": "smtp://127.0.0.1:25",
        "SAAS_BASE_URL": "https://privacy.example.nl",
    }
    for name, value in values.items():
        clean_env.setenv(name, value)
    return values


def test_complete_production_settings_are_accepted(production_env):
    Settings.from_env().check_production()


@pytest.mark.parametrize("name, value, named", [
    ("SECRET_KEY", DEMO_SECRET_KEY, "SECRET_KEY"),
    ("SECRET_KEY", None, "SECRET_KEY"),
    ("SAAS_MASTER_KEY", None, "SAAS_MASTER_KEY"),
    ("DATABASE_URL", "sqlite:///instance/saas.db", "DATABASE_URL"),
    ("DATABASE_URL", None, "DATABASE_URL"),
    ("REDIS_URL", None, "REDIS_URL"),
    ("SAAS_BASE_URL", "http://privacy.example.nl", "SAAS_BASE_URL"),
    ("SAAS_BASE_URL", None, "SAAS_BASE_URL"),
])
def test_production_refuses_to_start(production_env, clean_env, tmp_path, name, value, named):
    if value is None:
        clean_env.delenv(name)
    else:
        clean_env.setenv(name, value)
    if name == "SAAS_MASTER_KEY":  # a key file is no substitute in production
        key_file = tmp_path / "master.key"
        masterkey.write_file(key_file, masterkey.generate())
        clean_env.setenv("SAAS_MASTER_KEY_FILE", str(key_file))
    with pytest.raises(ConfigError, match=named) as refused:
        create_app()
    message = str(refused.value)
    assert not any(secret in message for secret in (SECRET_KEY, DB_PASSWORD, REDIS_PASSWORD, production_env["SAAS_MASTER_KEY"]))
    assert not (tmp_path / "instance").exists(), "refused before creating anything"


def test_embedded_defaults_keep_everything_under_instance(clean_env, tmp_path, redis_server):
    clean_env.setenv("REDIS_URL", redis_server.url)   # the only setting given: no embedded Redis here
    instance = (tmp_path / "instance").resolve()
    settings = Settings.from_env()
    assert (settings.env, settings.production) == ("development", False)
    assert settings.database_url == f"sqlite:///{instance / 'saas.db'}"
    assert settings.keys_database_url == f"sqlite:///{instance / 'keys.db'}"
    assert settings.master_key == "" and settings.master_key_file == str(instance / "master.key")

    app = create_app(settings)
    assert not instance.exists(), "creating the app creates nothing; what needs a file makes it on first use"
    with app.app_context():
        upgrade()
        old_umask = os.umask(0)  # the key file is private whatever the umask
        try:
            ring = app.extensions["saas.keyring"].master
        finally:
            os.umask(old_umask)
    key_file = instance / "master.key"
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    assert masterkey.parse(key_file.read_text()) == ring
    assert {"saas.db", "keys.db", "master.key"} <= {p.name for p in instance.iterdir()}
    assert not any((tmp_path / "cwd").iterdir()), "nothing in the working directory"


def test_the_default_instance_folder_does_not_depend_on_the_working_directory(clean_env, tmp_path):
    clean_env.delenv("SAAS_INSTANCE_PATH")
    first = Settings.from_env().instance_path
    clean_env.chdir(tmp_path)
    assert Settings.from_env().instance_path == first == default_instance_path().resolve()
    assert tmp_path not in first.parents


def test_restart_reuses_the_generated_master_key(clean_env, tmp_path, redis_server):
    clean_env.setenv("REDIS_URL", redis_server.url)
    first_app = create_app()
    with first_app.app_context():
        upgrade()
        first = first_app.extensions["saas.keyring"].master
    second_app = create_app()
    with second_app.app_context():
        assert second_app.extensions["saas.keyring"].master == first
    assert masterkey.parse((tmp_path / "instance" / "master.key").read_text()) == first


def test_settings_never_show_secrets(production_env, caplog):
    settings = Settings.from_env()
    secrets = (SECRET_KEY, DB_PASSWORD, REDIS_PASSWORD, production_env["SAAS_MASTER_KEY"],
               production_env["SAAS_MASTER_KEY"].partition(":")[2])
    caplog.set_level(logging.DEBUG)
    logging.getLogger("saas").info("starting with %s", settings)
    shown = repr(settings) + str(settings) + caplog.text
    assert "saas_app:***@127.0.0.1" in shown and "secret_key='***'" in shown
    assert [s for s in secrets if s in shown] == []


def test_starting_the_app_logs_no_secret(clean_env, tmp_path, redis_server, caplog):
    master = masterkey.generate().serialise()
    clean_env.setenv("SECRET_KEY", SECRET_KEY)
    clean_env.setenv("SAAS_MASTER_KEY", master)
    clean_env.setenv("REDIS_URL", redis_server.url)
    caplog.set_level(logging.DEBUG)
    create_app()
    assert [s for s in (SECRET_KEY, master, master.partition(":")[2]) if s in caplog.text] == []
