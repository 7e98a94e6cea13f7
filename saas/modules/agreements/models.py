from __future__ import annotations

import uuid
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from saas.core.crypto.fields import EncryptedField, EncryptedRow, normalise_email
from saas.core.models import Timestamps, UuidPk, tenant_fk
from saas.core.tenancy import TenantScoped
from saas.extensions import db

TEMPLATE_STATES = ("draft", "published", "retired")
ROLES = ("controller", "processor")   # the tenant's role in the agreement
AGREEMENT_STATES = (
    "draft", "sent", "viewed", "signed", "countersigned", "completed",
    "declined", "expired", "revoked", "superseded",
)
SIGNER_SIDES = ("counterparty", "tenant")


class AgreementTemplate(UuidPk, TenantScoped, Timestamps, db.Model):
    """A versioned agreement text of a tenant with merge fields. Published versions never change: editing
    makes a new version. Publishing checks the art. 28(3) elements."""

    __tablename__ = "agreement_template"
    __table_args__ = (sa.UniqueConstraint("tenant_id", "key", "language", "version"),)
    key: Mapped[str] = mapped_column(sa.String(60))            # e.g. "verwerkersovereenkomst"
    language: Mapped[str] = mapped_column(sa.String(5))        # nl | en
    version: Mapped[int] = mapped_column(sa.Integer, default=1)
    title: Mapped[str] = mapped_column(sa.String(200))
    body: Mapped[str] = mapped_column(sa.Text)                 # Jinja text with merge fields, sandboxed
    status: Mapped[str] = mapped_column(sa.String(12), default="draft")
    published_at: Mapped[datetime | None] = mapped_column(sa.DateTime(timezone=True))
    published_by: Mapped[uuid.UUID | None] = mapped_column(sa.Uuid)


class Agreement(UuidPk, TenantScoped, Timestamps, db.Model):
    """A processor agreement made from a published template with one counterparty (organisation data)."""

    __tablename__ = "agreement"
    __table_args__ = (
        sa.Index("ix_agreement_tenant_status", "tenant_id", "status"),
        sa.UniqueConstraint("tenant_id", "number"),
        tenant_fk("template_id", "agreement_template"),
        tenant_fk("client_org_id", "client_organisation"),
        tenant_fk("supersedes_id", "agreement"),
    )
    number: Mapped[str] = mapped_column(sa.String(20))          # human reference, e.g. VO-2026-0007
    template_id: Mapped[uuid.UUID] = mapped_column(sa.Uuid)
    tenant_role: Mapped[str] = mapped_column(sa.String(12))     # controller | processor
    counterparty_name: Mapped[str] = mapped_column(sa.String(200))
    counterparty_kvk: Mapped[str | None] = mapped_column(sa.String(8))
    client_org_id: Mapped[uuid.UUID | None] = mapped_column(sa.Uuid)
    # Merge-field values (subject matter, duration, nature, purpose, data types, subject categories,
    # sub-processors, security measures, retention, end of contract): organisation data, no personal data.
    fields: Mapped[dict] = mapped_column(sa.JSON, default=dict)
    status: Mapped[str] = mapped_column(sa.String(16), default="draft")
    version: Mapped[int] = mapped_column(sa.Integer, default=1)
    supersedes_id: Mapped[uuid.UUID | None] = mapped_column(sa.Uuid)
    # The exact PDF shown to and signed by the signers, and the sealed result (files module ids).
    document_file_id: Mapped[uuid.UUID | None] = mapped_column(sa.Uuid)
    document_sha256: Mapped[str | None] = mapped_column(sa.String(64))
    # The HTML the document was rendered from: the sealed PDF prints the very same text.
    document_html_file_id: Mapped[uuid.UUID | None] = mapped_column(sa.Uuid)
    sealed_file_id: Mapped[uuid.UUID | None] = mapped_column(sa.Uuid)
    sealed_sha256: Mapped[str | None] = mapped_column(sa.String(64))
    sent_at: Mapped[datetime | None] = mapped_column(sa.DateTime(timezone=True))
    expires_at: Mapped[datetime | None] = mapped_column(sa.DateTime(timezone=True))
    completed_at: Mapped[datetime | None] = mapped_column(sa.DateTime(timezone=True))
    # Set by the one job run that mails the sealed PDF (a conditional UPDATE): a rerun sends nothing.
    distributed_at: Mapped[datetime | None] = mapped_column(sa.DateTime(timezone=True))
    closed_reason: Mapped[str | None] = mapped_column(sa.String(500))   # declined / revoked reason
    reminder_days: Mapped[int] = mapped_column(sa.Integer, default=3)
    last_reminder_at: Mapped[datetime | None] = mapped_column(sa.DateTime(timezone=True))
    created_by: Mapped[uuid.UUID | None] = mapped_column(sa.Uuid)


class Signer(UuidPk, EncryptedRow, TenantScoped, Timestamps, db.Model):
    """A person who signs for one side. Name, function and email are personal data: encrypted with the
    tenant key (a signer is not a data subject of the tenant's registers)."""

    __tablename__ = "agreement_signer"
    __table_args__ = (
        sa.Index("ix_signer_agreement", "tenant_id", "agreement_id"),
        tenant_fk("agreement_id", "agreement", ondelete="CASCADE"),
    )
    agreement_id: Mapped[uuid.UUID] = mapped_column(sa.Uuid)
    side: Mapped[str] = mapped_column(sa.String(12))            # counterparty | tenant
    user_id: Mapped[uuid.UUID | None] = mapped_column(sa.Uuid)  # the tenant's countersigning user
    status: Mapped[str] = mapped_column(sa.String(12), default="invited")  # invited | viewed | signed | declined
    signed_at: Mapped[datetime | None] = mapped_column(sa.DateTime(timezone=True))
    authority_confirmed: Mapped[bool] = mapped_column(sa.Boolean, default=False)
    email_bidx: Mapped[bytes | None] = mapped_column(sa.LargeBinary(16))
    email = EncryptedField(index="email", normalise=normalise_email)
    name = EncryptedField()
    function = EncryptedField()

    def encryption_subject_id(self):
        return None  # tenant-level data: no subject key (there is no subject_id column)


class SigningEvent(UuidPk, EncryptedRow, TenantScoped, db.Model):
    """The agreement's audit trail, printed into the sealed PDF: what happened, when (UTC), from where, and
    the SHA-256 of the document at that moment. IP address and user agent are encrypted."""

    __tablename__ = "agreement_event"
    __table_args__ = (
        sa.Index("ix_agreement_event_agreement", "tenant_id", "agreement_id", "at"),
        tenant_fk("agreement_id", "agreement", ondelete="CASCADE"),
        tenant_fk("signer_id", "agreement_signer", ondelete="SET NULL"),
    )
    agreement_id: Mapped[uuid.UUID] = mapped_column(sa.Uuid)
    signer_id: Mapped[uuid.UUID | None] = mapped_column(sa.Uuid)
    actor_user_id: Mapped[uuid.UUID | None] = mapped_column(sa.Uuid)
    kind: Mapped[str] = mapped_column(sa.String(24))   # created | sent | opened | code_sent | code_failed | viewed
    #                                                  # | signed | declined | countersigned | sealed | revoked ...
    at: Mapped[datetime] = mapped_column(sa.DateTime(timezone=True))
    document_sha256: Mapped[str | None] = mapped_column(sa.String(64))
    detail: Mapped[dict] = mapped_column(sa.JSON, default=dict)   # ids and reasons, no personal data
    ip = EncryptedField()
    user_agent = EncryptedField()

    def encryption_subject_id(self):
        return None  # tenant-level data: no subject key (there is no subject_id column)


class SubProcessor(UuidPk, TenantScoped, Timestamps, db.Model):
    """A sub-processor under an agreement (annex). Under a general authorisation (art. 28(2)) a change is
    announced to the controller, who may object until `objection_until`."""

    __tablename__ = "sub_processor"
    __table_args__ = (
        tenant_fk("agreement_id", "agreement", ondelete="CASCADE"),
        sa.UniqueConstraint("tenant_id", "objection_token_hash"),
    )
    agreement_id: Mapped[uuid.UUID] = mapped_column(sa.Uuid, index=True)
    name: Mapped[str] = mapped_column(sa.String(200))
    country: Mapped[str] = mapped_column(sa.String(2), default="NL")
    purpose: Mapped[str] = mapped_column(sa.String(300))
    change: Mapped[str] = mapped_column(sa.String(8), default="existing")   # existing | added | removed
    announced_at: Mapped[datetime | None] = mapped_column(sa.DateTime(timezone=True))
    objection_until: Mapped[datetime | None] = mapped_column(sa.DateTime(timezone=True))
    objected_at: Mapped[datetime | None] = mapped_column(sa.DateTime(timezone=True))
    objection_reason: Mapped[str | None] = mapped_column(sa.String(500))
    # SHA-256 of the secret in the controller's objection link (the link itself is only in the mail).
    objection_token_hash: Mapped[bytes | None] = mapped_column(sa.LargeBinary(32))


class PublishedTemplateChanged(ValueError):
    """A published (or retired) template version was about to change: edit a new version instead."""


_TEMPLATE_TEXT = ("key", "language", "version", "title", "body")


@sa.event.listens_for(AgreementTemplate, "before_update")
def _published_templates_never_change(_mapper, _connection, template: AgreementTemplate) -> None:
    """Agreements point at a template version and must keep printing the same text: a last line of
    defence below `operations`, so no code path can rewrite a published version."""
    state = sa.inspect(template)
    status_history = state.attrs.status.load_history()
    previous = status_history.deleted[0] if status_history.deleted else template.status
    if previous == "draft":
        return
    changed = [name for name in _TEMPLATE_TEXT if state.attrs[name].load_history().has_changes()]
    if changed:
        raise PublishedTemplateChanged(f"template version {template.version} is {previous}; "
                                       f"it cannot change ({', '.join(changed)})")
