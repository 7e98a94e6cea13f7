"""Helpers for the agreement tests (tests/test_agreements_*.py): a tenant with an admin, the default
templates, draft agreements, and running the agreement jobs the way the worker does.

    from saas.testing.agreements import AgreementWorld, agreements_world  # noqa: F401 (fixture)
"""
from __future__ import annotations

import uuid
from dataclasses import dataclass, field

import pytest
import sqlalchemy as sa

from saas.core import tenancy
from saas.extensions import db
from saas.jobs.worker import unit_of_work

SIGNER_EMAIL = "j.jansen@opdrachtgever.example"

FIELDS = {
    "subject_matter": "telefonische leadgeneratie voor de campagne Voorjaar",
    "duration": "de looptijd van de opdracht",
    "nature": "bellen\nvastleggen van gespreksresultaten",
    "purpose": "afspraken maken voor de opdrachtgever",
    "data_types": "naam\nzakelijk telefoonnummer\nfunctie",
    "data_subject_categories": "contactpersonen bij bedrijven",
    "security_measures": "versleuteling per persoon\nlogging van iedere inzage",
    "retention": "12 maanden na de laatste controle",
    "end_of_contract": "delete",
    "subprocessor_authorisation": "general",
    "objection_notice_days": "30",
    "breach_notice_hours": "24",
}


@dataclass
class AgreementWorld:
    """One tenant with an admin (who countersigns) and its default templates."""

    app: object
    tenant_id: int
    slug: str
    admin_id: uuid.UUID
    admin_email: str
    password: str
    templates: dict = field(default_factory=dict)   # language -> template id

    def admin(self):
        from saas.modules.accounts.models import User

        return db.session.get(User, self.admin_id)

    def enter(self):
        db.session.commit()
        tenancy.set_tenant(self.tenant_id)

    def leave(self):
        db.session.commit()
        tenancy.set_tenant(None)

    def input(self, **overrides):
        from saas.modules.agreements import drafting

        values = dict(
            template_id=self.templates["nl"], tenant_role="processor", counterparty_name="Opdrachtgever B.V.",
            counterparty_kvk="12345678", fields=dict(FIELDS), signer_name="Jan Jansen", signer_email=SIGNER_EMAIL,
            signer_function="directeur", countersigner_id=self.admin_id, reminder_days=3,
            sub_processors="Hosting B.V. | NL | hosting van de database",
        )
        values.update(overrides)
        return drafting.AgreementInput(**values)

    def draft(self, **overrides):
        """A committed draft agreement; returns its id."""
        from saas.modules.agreements import drafting

        self.enter()
        agreement = drafting.create_agreement(self.input(**overrides), self.admin_id)
        agreement_id = agreement.id
        self.leave()
        return agreement_id

    def get(self, agreement_id):
        from saas.modules.agreements.models import Agreement

        self.enter()
        db.session.expire_all()
        return db.session.get(Agreement, agreement_id)

    def run(self, func, **ids):
        """A job function as the worker runs it: one unit of work of the tenant."""
        db.session.commit()
        tenancy.set_tenant(None)
        with unit_of_work(self.tenant_id):
            return func(**ids)   # the tenant is the unit of work's, as in the worker

    def sent(self, **overrides):
        """A draft, sent by the send job (rendered, frozen, invited)."""
        from saas.modules.agreements import jobs

        agreement_id = self.draft(**overrides)
        self.run(jobs.send_agreement, agreement_id=str(agreement_id), valid_days=30)
        return agreement_id

    def sign_as_counterparty(self, agreement_id):
        """What the signer pages do: code, view, sign (the signing module's own operations)."""
        from saas.modules.agreements import queries
        from saas.modules.signing import operations as signing
        from saas.modules.signing.models import SigningToken

        agreement = self.get(agreement_id)
        signer = queries.counterparty_signers(agreement)[0]
        token = db.session.scalar(sa.select(SigningToken).where(SigningToken.signer_id == signer.id)
                                  .order_by(SigningToken.created_at.desc()).limit(1))
        signing.mark_viewed(signer)
        signing.sign(signer, "Jan Jansen", "directeur", True, agreement.document_sha256, token=token)
        self.leave()

    def countersign(self, agreement_id):
        from saas.modules.agreements import countersigning

        agreement = self.get(agreement_id)
        countersigning.countersign(agreement, self.admin(), "bestuurder", True, agreement.document_sha256)
        self.leave()

    def completed(self, **overrides):
        """Sent, signed, countersigned and sealed (the seal job run here, not the distribution)."""
        from saas.modules.agreements import jobs

        agreement_id = self.sent(**overrides)
        self.sign_as_counterparty(agreement_id)
        self.countersign(agreement_id)
        self.run(jobs.seal_agreement, agreement_id=str(agreement_id))
        return agreement_id

    def events(self, agreement_id) -> list[str]:
        from saas.modules.agreements import queries

        return [e.kind for e in queries.events_of(self.get(agreement_id))]


@pytest.fixture()
def agreements_world(app, ctx, make_tenant, make_user, agreement_queue):
    """A tenant with an admin and the shipped templates (published)."""
    from saas.modules.agreements import template_versions

    tenant = make_tenant(plugins=["leadgen"])
    admin, password = make_user(role="admin", tenant=tenant, name="Anna Admin")
    world = AgreementWorld(app, tenant.id, tenant.slug, admin.id, admin.email, password)
    world.enter()
    for template in template_versions.seed_default_templates(admin.id):
        world.templates[template.language] = template.id
    world.leave()
    return world


@pytest.fixture()
def agreement_queue(ctx):
    """The agreements and mail queues, emptied: jobs enqueued after commits land here."""
    from saas.jobs.queues import queue

    for name in ("agreements", "mail"):
        queue(name).empty()
    yield queue("agreements")
    for name in ("agreements", "mail"):
        queue(name).empty()


def new_uuid() -> uuid.UUID:
    return uuid.uuid4()
