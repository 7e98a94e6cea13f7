"""Retention rules of consultancy and training (seed 000, Zestgroup).

The seed names no period: "Bij het bewaren van persoonsgegevens is ons uitgangspunt dat wij gegevens niet langer
bewaren dan noodzakelijk voor het doel waarvoor wij ze verwerkt hebben." So the purpose decides (art. 5(1)(e)):
a CRM contact is kept while the business relationship with that contact lasts, a training participant while the
training and its exam or certification run. When that ends (`relationship_ended_on`) the sweep purges. A tenant
that needs a grace period (the seed mentions inviting former clients to events, without a period) sets one in
`[retention."<name>"]` of its tenant file. Referees give references for the tenant's services only with their
consent; a referee is kept while that relationship lasts and purged when it has ended, like a CRM contact.
"""
from __future__ import annotations

from saas.plugins.definitions import RetentionPolicy

PURPOSE_SOURCE = (
    "Bij het bewaren van persoonsgegevens is ons uitgangspunt dat wij gegevens niet langer bewaren dan noodzakelijk "
    "voor het doel waarvoor wij ze verwerkt hebben."
)
CRM_SOURCE = "Contacten en opslag van gegevens is beperkt tot ons CRM."
TRAINING_SOURCE = (
    "U levert ons de namen en contactgegevens van deelnemers, deze gegevens gebruiken wij voor de "
    "organisatie/planning van de training en voor het opnemen en daar waar nodig registreren voor examen en/of "
    "certificering."
)

REFERENCE_SOURCE = (
    "Referenties gekoppeld aan onze dienstverlening vanuit Zestgroup geven we alleen na expliciete toestemming van "
    "uw organisatie."
)

POLICIES = [
    RetentionPolicy(
        name="consultancy.crm_contact_relationship_end", version=1, category="crm_contact",
        anchor="relationship_ended_on", action="purge",
        source=f"{CRM_SOURCE} {PURPOSE_SOURCE}",
        description="The seed is silent on a period; no law sets one for business contacts, so the purpose "
                    "decides: a CRM contact is purged when the relationship with that contact has ended.",
    ),
    RetentionPolicy(
        name="consultancy.training_participant_end", version=1, category="training_participant",
        anchor="relationship_ended_on", action="purge",
        source=f"{TRAINING_SOURCE} {PURPOSE_SOURCE}",
        description="The seed is silent on a period; the purpose is organising the training and registering the "
                    "exam or certification, so a participant is purged when that has ended (relationship_ended_on). "
                    "Invoices for the training are the client's fiscal records, not the participant's.",
    ),
    RetentionPolicy(
        name="consultancy.referee_relationship_end", version=1, category="referee",
        anchor="relationship_ended_on", action="purge",
        source=f"{REFERENCE_SOURCE} {PURPOSE_SOURCE}",
        description="The seed is silent on a period; a referee is purged when the relationship in which they "
                    "give references has ended (relationship_ended_on), as a CRM contact is.",
    ),
]
