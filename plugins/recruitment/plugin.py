"""The recruitment sector plugin: candidates and interim professionals are available at most 2 years after
the last contact if never placed, get a re-consent message after 1 year without contact, and can unsubscribe
through the portal (seed 002)."""
from __future__ import annotations

from marshmallow import RAISE, Schema, ValidationError, fields, validate, validates_schema

from plugins.recruitment import activities, rules
from plugins.recruitment.clauses import saas_agreement_clauses  # noqa: F401
from saas.plugins.definitions import DocumentType, PluginInfo, ProcessingActivity, RetentionPolicy, SubjectCategory
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

    reconsent_after_months = fields.Integer(load_default=12, strict=True, validate=validate.Range(min=1))
    purge_after_months = fields.Integer(load_default=24, strict=True, validate=validate.Range(min=1))

    @validates_schema
    def _reconsent_before_purge(self, data, **_kwargs):
        if data["reconsent_after_months"] >= data["purge_after_months"]:
            raise ValidationError("must be shorter than purge_after_months", "reconsent_after_months")


@hookimpl
def saas_plugin_info() -> PluginInfo:
    return INFO


@hookimpl
def saas_settings_schema() -> type[Schema]:
    return RecruitmentSettings


@hookimpl
def saas_subject_categories() -> list[SubjectCategory]:
    return [
        SubjectCategory(name="candidate", version=1, label_nl="Kandidaat", label_en="Candidate",
                        plural_nl="Kandidaten", plural_en="Candidates"),
    ]


@hookimpl
def saas_retention_policies() -> list[RetentionPolicy]:
    return list(rules.POLICIES)


@hookimpl
def saas_document_types() -> list[DocumentType]:
    """Seed 002: CVs, diplomas, certificates and references at registration; once a candidate can work, a
    copy of the ID, a work permit and a certificate of conduct (VOG). All are kept with the candidate: the
    candidate's retention rules remove them with the person."""
    with_person = "Kept as long as the candidate is kept; removed with the candidate."
    office = ("application/pdf", "image/png", "image/jpeg",
              "application/vnd.openxmlformats-officedocument.wordprocessingml.document")
    return [
        DocumentType(name="recruitment.cv", version=1, label_nl="Cv", label_en="CV", content_types=office,
                     description=with_person),
        DocumentType(name="recruitment.diploma", version=1, label_nl="Diploma", label_en="Diploma",
                     description=with_person),
        DocumentType(name="recruitment.certificate", version=1, label_nl="Certificaat", label_en="Certificate",
                     description=with_person),
        DocumentType(name="recruitment.reference", version=1, label_nl="Referentie", label_en="Reference",
                     content_types=office, description=with_person),
        DocumentType(name="recruitment.id_copy", version=1, label_nl="Kopie identiteitsbewijs",
                     label_en="ID copy", description=with_person + " BSN masking is not done yet."),
        DocumentType(name="recruitment.work_permit", version=1, label_nl="Tewerkstellingsvergunning",
                     label_en="Work permit", description=with_person),
        DocumentType(name="recruitment.vog", version=1, label_nl="Verklaring omtrent het gedrag (VOG)",
                     label_en="Certificate of conduct (VOG)", description=with_person),
    ]


@hookimpl
def saas_processing_activities() -> list[ProcessingActivity]:
    return list(activities.ACTIVITIES)
