"""Processing activities of an association (seed 003), weighed by the six bases in order."""
from __future__ import annotations

from plugins.association import rules
from saas.plugins.definitions import ProcessingActivity

ACTIVITIES = [
    ProcessingActivity(
        name="association.membership", version=1,
        purpose="Administering members and relations: membership, paid services and their financial settlement.",
        subject_categories=("member",),
        data_categories=("name and address", "e-mail and telephone", "bank account (IBAN)", "membership data"),
        legal_basis="contract",
        not_applicable=(("consent", "Membership and paid services are agreements that need the data; "
                                    "consent is not what they rest on."),),
        recipients=("parties needed to check creditworthiness, carry out and settle an order",),
        transfers=(),
        retention_policies=tuple(p.name for p in rules.POLICIES),
        source="Dit doen wij op basis van uw lidmaatschap, betaalde dienstverlening of een aantoonbaar verzoek "
               "van uw kant, of ons gerechtvaardigd belang, zoals onze algemene commerciële activiteiten.",
        seed="003",
    ),
]
