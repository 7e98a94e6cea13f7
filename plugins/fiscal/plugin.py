"""The fiscal sector plugin: billing and administration data kept 7 years after the end of the fiscal
year in which the relationship ended; an erasure restricts what the law makes the tenant keep
(AWR art. 52(4); seeds 001, 003)."""
from __future__ import annotations

from marshmallow import RAISE, Schema, fields, validate

from plugins.fiscal import rules
from saas.plugins.definitions import ErasureException, PluginInfo, RetentionPolicy, SubjectCategory
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
    # After the fiscal period, ex-clients' data is reviewed for liability instead of deleted unseen.
    liability_hold = fields.Boolean(load_default=False)
    # An erasure request erases what is not fiscal and restricts what is (art. 17(3)(b)).
    restrict_on_erasure = fields.Boolean(load_default=True)


@hookimpl
def saas_plugin_info() -> PluginInfo:
    return INFO


@hookimpl
def saas_settings_schema() -> type[Schema]:
    return FiscalSettings


@hookimpl
def saas_subject_categories() -> list[SubjectCategory]:
    return [
        SubjectCategory(name="client_contact", version=1, label_nl="Contactpersoon klant", label_en="Client contact"),
        SubjectCategory(name="relation", version=1, label_nl="Relatie", label_en="Relation"),
    ]


@hookimpl
def saas_retention_policies() -> list[RetentionPolicy]:
    return list(rules.POLICIES)


@hookimpl
def saas_erasure_exceptions() -> list[ErasureException]:
    return list(rules.EXCEPTIONS)
