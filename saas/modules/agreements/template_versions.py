"""Agreement templates: the shipped defaults, drafts, checking and publishing versions. A published
version never changes; a new version is a draft copy."""
from __future__ import annotations

import uuid
from pathlib import Path

from flask_babel import gettext as _

from saas.core import clock
from saas.core.errors import DomainError
from saas.extensions import db
from saas.modules.agreements import common, queries, rendering
from saas.modules.agreements.models import AgreementTemplate
from saas.modules.audit import operations as audit

DEFAULT_KEY = "verwerkersovereenkomst"
DEFAULT_TITLES = {"nl": "Verwerkersovereenkomst", "en": "Data processing agreement"}
LANGUAGES = ("nl", "en")
TEXTS = Path(__file__).resolve().parent / "texts"


class TemplateIncomplete(DomainError):
    """Publishing refused: `result` lists the missing art. 28(3) elements and sector clauses."""

    def __init__(self, result: rendering.CheckResult):
        super().__init__(_("This template cannot be published. Missing: %(missing)s",
                           missing="; ".join(result.describe())))
        self.result = result


def default_body(language: str) -> str:
    return (TEXTS / f"{DEFAULT_KEY}.{language}.html.j2").read_text(encoding="utf-8")


def seed_default_templates(user_id: uuid.UUID | None = None) -> list[AgreementTemplate]:
    """Install the shipped Dutch and English templates as published version 1, for each language the
    tenant has no template of yet (running it again changes nothing)."""
    created = []
    for language in LANGUAGES:
        if queries.template_versions(DEFAULT_KEY, language):
            continue
        template = AgreementTemplate(key=DEFAULT_KEY, language=language, version=1, title=DEFAULT_TITLES[language],
                                     body=default_body(language), status="draft")
        db.session.add(template)
        db.session.flush()
        publish_template(template, user_id)
        created.append(template)
    return created


def check_template(template: AgreementTemplate) -> rendering.CheckResult:
    clauses = queries.tenant_clauses(common.current_tenant(), template.language)
    return rendering.check_template(template.body, template.language, clauses)


def save_template(template: AgreementTemplate, title: str, body: str) -> None:
    if template.status != "draft":
        raise DomainError(_("A published template never changes: make a new version to edit it."))
    title = " ".join((title or "").split())
    errors = {}
    if not title or len(title) > common.TITLE_MAX:
        errors["title"] = _("Enter a title of at most %(limit)s characters.", limit=common.TITLE_MAX)
    if not (body or "").strip() or len(body) > rendering.MAX_BODY:
        errors["body"] = _("Enter the text of at most %(limit)s characters.", limit=rendering.MAX_BODY)
    if errors:
        raise DomainError(_("Please correct the marked fields."), errors=errors)
    template.title, template.body = title, body
    audit.record("agreement_template.update", "agreement_template", template.id)


def new_template_version(template: AgreementTemplate) -> AgreementTemplate:
    """A draft copy to edit (the open draft of this key and language, if there already is one)."""
    existing = queries.open_draft(template.key, template.language)
    if existing is not None:
        return existing
    versions = queries.template_versions(template.key, template.language)
    draft = AgreementTemplate(key=template.key, language=template.language, version=versions[0].version + 1,
                              title=template.title, body=template.body, status="draft")
    db.session.add(draft)
    db.session.flush()
    audit.record("agreement_template.new_version", "agreement_template", draft.id,
                 detail={"from": str(template.id), "version": draft.version})
    return draft


def publish_template(template: AgreementTemplate, user_id: uuid.UUID | None) -> None:
    """Publish a draft if it covers every art. 28(3) element (else TemplateIncomplete, naming them);
    the version published before it of the same key and language is retired."""
    if template.status != "draft":
        raise DomainError(_("Only a draft can be published."))
    result = check_template(template)
    if not result.ok:
        raise TemplateIncomplete(result)
    for other in queries.template_versions(template.key, template.language):
        if other.status == "published":
            other.status = "retired"
    template.status, template.published_at, template.published_by = "published", clock.now(), user_id
    audit.record("agreement_template.publish", "agreement_template", template.id,
                 detail={"version": template.version, "language": template.language})
