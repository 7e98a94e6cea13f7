"""Processing activities of recruitment and secondment (seed 002, section 1.2, Cliënt Interim Professionals),
weighed by the six bases in order (seed 002, section 2.4)."""
from __future__ import annotations

from plugins.recruitment import rules
from saas.plugins.definitions import ProcessingActivity

NO_PUBLIC_TASK = ("The organisation carries out no task in the public interest or in the exercise of official "
                  "authority (seed 002, section 2.4).")

ACTIVITIES = [
    ProcessingActivity(
        name="recruitment.candidate_mediation", version=1,
        purpose="Mediating candidates for secondment, recruitment and selection, and asking them again after a "
                "year without contact whether they want to stay registered.",
        subject_categories=("candidate",),
        data_categories=("name, address and contact details", "date of birth, age, gender",
                         "CV, education, internships and work experience", "training and test results",
                         "availability and leave", "references and testimonials", "passport photo (voluntary)"),
        legal_basis="consent",
        recipients=("other Cliënt Interim Professionals entities", "(potential) clients",
                    "subcontractors acting as processors", "suppliers",
                    "government bodies when the law or a court order requires it"),
        transfers=(),
        retention_policies=tuple(p.name for p in rules.POLICIES),
        source="Als onderdeel van onze sollicitatieprocedure wordt u toestemming gevraagd en geborgd ter verwerking "
               "van uw persoonsgegevens.",
        seed="002, section 1.2",
    ),
    ProcessingActivity(
        name="recruitment.professional_employment", version=1,
        purpose="Employing or contracting interim professionals who work for the organisation: personnel, "
                "payroll and absence records.",
        subject_categories=("candidate",),
        data_categories=("nationality", "citizen service number (BSN)", "identity document", "work permit",
                         "certificate of conduct (VOG)", "personnel, payroll and absence records"),
        legal_basis="legal_obligation",
        not_applicable=(
            ("consent", "A person who works for the organisation depends on it, so consent would not be free; "
                        "the data is required, not optional."),
            ("contract", "The work itself does not need BSN, identity document and work permit: payroll tax and "
                         "immigration law require them (seed 002, section 2.4, example of the third basis)."),
        ),
        recipients=("government bodies (tax authority)", "subcontractors acting as processors"),
        transfers=(),
        retention_policies=(),  # the seed states no retention period for people who worked for the organisation
        source="Op het moment dat u voor Cliënt Interim Professionals kunt gaan werken/werkt/heeft gewerkt: "
               "nationaliteit, BSN-nummer, ID bewijs, werkvergunning, VOG; overige gegevens die gerelateerd zijn aan "
               "de personeels-, salaris- en verzuimregistratie.",
        seed="002, section 1.2",
    ),
]
