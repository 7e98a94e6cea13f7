"""Retention rules of the recruitment sector (seed 002, Cliënt Interim Professionals).

A candidate who never worked through the tenant is asked again for consent one year after the last contact
and purged two years after it. The seed sets no period for candidates who did work through the tenant: their
files fall under the personnel and fiscal duties, not under these rules. A "yes" sets `last_contact_on` to the
day of the answer (the consent page does that), which moves both due dates: the rules only count from it.
Unsubscribing erases the candidate at once (the consent page erases; no sweep needed).
"""
from __future__ import annotations

from saas.plugins.definitions import RecordView, RetentionPolicy, RuleContext

# The consent a re-consent request asks for; the consent page records the answer under this purpose.
CANDIDATE_POOL = "candidate_pool"

PURGE_SOURCE = (
    "Uw persoonsgegevens (bijvoorbeeld NAW, CV, werkervaring, opleiding, testresultaten e.d.) zijn beschikbaar tot "
    "maximaal twee jaar na het laatste contact indien u niet voor Cliënt Interim Professionals heeft gewerkt."
)
RECONSENT_SOURCE = (
    "Na één jaar nadat u geen contact met ons heeft gehad ontvangt u een bericht van ons dat u bij ons staat "
    "ingeschreven. Hierbij wordt opnieuw aan u toestemming gevraagd om de persoonsgegevens te verwerken met het doel "
    "verzamelen en verwerken uw gegevens voor de uitvoering onze dienstverlening."
)


def never_placed(view: RecordView, ctx: RuleContext) -> bool:
    """"indien u niet voor Cliënt Interim Professionals heeft gewerkt": no placement was ever recorded."""
    return view.placed_from is None


POLICIES = [
    RetentionPolicy(
        name="recruitment.candidate_reconsent", version=1, category="candidate",
        anchor="last_contact_on", months=12, setting="reconsent_after_months",
        action="reconsent", purpose=CANDIDATE_POOL, applies=never_placed,
        source=RECONSENT_SOURCE,
        description="One year after the last contact a candidate never placed is mailed a re-consent request "
                    "(the mail says that without an answer the data goes when the two years are over). A yes "
                    "records the consent and sets the last contact to that day, so both this rule and the "
                    "two-year purge count again from the answer.",
    ),
    RetentionPolicy(
        name="recruitment.candidate_purge", version=1, category="candidate",
        anchor="last_contact_on", months=24, setting="purge_after_months",
        action="purge", applies=never_placed,
        source=PURGE_SOURCE,
        description="A candidate never placed is purged two years after the last contact (subject key destroyed, "
                    "rows deleted). Candidates who worked through us are kept under the personnel rules instead.",
    ),
]
