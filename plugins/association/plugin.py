"""The association sector plugin: Members and relations kept at least 7 years (tax), then until erasure is asked (seed 003)."""
from __future__ import annotations

from marshmallow import RAISE, Schema, fields, validate

from saas.plugins.definitions import PluginInfo, SubjectCategory
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

    minimum_years = fields.Integer(load_default=7, validate=validate.Range(min=0))


@hookimpl
def saas_plugin_info() -> PluginInfo:
    return INFO


@hookimpl
def saas_settings_schema():
    return AssociationSettings


@hookimpl
def saas_subject_categories() -> list[SubjectCategory]:
    return [
        SubjectCategory(name="member", version=1, label_nl="Lid", label_en="Member"),
    ]
