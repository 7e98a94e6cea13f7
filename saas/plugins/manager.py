"""Discovers plugins (entry-point group `saas.plugins`), checks them once, keeps their definitions.

Everything that can be wrong with a plugin set is found here, at start-up, and raised as `PluginError`:
a plugin without `saas_plugin_info`, an implementation of a hook that does not exist, two plugins or two
definitions with one name, a hook returning the wrong type. The `Registry` it builds is read-only.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field, replace
from importlib.metadata import entry_points
from types import MappingProxyType
from typing import Iterable, Iterator, Mapping

import pluggy
from flask import current_app
from marshmallow import Schema

from saas.plugins import hookspecs
from saas.plugins.definitions import DEFINITION_HOOKS, Definition, PluginInfo

ENTRY_POINT_GROUP = "saas.plugins"
# A plugin name is a key in tenants/<slug>.toml (`[settings.<name>]`): keep it a plain identifier.
PLUGIN_NAME = re.compile(r"^[a-z][a-z0-9_]*$")


class PluginError(RuntimeError):
    """A plugin set that cannot start: missing info, unknown hooks, duplicate names, wrong types."""


def _frozen(mapping: dict) -> Mapping:
    return MappingProxyType(dict(mapping))


@dataclass(frozen=True)
class Registry:
    """What the installed plugins registered, read once at start-up. All mappings are read-only."""

    plugins: Mapping[str, PluginInfo] = field(default_factory=lambda: _frozen({}))
    settings_schemas: Mapping[str, type[Schema]] = field(default_factory=lambda: _frozen({}))
    definitions: Mapping[str, Mapping[str, Definition]] = field(default_factory=lambda: _frozen({}))  # hook -> name -> def
    manager: pluggy.PluginManager | None = field(default=None, compare=False)

    def of(self, hook: str, plugins: Iterable[str] | None = None) -> list[Definition]:
        """Definitions of one kind, optionally only those of the given plugins (a tenant's `plugins`)."""
        if hook not in self.definitions:
            raise KeyError(f"{hook!r} is not a registration hook (one of {', '.join(self.definitions)})")
        wanted = None if plugins is None else set(plugins)
        return [d for d in self.definitions[hook].values() if wanted is None or d.plugin in wanted]

    def get(self, hook: str, name: str) -> Definition:
        """One definition by its unique name; KeyError when no plugin registered it."""
        return self.definitions[hook][name]

    def categories(self, plugins: Iterable[str]) -> list[str]:
        """The subject categories a tenant with these plugins can hold: only what its plugins declare."""
        return sorted(d.name for d in self.of("saas_subject_categories", plugins))

    def uncovered_categories(self, plugins: Iterable[str], overrides: Mapping[str, Mapping] | None = None
                             ) -> dict[str, list[str]]:
        """Categories of these plugins that no retention policy of these plugins keeps (none at all, or all
        switched off, by the definition or by the tenant's `[retention."<name>"]` override), each with the
        plugins that declare it. A person in such a category would be kept for ever."""
        plugins = list(plugins)
        overrides = overrides or {}
        covered = {
            policy.category for policy in self.of("saas_retention_policies", plugins)
            if bool(overrides.get(policy.name, {}).get("enabled", policy.enabled))
        }
        return {c.name: [c.plugin] for c in self.of("saas_subject_categories", plugins) if c.name not in covered}

    def category_flag(self, category: str, flag: str) -> bool:
        """A yes/no property a plugin declares for one of its categories (False for an unknown category)."""
        definition = self.definitions["saas_subject_categories"].get(category)
        return bool(getattr(definition, flag, False)) if definition is not None else False

    def plugins_with(self, flag: str, plugins: Iterable[str], settings: Mapping[str, Mapping]) -> list[str]:
        """Of these plugins, those that declare the behaviour `flag` (`PluginInfo.behaviours`) and do not switch
        it off in the tenant's settings (a setting of the same name, when the plugin has one). Core asks for a
        behaviour, never for a plugin by name."""
        found = []
        for name in plugins:
            info = self.plugins.get(name)
            if info is None or flag not in info.behaviours:
                continue
            if bool((settings.get(name) or {}).get(flag, True)):
                found.append(name)
        return found


def current_registry() -> Registry:
    """The registry of the running app (built by `create_app`)."""
    return current_app.extensions["saas.plugins"]


def new_manager() -> pluggy.PluginManager:
    pm = pluggy.PluginManager(hookspecs.PROJECT)
    pm.add_hookspecs(hookspecs)
    return pm


def load(extra_plugins: Iterable[object] = (), *, installed: bool = True) -> Registry:
    """Load the installed plugins (unless `installed=False`) plus `extra_plugins` (objects, for tests),
    check them, and build the registry. Raises PluginError on any problem."""
    pm = new_manager()
    from_entry_points: set[str] = set()
    try:
        if installed:
            from_entry_points = _register_entry_points(pm)
        for plugin in extra_plugins:
            pm.register(plugin)
        pm.check_pending()
    except (pluggy.PluginValidationError, ValueError) as exc:
        raise PluginError(f"plugin refused: {exc}") from exc
    return build_registry(pm, from_entry_points)


def _register_entry_points(pm: pluggy.PluginManager) -> set[str]:
    """Like pluggy's loader, except that two entry points with one name are an error, not a silent skip."""
    seen: dict[str, str] = {}
    for ep in entry_points(group=ENTRY_POINT_GROUP):
        if ep.name in seen:
            if seen[ep.name] == ep.value:
                continue  # the same distribution seen twice on sys.path
            raise PluginError(f"two plugins are called {ep.name!r} ({seen[ep.name]} and {ep.value})")
        seen[ep.name] = ep.value
        pm.register(ep.load(), name=ep.name)
    return set(seen)


def _call_each(pm: pluggy.PluginManager, hook_name: str) -> Iterator[tuple[object, object]]:
    """Call one hook per plugin so every result is known by the plugin that gave it."""
    for impl in getattr(pm.hook, hook_name).get_hookimpls():
        yield impl.plugin, impl.function()


def build_registry(pm: pluggy.PluginManager, from_entry_points: set[str] = frozenset()) -> Registry:
    names = _plugin_names(pm, from_entry_points)
    infos = {names[plugin]: info for plugin, info in _call_each(pm, "saas_plugin_info")}
    definitions = {
        hook_name: _frozen(_collect(pm, hook_name, kind, names)) for hook_name, kind in DEFINITION_HOOKS.items()
    }
    return Registry(
        plugins=_frozen(infos), settings_schemas=_frozen(_settings_schemas(pm, names)),
        definitions=_frozen(definitions), manager=pm,
    )


def _plugin_names(pm: pluggy.PluginManager, from_entry_points: set[str]) -> dict[object, str]:
    """Each registered plugin object -> the name it declares in `saas_plugin_info`, checked."""
    declared = dict(_call_each(pm, "saas_plugin_info"))
    names: dict[object, str] = {}
    for registered_as, plugin in pm.list_name_plugin():
        info = declared.get(plugin)
        if info is None:
            raise PluginError(f"plugin {registered_as!r} does not implement saas_plugin_info")
        if not isinstance(info, PluginInfo):
            raise PluginError(f"plugin {registered_as!r}: saas_plugin_info must return PluginInfo, not {type(info).__name__}")
        if not PLUGIN_NAME.match(info.name):
            raise PluginError(f"plugin {registered_as!r}: name {info.name!r} must match {PLUGIN_NAME.pattern}")
        if info.name in names.values():
            raise PluginError(f"two plugins are called {info.name!r}")
        if registered_as in from_entry_points and registered_as != info.name:
            raise PluginError(f"entry point {registered_as!r} declares the plugin name {info.name!r}; they must be equal")
        names[plugin] = info.name
    return names


def _settings_schemas(pm: pluggy.PluginManager, names: dict[object, str]) -> dict[str, type[Schema]]:
    schemas: dict[str, type[Schema]] = {}
    for plugin, schema in _call_each(pm, "saas_settings_schema"):
        if schema is None:
            continue
        if not (isinstance(schema, type) and issubclass(schema, Schema)):
            raise PluginError(f"plugin {names[plugin]!r}: saas_settings_schema must return a marshmallow Schema class or None")
        schemas[names[plugin]] = schema
    return schemas


def _collect(pm: pluggy.PluginManager, hook_name: str, kind: type[Definition],
             names: dict[object, str]) -> dict[str, Definition]:
    found: dict[str, Definition] = {}
    for plugin, items in _call_each(pm, hook_name):
        owner = names[plugin]
        for item in items or ():
            _check_definition(hook_name, kind, owner, item)
            if item.name in found:
                raise PluginError(
                    f"duplicate {kind.__name__} name {item.name!r} (from {found[item.name].plugin!r} and {owner!r})"
                )
            found[item.name] = replace(item, plugin=owner)
    return found


def _check_definition(hook_name: str, kind: type[Definition], owner: str, item: object) -> None:
    if type(item) is not kind:
        raise PluginError(f"{hook_name} of {owner!r} returned {type(item).__name__}, not {kind.__name__}")
    if not item.name:
        raise PluginError(f"{hook_name} of {owner!r} returned a {kind.__name__} without a name")
    if not isinstance(item.version, int) or isinstance(item.version, bool) or item.version < 1:
        raise PluginError(f"{kind.__name__} {item.name!r} of {owner!r}: version must be a whole number from 1")
    problems = item.problems()
    if problems:
        raise PluginError(f"{kind.__name__} {item.name!r} of {owner!r}: {'; '.join(problems)}")
