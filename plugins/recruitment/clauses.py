"""Sector clauses of the recruitment plugin for processor agreements (art. 28 GDPR), seed 002: candidate data
is kept at most two years after the last contact, re-consent after a year, and never shared without consent."""
from __future__ import annotations

from saas.plugins.definitions import AgreementClause
from saas.plugins.hookspecs import hookimpl

CLAUSES = [
    AgreementClause(
        name="recruitment.candidate_data", version=1,
        title_nl="Gegevens van kandidaten", title_en="Candidate data",
        text_nl=("Gegevens van kandidaten (cv, contactgegevens, beschikbaarheid en gespreksverslagen) worden alleen "
                 "verwerkt voor bemiddeling naar werk. Verwerker deelt het cv van een kandidaat alleen met een "
                 "opdrachtgever nadat de kandidaat daarvoor toestemming heeft gegeven. Gegevens van een kandidaat die "
                 "niet is geplaatst worden uiterlijk twee jaar na het laatste contact verwijderd; na een jaar zonder "
                 "contact vraagt Verwerker de kandidaat opnieuw om toestemming."),
        text_en=("Candidate data (CV, contact details, availability and interview notes) is processed only to place "
                 "candidates in work. The Processor shares a candidate's CV with a client only after the candidate "
                 "consented to it. The data of a candidate who was not placed is deleted at the latest two years after "
                 "the last contact; after one year without contact the Processor asks the candidate for consent "
                 "again."),
    ),
]


@hookimpl
def saas_agreement_clauses() -> list[AgreementClause]:
    return list(CLAUSES)
