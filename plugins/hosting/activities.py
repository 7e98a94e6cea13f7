"""Processing activities of hosting and system management as controller (seed 002, sections 1.3 and 2.1,
Cliënt Solutions), weighed by the six bases in order (seed 002, section 2.4)."""
from __future__ import annotations

from saas.plugins.definitions import ProcessingActivity

NO_PUBLIC_TASK = ("The organisation carries out no task in the public interest or in the exercise of official "
                  "authority (seed 002, section 2.4).")
RECIPIENTS = ("other Cliënt Solutions entities", "sub-processors: a data centre supplier and software suppliers "
              "(seed 002, section 2.2)", "others only when the law or a court order requires it")

ACTIVITIES = [
    ProcessingActivity(
        name="hosting.customer_contacts", version=1,
        purpose="Performing hosting, management and IT support contracts with customer organisations.",
        subject_categories=("hosting_contact",),
        data_categories=("name, address, e-mail and other contact details of the organisation and its contacts",),
        legal_basis="contract",
        not_applicable=(
            ("consent", "The service is only provided under a contract and cannot run without its contacts; "
                        "consent that could be withdrawn at will does not fit."),
        ),
        recipients=RECIPIENTS, transfers=(),
        retention_policies=("hosting.hosting_contact_contract_end",),
        source="Deze dienstverlening wordt enkel in een overeenkomst vorm toegepast en beschikbaar gesteld.",
        seed="002, section 1.3",
    ),
    ProcessingActivity(
        name="hosting.system_accounts", version=1,
        purpose="Managing and securing the accounts of information systems used for management activities.",
        subject_categories=("system_user",),
        data_categories=("user names and passwords", "IP data", "account activity logs"),
        legal_basis="legitimate_interests",
        not_applicable=(
            ("consent", "Securing the systems cannot depend on each user's consent."),
            ("contract", "The users of a managed system are not party to the hosting contract."),
            ("legal_obligation", "No law requires these accounts to be kept."),
            ("vital_interests", "Nobody's life or health depends on it."),
            ("public_task", NO_PUBLIC_TASK),
        ),
        recipients=RECIPIENTS, transfers=(),
        retention_policies=("hosting.system_user_contract_end",),
        source="De organisatie verwerkt inloggegevens ten behoeve van netwerkbeveiliging",
        seed="002, sections 1.3 and 2.4",
    ),
]
