"""The leadgen sector plugin: company data gets a verify flag after 6 months and is never deleted
automatically; personal data is flagged after 6 months and deleted at 12 months if still unverified; a
contact who left is deleted at once; a person who asked is suppressed for future assignments (seed 004)."""
from __future__ import annotations

from marshmallow import RAISE, Schema, ValidationError, fields, validate, validates_schema

from plugins.leadgen import activities, rules
from plugins.leadgen.clauses import saas_agreement_clauses  # noqa: F401
from saas.plugins.definitions import PluginInfo, ProcessingActivity, RetentionPolicy, SubjectCategory
from saas.plugins.hookspecs import hookimpl

INFO = PluginInfo(
    name="leadgen",
    version="1.0",
    title="Leadgeneratie / Lead generation",
    description="Companies and prospects verified every 6 months; unverified personal data purged at 12 months; suppression list (seed 004).",
    # "Voor iedere nieuwe opdracht die een opdrachtgever aan Leadhunter verstrekt wordt een nieuwe
    #  verwerkersovereenkomst aangegaan." (switched off by `agreement_per_assignment = false`)
    # Seed 004 s.3: agents "krijgen alleen die gegevens te zien waar ze daadwerkelijk aan werken op dat
    # moment": a work queue hands out records (switched off by `work_queue = false`).
    behaviours=("agreement_per_assignment", "work_queue"),
)


class LeadgenSettings(Schema):
    """`[settings.leadgen]` in a tenant's TOML file."""

    class Meta:
        unknown = RAISE

    verify_after_months = fields.Integer(load_default=6, strict=True, validate=validate.Range(min=1))
    purge_unverified_after_months = fields.Integer(load_default=12, strict=True, validate=validate.Range(min=1))
    delete_when_contact_left = fields.Boolean(load_default=True)
    agreement_per_assignment = fields.Boolean(load_default=True)
    work_queue = fields.Boolean(load_default=True)

    @validates_schema
    def _verify_before_purge(self, data, **_kwargs):
        if data["verify_after_months"] >= data["purge_unverified_after_months"]:
            raise ValidationError("must be shorter than purge_unverified_after_months", "verify_after_months")


@hookimpl
def saas_plugin_info() -> PluginInfo:
    return INFO


@hookimpl
def saas_settings_schema() -> type[Schema]:
    return LeadgenSettings


@hookimpl
def saas_subject_categories() -> list[SubjectCategory]:
    return [
        SubjectCategory(name="prospect", version=1, label_nl="Prospect", label_en="Prospect", plural_nl="Prospects",
                        plural_en="Prospects", suppressed_may_not_return=True),
    ]


@hookimpl
def saas_retention_policies() -> list[RetentionPolicy]:
    return list(rules.POLICIES)


@hookimpl
def saas_processing_activities() -> list[ProcessingActivity]:
    return list(activities.ACTIVITIES)
