"""Every hook is prefixed, typed, documented in its docstring and in docs/plugins.md; the shipped plugins
implement only known hooks."""
from __future__ import annotations

import inspect
import types
from importlib.metadata import entry_points
from pathlib import Path

import pluggy
import pytest

from saas.plugins import hookspecs, manager
from saas.plugins.definitions import DEFINITION_HOOKS

DOCS = Path(__file__).resolve().parents[1] / "docs" / "plugins.md"


def hook_specs(module) -> dict[str, object]:
    """name -> spec function of every hook the module declares."""
    marker = f"{hookspecs.PROJECT}_spec"
    return {name: fn for name, fn in vars(module).items() if inspect.isfunction(fn) and hasattr(fn, marker)}


def documented_signature(fn) -> str:
    """The signature as docs/plugins.md must show it, from the spec's own annotations."""
    annotations = dict(fn.__annotations__)
    returns = annotations.pop("return", None)
    params = ", ".join(f"{name}: {kind}" for name, kind in annotations.items())
    return f"{fn.__name__}({params}) -> {returns}"


def hook_problems(module, docs: str) -> list[str]:
    problems = []
    for name, fn in hook_specs(module).items():
        if not name.startswith("saas_"):
            problems.append(f"{name}: not prefixed saas_")
        if not (fn.__doc__ or "").strip():
            problems.append(f"{name}: no docstring")
        if "return" not in fn.__annotations__ or any(p not in fn.__annotations__ for p in inspect.signature(fn).parameters):
            problems.append(f"{name}: not fully typed")
        if f"### `{documented_signature(fn)}`" not in docs:
            problems.append(f"{name}: not described in docs/plugins.md as `{documented_signature(fn)}`")
    return problems


def test_every_hook_is_prefixed_typed_and_documented():
    assert hook_specs(hookspecs), "no hook specs found"
    assert hook_problems(hookspecs, DOCS.read_text(encoding="utf-8")) == []


def test_the_check_catches_an_undocumented_hook():
    spec = pluggy.HookspecMarker(hookspecs.PROJECT)
    fake = types.ModuleType("fake_specs")

    def saas_new_thing(tenant: str) -> list[str]:
        pass

    fake.saas_new_thing = spec(saas_new_thing)
    docs = DOCS.read_text(encoding="utf-8")
    assert hook_problems(fake, docs) == [
        "saas_new_thing: no docstring",
        "saas_new_thing: not described in docs/plugins.md as `saas_new_thing(tenant: str) -> list[str]`",
    ]


def test_every_registration_hook_is_collected_by_the_registry():
    list_hooks = {name for name, fn in hook_specs(hookspecs).items() if fn.__annotations__["return"].startswith("list[")}
    assert list_hooks == set(DEFINITION_HOOKS)


def test_shipped_plugins_implement_only_known_hooks():
    pm = manager.new_manager()
    names = []
    for ep in entry_points(group=manager.ENTRY_POINT_GROUP):
        pm.register(ep.load(), name=ep.name)
        names.append(ep.name)
    pm.check_pending()
    assert sorted(names) == ["association", "consultancy", "employment", "fiscal", "hosting", "leadgen", "recruitment"]
    for _, plugin in pm.list_name_plugin():
        implemented = {name for name in vars(plugin) if name.startswith("saas_")}
        assert implemented <= set(hook_specs(hookspecs)), plugin.__name__


def test_a_hookimpl_of_an_unknown_hook_is_refused(make_test_plugin):
    class Misspelt:
        @hookspecs.hookimpl
        def saas_retention_policy(self):
            return []

    plugin = make_test_plugin("misspelt")
    plugin.saas_retention_policy = Misspelt().saas_retention_policy
    with pytest.raises(manager.PluginError, match="unknown hook 'saas_retention_policy'"):
        manager.load([plugin])
