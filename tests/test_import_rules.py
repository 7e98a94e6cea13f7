"""The import rules between core, jobs, plugins and features, enforced by import-linter
(`[tool.importlinter]` in pyproject.toml): core, jobs and the plugin machinery import no feature; sector
plugins import only the plugin API; no import cycle between feature folders, nor between the files of one
feature (known ones are listed there, each with its owner)."""
from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
LINT_IMPORTS = Path(sys.executable).with_name("lint-imports")


def _lint(*args: str, cwd: Path, pythonpath: Path | None = None) -> subprocess.CompletedProcess:
    env = {"PATH": str(LINT_IMPORTS.parent), "PYTHONPATH": str(pythonpath or cwd), "LC_ALL": "C.UTF-8"}
    return subprocess.run([str(LINT_IMPORTS), "--no-cache", *args], cwd=cwd, env=env, capture_output=True,
                          text=True, timeout=600)


def test_the_code_keeps_every_import_rule():
    result = _lint(cwd=ROOT)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "0 broken" in result.stdout


def test_a_core_module_importing_a_feature_breaks_the_rules(tmp_path):
    """The same kind of contract on a made-up tree with a violation fails: the check can fail."""
    package = tmp_path / "shop"
    for folder in ("core", "modules", "modules/orders"):
        (package / folder).mkdir(parents=True)
        (package / folder / "__init__.py").write_text("")
    (package / "__init__.py").write_text("")
    (package / "modules/orders/models.py").write_text("ORDERS = []\n")
    (package / "core/web.py").write_text("from shop.modules.orders.models import ORDERS\n")
    (package / "modules/orders/jobs.py").write_text("from shop.modules.orders import operations\n")
    (package / "modules/orders/operations.py").write_text("from shop.modules.orders import jobs\n")
    (tmp_path / ".importlinter").write_text(textwrap.dedent("""\
        [importlinter]
        root_package = shop

        [importlinter:contract:core]
        name = core knows no feature
        type = forbidden
        source_modules = shop.core
        forbidden_modules = shop.modules

        [importlinter:contract:cycles]
        name = no cycles
        type = acyclic_siblings
        ancestors = shop.modules
        depth = 2
        """))
    result = _lint("--config", str(tmp_path / ".importlinter"), cwd=tmp_path)
    assert result.returncode != 0
    assert "shop.core.web -> shop.modules.orders.models" in result.stdout
    assert "2 broken" in result.stdout, result.stdout
