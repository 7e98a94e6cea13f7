"""Demo processor agreements: the shipped templates for every tenant, and where a tenant makes one agreement per
assignment (Leadhunter) a completed, sealed agreement for each active assignment (its agents need it to see the
assignment's data) and one more that waits for the client's signature, so the signing pages can be tried from the
outbox. Everything goes through the real operations: rendering, signing, countersigning and sealing."""
from __future__ import annotations

from saas.extensions import db
from saas.modules.agreements import countersigning, drafting, sending, template_versions
from saas.modules.agreements import queries as agreement_queries
from saas.modules.assignments.models import Assignment
from saas.modules.clients.models import ClientOrganisation
from saas.modules.signing import operations as signing
from saas.modules.signing import queries as signing_queries
from saas.modules.tenants.models import Tenant
from saas.plugins.manager import current_registry

VALID_DAYS = 30
TERMS = {
    "subject_matter": "telefonische leadgeneratie en afspraken maken voor de opdrachtgever",
    "duration": "de looptijd van de opdracht",
    "nature": "bellen van contactpersonen\nvastleggen van gespreksresultaten\ncontroleren van bedrijfsgegevens",
    "purpose": "afspraken maken en leads kwalificeren voor de opdrachtgever",
    "data_types": "naam\nzakelijk e-mailadres\nzakelijk telefoonnummer\nfunctie",
    "data_subject_categories": "contactpersonen bij de benaderde bedrijven",
    "security_measures": "versleuteling per persoon\nlogging van iedere inzage\ntoegang alleen voor de agents van de opdracht",
    "retention": "na 6 maanden controle, na 12 maanden verwijderd als niet gecontroleerd",
    "end_of_contract": "delete",
    "subprocessor_authorisation": "general",
    "objection_notice_days": "30",
    "breach_notice_hours": "24",
}


def seed_agreements(tenant: Tenant, users: dict, assignments: list[Assignment]) -> int:
    """Templates for every tenant; agreements where the tenant needs one per assignment. Returns how many."""
    admin = users["admin"]
    template_versions.seed_default_templates(admin.id)
    if not current_registry().plugins_with("agreement_per_assignment", tenant.plugins or [], tenant.settings or {}):
        return 0
    template = agreement_queries.latest_published(template_versions.DEFAULT_KEY, tenant.locale)
    made = 0
    for number, assignment in enumerate(assignments):
        agreement = drafting.create_agreement(_input(template.id, assignment, admin, number), admin.id)
        sending.send(agreement, VALID_DAYS)
        if assignment.active and number == 0:
            _complete(agreement, admin)
        made += 1
    return made


def _input(template_id, assignment: Assignment, admin, number: int) -> drafting.AgreementInput:
    organisation = db.session.get(ClientOrganisation, assignment.client_org_id)
    return drafting.AgreementInput(
        template_id=template_id, tenant_role="processor", counterparty_name=organisation.name,
        counterparty_kvk=organisation.kvk_number, fields=dict(TERMS),
        signer_name="Demo Opdrachtgever", signer_email=f"opdrachtgever{number + 1}@client.demo",
        signer_function="directeur", countersigner_id=admin.id, assignment_id=assignment.id,
        client_org_id=organisation.id, sub_processors="Hosting B.V. | NL | hosting van de database",
    )


def _complete(agreement, admin) -> None:
    """The client signs through the signing operations, the admin countersigns, the tenant's seal closes it."""
    signer = agreement_queries.counterparty_signers(agreement)[0]
    token = signing_queries.tokens_of(signer)[0]
    signing.mark_viewed(signer)
    signing.sign(signer, "Demo Opdrachtgever", "directeur", True, agreement.document_sha256, token=token)
    countersigning.countersign(agreement, admin, "bestuurder", True, agreement.document_sha256)
    countersigning.seal(agreement)
