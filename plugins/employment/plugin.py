"""The employment sector plugin: applicants deleted 4 weeks after the procedure, or up to 1 year with
consent; employees kept 5 years after leaving (seed 004, AP guidance)."""
from __future__ import annotations

from marshmallow import RAISE, Schema, fields, validate

from plugins.employment import activities, rules
from saas.plugins.definitions import DocumentType, PluginInfo, ProcessingActivity, RetentionPolicy, SubjectCategory
from saas.plugins.hookspecs import hookimpl

INFO = PluginInfo(
    name="employment",
    version="1.0",
    title="Personeel en sollicitanten / Employment",
    description="Applicants deleted 4 weeks after the procedure, or 1 year with consent; employees kept 5 years after leaving (seed 004, AP guidance).",
)


class EmploymentSettings(Schema):
    """`[settings.employment]` in a tenant's TOML file."""

    class Meta:
        unknown = RAISE

    applicant_weeks = fields.Integer(load_default=4, strict=True, validate=validate.Range(min=0))
    applicant_with_consent_months = fields.Integer(load_default=12, strict=True, validate=validate.Range(min=0))
    employee_years = fields.Integer(load_default=5, strict=True, validate=validate.Range(min=0))


@hookimpl
def saas_plugin_info() -> PluginInfo:
    return INFO


@hookimpl
def saas_settings_schema() -> type[Schema]:
    return EmploymentSettings


@hookimpl
def saas_subject_categories() -> list[SubjectCategory]:
    return [
        SubjectCategory(name="applicant", version=1, label_nl="Sollicitant", label_en="Applicant",
                        plural_nl="Sollicitanten", plural_en="Applicants"),
        SubjectCategory(name="employee", version=1, label_nl="Medewerker", label_en="Employee",
                        plural_nl="Medewerkers", plural_en="Employees"),
    ]


@hookimpl
def saas_retention_policies() -> list[RetentionPolicy]:
    return list(rules.POLICIES)


@hookimpl
def saas_document_types() -> list[DocumentType]:
    """Seed 004 section 9: employees' files and notes of talks are seen by the board only ("alleen zichtbaar
    voor de bestuurders"); they are kept with the employee, whose retention rules remove them."""
    board = "Board only; kept as long as the employee's file, removed with it."
    return [
        DocumentType(name="employment.staff_file", version=1, label_nl="Personeelsdossier", label_en="Staff file",
                     board_only=True, description=board),
        DocumentType(name="employment.talk_notes", version=1, label_nl="Gespreksverslag", label_en="Talk notes",
                     board_only=True, description=board),
    ]


@hookimpl
def saas_processing_activities() -> list[ProcessingActivity]:
    return list(activities.ACTIVITIES)
