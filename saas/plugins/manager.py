"""Discovers plugins (entry-point group `saas.plugins`), checks them once, keeps their definitions."""
from __future__ import annotations

from dataclasses import dataclass, field, replace

import pluggy

from saas.plugins import hookspecs
from saas.plugins.definitions import DEFINITION_HOOKS, Definition, PluginInfo

ENTRY_POINT_GROUP = "saas.plugins"


class PluginError(RuntimeError):
    """A plugin set that cannot start: missing info, duplicate names, wrong types."""


@dataclass
class Registry:
    plugins: dict[str, PluginInfo] = field(default_factory=dict)
    settings_schemas: dict[str, type] = field(default_factory=dict)
    definitions: dict[str, dict[str, Definition]] = field(default_factory=dict)  # hook -> name -> def
    manager: pluggy.PluginManager | None = None

    def of(self, hook: str, plugins=None) -> list[Definition]:
        """Definitions of one kind, optionally only those of the given plugins (a tenant's)."""
        items = self.definitions.get(hook, {}).values()
        return [d for d in items if plugins is None or d.plugin in plugins]

    def get(self, hook: str, name: str) -> Definition:
        return self.definitions[hook][name]


def new_manager() -> pluggy.PluginManager:
    pm = pluggy.PluginManager(hookspecs.PROJECT)
    pm.add_hookspecs(hookspecs)
    return pm


def load(extra_plugins=()) -> Registry:
    """Load installed plugins plus `extra_plugins` (objects, for tests) and build the registry."""
    pm = new_manager()
    pm.load_setuptools_entrypoints(ENTRY_POINT_GROUP)
    for plugin in extra_plugins:
        pm.register(plugin)
    pm.check_pending()
    return build_registry(pm)


def _call_each(pm, hook_name):
    """Call one hook per plugin so every result is known by the plugin that gave it."""
    for impl in getattr(pm.hook, hook_name).get_hookimpls():
        yield impl.plugin_name, impl.function()


def build_registry(pm: pluggy.PluginManager) -> Registry:
    registry = Registry(manager=pm)
    infos = dict(_call_each(pm, "saas_plugin_info"))
    for plugin_name in pm.list_name_plugin():
        if plugin_name[0] not in infos and plugin_name[1] is not hookspecs:
            raise PluginError(f"plugin {plugin_name[0]!r} does not implement saas_plugin_info")
    for registered_as, info in infos.items():
        if not isinstance(info, PluginInfo):
            raise PluginError(f"plugin {registered_as!r}: saas_plugin_info must return PluginInfo")
        if info.name in registry.plugins:
            raise PluginError(f"two plugins are called {info.name!r}")
        registry.plugins[info.name] = info
    plugin_names = {registered_as: info.name for registered_as, info in infos.items()}
    for registered_as, schema in _call_each(pm, "saas_settings_schema"):
        if schema is not None:
            registry.settings_schemas[plugin_names[registered_as]] = schema
    for hook_name, kind in DEFINITION_HOOKS.items():
        registry.definitions[hook_name] = _collect(pm, hook_name, kind, plugin_names)
    return registry


def _collect(pm, hook_name, kind, plugin_names) -> dict[str, Definition]:
    found: dict[str, Definition] = {}
    for registered_as, items in _call_each(pm, hook_name):
        for item in items or ():
            if not isinstance(item, kind):
                raise PluginError(f"{hook_name} of {registered_as!r} returned {type(item).__name__}, not {kind.__name__}")
            if item.name in found:
                raise PluginError(
                    f"duplicate {kind.__name__} name {item.name!r} "
                    f"(from {found[item.name].plugin!r} and {plugin_names[registered_as]!r})"
                )
            found[item.name] = replace(item, plugin=plugin_names[registered_as])
    return found
