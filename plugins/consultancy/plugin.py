"""The consultancy sector plugin: CRM contacts and training participants kept while the relationship lasts; references only with explicit consent (seed 000)."""
from __future__ import annotations

from saas.plugins.definitions import PluginInfo, SubjectCategory
from saas.plugins.hookspecs import hookimpl

INFO = PluginInfo(
    name="consultancy",
    version="1.0",
    title="Advies en academie / Consultancy",
    description="CRM contacts and training participants kept while the relationship lasts; references only with explicit consent (seed 000).",
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
        SubjectCategory(name="training_participant", version=1, label_nl="Cursist", label_en="Training participant"),
    ]
