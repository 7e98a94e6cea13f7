"""The hosting sector plugin: Hosting customers' data kept while the contract runs; the tenant acts as processor with sub-processors (seed 002)."""
from __future__ import annotations

from saas.plugins.definitions import PluginInfo, SubjectCategory
from saas.plugins.hookspecs import hookimpl

INFO = PluginInfo(
    name="hosting",
    version="1.0",
    title="Hosting",
    description="Hosting customers' data kept while the contract runs; the tenant acts as processor with sub-processors (seed 002).",
)


@hookimpl
def saas_plugin_info() -> PluginInfo:
    return INFO


@hookimpl
def saas_settings_schema():
    return None


@hookimpl
def saas_subject_categories() -> list[SubjectCategory]:
    return [
    ]
