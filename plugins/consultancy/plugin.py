"""The consultancy sector plugin: CRM contacts limited to a few business fields, training participants,
event invitations on legitimate interest, references only with explicit consent (seed 000)."""
from __future__ import annotations

from plugins.consultancy import activities, rules
from saas.plugins.definitions import DocumentType, PluginInfo, ProcessingActivity, RetentionPolicy, SubjectCategory
from saas.plugins.hookspecs import hookimpl

INFO = PluginInfo(
    name="consultancy",
    version="1.0",
    title="Advies en academie / Consultancy",
    description="CRM contacts and training participants kept while the relationship lasts; references only with explicit consent (seed 000).",
)

@hookimpl
def saas_plugin_info() -> PluginInfo:
    return INFO


@hookimpl
def saas_subject_categories() -> list[SubjectCategory]:
    return [
        SubjectCategory(name="crm_contact", version=1, label_nl="CRM-contactpersoon", label_en="CRM contact",
                        plural_nl="CRM-contactpersonen", plural_en="CRM contacts"),
        SubjectCategory(name="training_participant", version=1, label_nl="Cursist", label_en="Training participant",
                        plural_nl="Cursisten", plural_en="Training participants"),
        SubjectCategory(name="referee", version=1, label_nl="Referent", label_en="Referee",
                        plural_nl="Referenten", plural_en="Referees"),
    ]


@hookimpl
def saas_retention_policies() -> list[RetentionPolicy]:
    return list(rules.POLICIES)


@hookimpl
def saas_document_types() -> list[DocumentType]:
    """Seed 000: the non-disclosure agreements clients ask Zestgroup to sign. An NDA is kept as long as the
    confidentiality lasts: its end date is entered with the document, and the sweep removes it that day
    (one without an end date stays with the person)."""
    return [
        DocumentType(name="consultancy.nda", version=1, label_nl="Geheimhoudingsverklaring (NDA)",
                     label_en="Non-disclosure agreement (NDA)", anchor="expires_on", content_types=("application/pdf",),
                     description="Kept until the confidentiality ends (the end date given with the document)."),
    ]


@hookimpl
def saas_processing_activities() -> list[ProcessingActivity]:
    return list(activities.ACTIVITIES)
