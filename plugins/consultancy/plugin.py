"""The consultancy sector plugin: CRM contacts limited to a few business fields, training participants,
event invitations on legitimate interest, references only with explicit consent (seed 000)."""
from __future__ import annotations

from marshmallow import RAISE, Schema, fields, validate

from plugins.consultancy import rules
from saas.plugins.definitions import PluginInfo, RetentionPolicy, SubjectCategory
from saas.plugins.hookspecs import hookimpl

INFO = PluginInfo(
    name="consultancy",
    version="1.0",
    title="Advies en academie / Consultancy",
    description="CRM contacts and training participants kept while the relationship lasts; references only with explicit consent (seed 000).",
)

# The most a CRM contact may hold (seed 000: "Wij leggen de volgende informatie vast"); a tenant may narrow it.
CRM_FIELDS = ("name", "email", "phone", "function", "meeting_report")


class ConsultancySettings(Schema):
    """`[settings.consultancy]` in a tenant's TOML file."""

    class Meta:
        unknown = RAISE

    crm_fields = fields.List(fields.String(validate=validate.OneOf(CRM_FIELDS)),
                             load_default=lambda: list(CRM_FIELDS), validate=validate.Length(min=1))
    references_require_consent = fields.Boolean(load_default=True)
    invite_clients_to_events = fields.Boolean(load_default=True)


@hookimpl
def saas_plugin_info() -> PluginInfo:
    return INFO


@hookimpl
def saas_settings_schema() -> type[Schema]:
    return ConsultancySettings


@hookimpl
def saas_subject_categories() -> list[SubjectCategory]:
    return [
        SubjectCategory(name="crm_contact", version=1, label_nl="CRM-contactpersoon", label_en="CRM contact"),
        SubjectCategory(name="training_participant", version=1, label_nl="Cursist", label_en="Training participant"),
        SubjectCategory(name="referee", version=1, label_nl="Referent", label_en="Referee"),
    ]


@hookimpl
def saas_retention_policies() -> list[RetentionPolicy]:
    return list(rules.POLICIES)
