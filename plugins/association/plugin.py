"""The association sector plugin: members and relations kept at least 7 years (tax), then until erasure
is asked; the association processes members' orders as a processor (seed 003)."""
from __future__ import annotations

from marshmallow import RAISE, Schema, fields, validate

from plugins.association import activities, rules
from saas.plugins.definitions import ErasureException, PluginInfo, ProcessingActivity, RetentionPolicy, SubjectCategory
from saas.plugins.hookspecs import hookimpl

INFO = PluginInfo(
    name="association",
    version="1.0",
    title="Brancheorganisatie / Trade association",
    description="Members and relations kept at least 7 years (tax), then until erasure is asked (seed 003).",
)


class AssociationSettings(Schema):
    """`[settings.association]` in a tenant's TOML file."""

    class Meta:
        unknown = RAISE

    minimum_years = fields.Integer(load_default=7, strict=True, validate=validate.Range(min=0))
    # After the minimum, keep members' history until they ask for erasure (no automatic purge).
    keep_until_erasure_request = fields.Boolean(load_default=True)


@hookimpl
def saas_plugin_info() -> PluginInfo:
    return INFO


@hookimpl
def saas_settings_schema() -> type[Schema]:
    return AssociationSettings


@hookimpl
def saas_subject_categories() -> list[SubjectCategory]:
    return [
        SubjectCategory(name="member", version=1, label_nl="Lid", label_en="Member", plural_nl="Leden",
                        plural_en="Members"),
    ]


@hookimpl
def saas_retention_policies() -> list[RetentionPolicy]:
    return list(rules.POLICIES)


@hookimpl
def saas_erasure_exceptions() -> list[ErasureException]:
    return list(rules.EXCEPTIONS)


@hookimpl
def saas_processing_activities() -> list[ProcessingActivity]:
    return list(activities.ACTIVITIES)
