"""Processing activities of a consultancy (seed 000, Zestgroup), weighed by the six bases in order."""
from __future__ import annotations

from plugins.consultancy import rules
from saas.plugins.definitions import ProcessingActivity

NO_PUBLIC_TASK = "The organisation carries out no task in the public interest or in the exercise of official authority."

ACTIVITIES = [
    ProcessingActivity(
        name="consultancy.client_relations", version=1,
        purpose="Keeping the mutual administration with client organisations and their employees in the CRM.",
        subject_categories=("crm_contact",),
        data_categories=("names", "business e-mail addresses", "business telephone numbers"),
        legal_basis="legitimate_interests",
        not_applicable=(
            ("consent", "Business contact details are kept for the relationship with the organisation, not asked "
                        "of each employee."),
            ("contract", "The contract is with the client organisation, not with its employees."),
            ("legal_obligation", "No law requires the CRM."),
            ("vital_interests", "Nobody's life or health depends on it."),
            ("public_task", NO_PUBLIC_TASK),
        ),
        recipients=("none outside the organisation; employees and third parties working for it are bound to "
                    "secrecy",),
        transfers=(),
        retention_policies=("consultancy.crm_contact_relationship_end",),
        source=rules.CRM_SOURCE,
        seed="000",
    ),
    ProcessingActivity(
        name="consultancy.trainings", version=1,
        purpose="Organising and planning trainings, and registering participants for exams and certification.",
        subject_categories=("training_participant",),
        data_categories=("names", "contact details"),
        legal_basis="contract",
        not_applicable=(("consent", "The training the participant follows cannot be given without the data; "
                                    "consent would add nothing a participant could refuse."),),
        recipients=("exam and certification bodies, where needed",),
        transfers=(),
        retention_policies=("consultancy.training_participant_end",),
        source=rules.TRAINING_SOURCE,
        seed="000",
    ),
    ProcessingActivity(
        name="consultancy.references", version=1,
        purpose="Giving references for the consultancy's services.",
        subject_categories=("referee",),
        data_categories=("name", "organisation", "contact details"),
        legal_basis="consent",
        recipients=("prospective clients who ask for a reference",),
        transfers=(),
        retention_policies=("consultancy.referee_relationship_end",),
        source=rules.REFERENCE_SOURCE,
        seed="000",
    ),
]
