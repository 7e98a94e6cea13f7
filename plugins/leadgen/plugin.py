"""The leadgen sector plugin: Companies and prospects verified every 6 months; unverified personal data purged at 12 months; suppression list (seed 004)."""
from __future__ import annotations

from marshmallow import RAISE, Schema, fields, validate

from saas.plugins.definitions import PluginInfo, SubjectCategory
from saas.plugins.hookspecs import hookimpl

INFO = PluginInfo(
    name="leadgen",
    version="1.0",
    title="Leadgeneratie / Lead generation",
    description="Companies and prospects verified every 6 months; unverified personal data purged at 12 months; suppression list (seed 004).",
)


class LeadgenSettings(Schema):
    """`[settings.leadgen]` in a tenant's TOML file."""

    class Meta:
        unknown = RAISE

    verify_after_months = fields.Integer(load_default=6, validate=validate.Range(min=0))
    purge_unverified_after_months = fields.Integer(load_default=12, validate=validate.Range(min=0))


@hookimpl
def saas_plugin_info() -> PluginInfo:
    return INFO


@hookimpl
def saas_settings_schema():
    return LeadgenSettings


@hookimpl
def saas_subject_categories() -> list[SubjectCategory]:
    return [
        SubjectCategory(name="prospect", version=1, label_nl="Prospect", label_en="Prospect"),
    ]
