"""Processing activities of lead generation (seed 004, Leadhunter), weighed by the six bases in order."""
from __future__ import annotations

from plugins.leadgen import rules
from saas.plugins.definitions import ProcessingActivity

ACTIVITIES = [
    ProcessingActivity(
        name="leadgen.prospect_calling", version=1,
        purpose="Lead generation and telemarketing for client organisations: calling contact persons at "
                "companies, keeping their details current and verified.",
        subject_categories=("prospect",),
        data_categories=("name of the contact person", "direct e-mail address", "direct telephone number",
                         "job title"),
        legal_basis="legitimate_interests",
        not_applicable=(
            ("consent", "Contact persons are called business to business without asking them first; the seed "
                        "rests the calling on marketing, not on consent."),
            ("contract", "There is no contract with the contact person."),
            ("legal_obligation", "No law requires the calling."),
            ("vital_interests", "Nobody's life or health depends on it."),
            ("public_task", "Leadhunter carries out no task in the public interest or official authority."),
        ),
        recipients=("the client organisation whose assignment the contact is called for (its own database back)",
                    "processors, under a processor agreement"),
        transfers=(),
        retention_policies=tuple(p.name for p in rules.POLICIES if p.category == "prospect"),
        source="Onder gerechtvaardigd belang valt binnen de kaders van de AVG: 'Marketing'. Zie overweging 47 van "
               "de AVG",
        seed="004, section 4",
    ),
]
