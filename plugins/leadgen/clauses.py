"""Sector clauses of the leadgen plugin for processor agreements (art. 28 GDPR), seed 004: a new agreement per
assignment, need-to-know for call agents, suppression after a rights request, no wider sub-processing."""
from __future__ import annotations

from saas.plugins.definitions import AgreementClause
from saas.plugins.hookspecs import hookimpl

CLAUSES = [
    AgreementClause(
        name="leadgen.scope_per_assignment", version=1,
        title_nl="Reikwijdte per opdracht", title_en="Scope per assignment",
        text_nl=("Deze verwerkersovereenkomst geldt alleen voor de opdracht die erin is genoemd. Voor iedere nieuwe "
                 "opdracht sluiten partijen een nieuwe verwerkersovereenkomst. Verwerker gebruikt de persoonsgegevens "
                 "van deze opdracht niet voor andere opdrachten of andere opdrachtgevers, en koppelt ze alleen aan "
                 "eigen bedrijfs- en contactgegevens voor zover dat nodig is om de opdracht uit te voeren."),
        text_en=("This processor agreement applies only to the assignment named in it. The parties conclude a new "
                 "processor agreement for every new assignment. The Processor does not use the personal data of this "
                 "assignment for other assignments or other clients, and matches it with its own company and contact "
                 "data only as far as needed to carry out the assignment."),
    ),
    AgreementClause(
        name="leadgen.need_to_know", version=1,
        title_nl="Need-to-know voor call-agenten", title_en="Need-to-know for call agents",
        text_nl=("Call-agenten krijgen alleen toegang tot de gegevens van de personen die zij op dat moment voor de "
                 "opdracht benaderen, en pas wanneer deze overeenkomst door beide partijen is ondertekend. Iedere "
                 "inzage wordt gelogd. Belnotities zijn zichtbaar voor Verwerkingsverantwoordelijke en worden met de "
                 "opdracht verwijderd."),
        text_en=("Call agents only get access to the data of the persons they are contacting for the assignment at "
                 "that moment, and only once both parties have signed this agreement. Every view is logged. Call "
                 "notes are visible to the Controller and are deleted with the assignment."),
    ),
    AgreementClause(
        name="leadgen.suppression", version=1,
        title_nl="Verzoeken van betrokkenen en afmeldingen", title_en="Data subject requests and opt-outs",
        text_nl=("Verwerker beantwoordt of verwijst een verzoek van een betrokkene binnen 14 dagen en meldt het aan "
                 "Verwerkingsverantwoordelijke. Wie vraagt niet meer benaderd te worden, wordt ook voor toekomstige "
                 "opdrachten uitgesloten."),
        text_en=("The Processor answers or forwards a data subject's request within 14 days and reports it to the "
                 "Controller. A person who asks not to be contacted again is also excluded from future assignments."),
    ),
]


@hookimpl
def saas_agreement_clauses() -> list[AgreementClause]:
    return list(CLAUSES)
