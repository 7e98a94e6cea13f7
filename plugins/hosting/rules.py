"""Retention rules of hosting and system management (seed 002, Cliënt Solutions).

The seed keeps hosting data "zolang de overeenkomst [...] dit toestaat": while the contract runs. When the
contract has ended (`relationship_ended_on`, the first day without a contract) the contacts of the hosting
customer and the users of the managed systems are purged, after `delete_after_contract_days` (default 0: on
the next sweep). As a processor the tenant deletes at the end of the service (art. 28(3)(g)).
"""
from __future__ import annotations

from saas.plugins.definitions import RetentionPolicy

CONTRACT_SOURCE = (
    "Uw persoonsgegevens (bijvoorbeeld IP gegevens, gebruikersnamen en wachtwoorden) zijn beschikbaar zolang de "
    "overeenkomst tussen Cliënt Solutions en u als opdrachtgever dit toestaat."
)

POLICIES = [
    RetentionPolicy(
        name=f"hosting.{category}_contract_end", version=1, category=category,
        anchor="relationship_ended_on", setting="delete_after_contract_days", action="purge",
        source=CONTRACT_SOURCE,
        description=f"{what} is kept while the hosting contract runs and purged when it has ended, after the "
                    "tenant's delete_after_contract_days (default 0).",
    )
    for category, what in (("hosting_contact", "A contact of a hosting customer"),
                           ("system_user", "A user account of a managed system"))
]
