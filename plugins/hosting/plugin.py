"""The hosting sector plugin: hosting customers' data is kept while the contract runs; the tenant acts as
processor and uses sub-processors under agreements (seed 002)."""
from __future__ import annotations

from marshmallow import RAISE, Schema, fields, validate

from plugins.hosting import activities, rules
from saas.plugins.definitions import PluginInfo, ProcessingActivity, RetentionPolicy, SubjectCategory
from saas.plugins.hookspecs import hookimpl

INFO = PluginInfo(
    name="hosting",
    version="1.0",
    title="Hosting",
    description="Hosting customers' data kept while the contract runs; the tenant acts as processor with sub-processors (seed 002).",
)


class HostingSettings(Schema):
    """`[settings.hosting]` in a tenant's TOML file."""

    class Meta:
        unknown = RAISE

    # Days after the hosting contract ends before its data goes; 0 = as soon as the contract ends.
    delete_after_contract_days = fields.Integer(load_default=0, strict=True, validate=validate.Range(min=0))
    # What each sub-processor does (art. 28(2)); named in the processor agreements.
    sub_processors = fields.List(fields.String(validate=validate.Length(min=1, max=200)), load_default=list)


@hookimpl
def saas_plugin_info() -> PluginInfo:
    return INFO


@hookimpl
def saas_settings_schema() -> type[Schema]:
    return HostingSettings


@hookimpl
def saas_subject_categories() -> list[SubjectCategory]:
    return [
        SubjectCategory(name="hosting_contact", version=1, label_nl="Contactpersoon hostingklant",
                        label_en="Hosting customer contact", plural_nl="Contactpersonen hostingklanten",
                        plural_en="Hosting customer contacts"),
        SubjectCategory(name="system_user", version=1, label_nl="Gebruiker van een beheerd systeem",
                        label_en="User of a managed system", plural_nl="Gebruikers van beheerde systemen",
                        plural_en="Users of managed systems"),
    ]


@hookimpl
def saas_retention_policies() -> list[RetentionPolicy]:
    return list(rules.POLICIES)


@hookimpl
def saas_processing_activities() -> list[ProcessingActivity]:
    return list(activities.ACTIVITIES)
