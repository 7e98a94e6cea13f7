"""Fixtures for the plugins and tenant-configuration tests."""
from __future__ import annotations

import re
import shutil
import uuid
from dataclasses import dataclass
from pathlib import Path

import pytest
import sqlalchemy as sa

from saas.core.crypto.models import TenantKey
from saas.core.tenancy import tenant_context
from saas.extensions import db
from saas.modules.audit.models import AuditEntry
from saas.modules.tenants.models import Tenant
from saas.plugins.definitions import PluginInfo, SubjectCategory
from saas.plugins.hookspecs import hookimpl

SHIPPED_TENANTS = Path(__file__).resolve().parents[2] / "tenants"
SEED_SLUGS = ("client-ict", "kantoor", "kvgo", "leadhunter", "zest")


@pytest.fixture()
def make_test_plugin():
    """A plugin object with `saas_plugin_info` and the given subject categories (by name)."""

    def _make(name: str, categories: tuple[str, ...] = ()):
        class TestPlugin:
            @hookimpl
            def saas_plugin_info(self) -> PluginInfo:
                return PluginInfo(name=name, version="0.1", title=name, description="test plugin")

            @hookimpl
            def saas_subject_categories(self) -> list[SubjectCategory]:
                return [SubjectCategory(name=category, version=1) for category in categories]

        return TestPlugin()

    return _make


@dataclass
class TenantFiles:
    """Copies of the shipped tenants/*.toml under unique slugs, so tests own their tenants."""

    directory: Path
    suffix: str

    def slug(self, seed_slug: str) -> str:
        return f"{seed_slug}-{self.suffix}"

    def path(self, seed_slug: str) -> Path:
        return self.directory / f"{self.slug(seed_slug)}.toml"

    @property
    def slugs(self) -> list[str]:
        return [self.slug(s) for s in SEED_SLUGS]

    def read(self, seed_slug: str) -> str:
        return self.path(seed_slug).read_text(encoding="utf-8")

    def write(self, seed_slug: str, text: str) -> None:
        self.path(seed_slug).write_text(text, encoding="utf-8")

    def replace(self, seed_slug: str, old: str, new: str) -> None:
        text = self.read(seed_slug)
        assert old in text, f"{old!r} not in {seed_slug}"
        self.write(seed_slug, text.replace(old, new, 1))

    def add_copy(self, seed_slug: str, new_seed_slug: str) -> None:
        """A new tenant file: a copy of another one under a new slug."""
        text = self.read(seed_slug).replace(f'slug = "{self.slug(seed_slug)}"', f'slug = "{self.slug(new_seed_slug)}"')
        self.write(new_seed_slug, text)


def copy_tenant_files(target: Path, suffix: str) -> TenantFiles:
    target.mkdir(parents=True, exist_ok=True)
    for seed_slug in SEED_SLUGS:
        text = (SHIPPED_TENANTS / f"{seed_slug}.toml").read_text(encoding="utf-8")
        text, count = re.subn(rf'^slug = "{seed_slug}"$', f'slug = "{seed_slug}-{suffix}"', text, flags=re.M)
        assert count == 1, seed_slug
        (target / f"{seed_slug}-{suffix}.toml").write_text(text, encoding="utf-8")
    return TenantFiles(target, suffix)


@pytest.fixture()
def tenant_files(tmp_path) -> TenantFiles:
    files = copy_tenant_files(tmp_path / "tenants", uuid.uuid4().hex[:8])
    yield files
    shutil.rmtree(files.directory, ignore_errors=True)


@pytest.fixture()
def saas_cli(app):
    """Run a `saas ...` command against the test app; returns click's Result."""
    from saas.cli import cli

    runner = app.test_cli_runner()

    def _run(*args: str):
        db.session.commit()  # the command shares this app context's session; start it clean
        return runner.invoke(cli, list(args))

    return _run


def _counts_of(tenant_id: int) -> tuple[int, int]:
    """(tenant keys, audit lines) of one tenant, read as that tenant (RLS on PostgreSQL)."""
    db.session.rollback()
    with tenant_context(tenant_id):
        keys = db.session.scalar(sa.select(sa.func.count()).select_from(TenantKey).where(TenantKey.tenant_id == tenant_id))
        lines = db.session.scalar(sa.select(sa.func.count()).select_from(AuditEntry))
        db.session.rollback()
    return keys, lines


@pytest.fixture()
def db_snapshot(ctx, tenant_files):
    """Everything a tenant sync may write: every tenant row, and the keys and audit lines of the test's tenants."""

    def _take() -> dict:
        db.session.rollback()
        db.session.expire_all()
        rows = {
            t.slug: (t.id, t.name, t.locale, t.plugins, t.settings, t.contact, t.rights_request_days,
                     t.config_hash, t.active, t.updated_at)
            for t in db.session.scalars(sa.select(Tenant))
        }
        ours = [row[0] for slug, row in rows.items() if slug.endswith(f"-{tenant_files.suffix}")]
        return {"tenants": rows, "tenant_rows": len(rows), "per_tenant": {i: _counts_of(i) for i in ours}}

    return _take
