"""The fiscal sector plugin: billing and administration data kept 7 years after the end of the fiscal
year in which the relationship ended; an erasure restricts what the law makes the tenant keep
(AWR art. 52(4); seeds 001, 003)."""
from __future__ import annotations

from marshmallow import RAISE, Schema, ValidationError, fields, validate, validates_schema

from plugins.fiscal import activities, rules
from saas.plugins.definitions import ErasureException, PluginInfo, ProcessingActivity, RetentionPolicy, SubjectCategory
from saas.plugins.hookspecs import hookimpl

INFO = PluginInfo(
    name="fiscal",
    version="1.0",
    title="Fiscale bewaarplicht / Fiscal retention",
    description="Billing and administration data kept 7 years after the end of the fiscal year in which the relationship ended; legal hold on erasure (AWR art. 52(4); seeds 001, 003).",
)


class FiscalSettings(Schema):
    """`[settings.fiscal]` in a tenant's TOML file."""

    class Meta:
        unknown = RAISE

    # The law sets 7 years (AWR art. 52(4)); a tenant may keep longer, never shorter.
    retention_years = fields.Integer(load_default=7, strict=True, validate=validate.Range(min=7))
    # After the fiscal period, ex-clients' data is kept for the tenant's liability instead of purged.
    liability_hold = fields.Boolean(load_default=False)
    # How long that hold lasts at most, from the end of the relationship: the outer limit for claims for
    # damages is 20 years after the event that caused the damage (art. 3:310 BW).
    liability_years = fields.Integer(load_default=rules.LIABILITY_YEARS, strict=True, validate=validate.Range(min=1))

    @validates_schema
    def _liability_after_fiscal(self, data, **_kwargs):
        if data["liability_years"] <= data["retention_years"]:
            raise ValidationError("must be longer than retention_years", "liability_years")


@hookimpl
def saas_plugin_info() -> PluginInfo:
    return INFO


@hookimpl
def saas_settings_schema() -> type[Schema]:
    return FiscalSettings


@hookimpl
def saas_subject_categories() -> list[SubjectCategory]:
    return [
        SubjectCategory(name="client_contact", version=1, label_nl="Contactpersoon klant", label_en="Client contact",
                        plural_nl="Contactpersonen klant", plural_en="Client contacts"),
        SubjectCategory(name="relation", version=1, label_nl="Relatie", label_en="Relation",
                        plural_nl="Relaties", plural_en="Relations"),
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
