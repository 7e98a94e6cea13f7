"""The recruitment sector plugin: Candidates and interim professionals: available at most 2 years after last contact if never placed; re-consent after 1 year without contact (seed 002)."""
from __future__ import annotations

from marshmallow import RAISE, Schema, fields, validate

from saas.plugins.definitions import PluginInfo, SubjectCategory
from saas.plugins.hookspecs import hookimpl

INFO = PluginInfo(
    name="recruitment",
    version="1.0",
    title="Werving en selectie / Recruitment",
    description="Candidates and interim professionals: available at most 2 years after last contact if never placed; re-consent after 1 year without contact (seed 002).",
)


class RecruitmentSettings(Schema):
    """`[settings.recruitment]` in a tenant's TOML file."""

    class Meta:
        unknown = RAISE

    reconsent_after_months = fields.Integer(load_default=12, validate=validate.Range(min=0))
    purge_after_months = fields.Integer(load_default=24, validate=validate.Range(min=0))


@hookimpl
def saas_plugin_info() -> PluginInfo:
    return INFO


@hookimpl
def saas_settings_schema():
    return RecruitmentSettings


@hookimpl
def saas_subject_categories() -> list[SubjectCategory]:
    return [
        SubjectCategory(name="candidate", version=1, label_nl="Kandidaat", label_en="Candidate"),
    ]
