"""Retention rules of a trade association (seed 003, KVGO).

Members are kept at least 7 years after the membership ended, counted like the fiscal duty the seed names
(from the end of the year the membership ended), "en daarna tot u ons verzoekt deze te verwijderen": after
the minimum the record is put on hold with that reason and is never purged by a sweep. During the 7 years an
erasure request keeps the fiscal fields, restricted, and erases the rest ("Bij een verzoek tot verwijdering
bewaren wij wél die informatie waartoe wij wettelijk verplicht zijn."). A tenant that sets
`keep_until_erasure_request = false` has its members purged when the minimum ends instead.

Relations and client contacts of the association are the fiscal plugin's categories and follow its rules.
"""
from __future__ import annotations

from plugins.fiscal.rules import FISCAL_FIELDS, FISCAL_REASON  # members pay dues: the same fiscal fields
from saas.plugins.definitions import ErasureException, RecordView, RetentionPolicy, RuleContext

MINIMUM_YEARS = 7
# "until you ask us to delete it" has no end of its own: the hold is reviewed every year instead.
REVIEW_MONTHS = 12

KEEP_SOURCE = (
    "Wij bewaren deze gegevens minstens zo lang als wettelijk verplicht (bijvoorbeeld voor de belastingdienst 7 jaar, "
    "of langer in verband met wettelijke en contractuele aansprakelijkheid) en daarna tot u ons verzoekt deze te "
    "verwijderen omdat uit onze ervaring blijkt dat leden, klanten, leveranciers en overige relaties het wenselijk "
    "vinden dat wij over historische gegevens kunnen beschikken."
)


def keeps_until_erasure_request(view: RecordView, ctx: RuleContext) -> bool:
    """`keep_until_erasure_request` (default true): after the minimum, keep until the member asks."""
    return bool(ctx.settings.get("keep_until_erasure_request", True))


def purges_after_minimum(view: RecordView, ctx: RuleContext) -> bool:
    return not keeps_until_erasure_request(view, ctx)


_MINIMUM = dict(category="member", anchor="relationship_ended_on", years=MINIMUM_YEARS, from_year_end=True,
                setting="minimum_years", source=KEEP_SOURCE)

POLICIES = [
    RetentionPolicy(
        name="association.member_kept", version=1, action="hold", applies=keeps_until_erasure_request,
        review_months=REVIEW_MONTHS,
        description="After the minimum of 7 years from the end of the year the membership ended, a former member "
                    "is put on hold (kept on the seed's promise until they ask for erasure) and reviewed every "
                    "year; a sweep never purges it. Erasure within the 7 years restricts the fiscal fields and erases the rest.",
        **_MINIMUM,
    ),
    RetentionPolicy(
        name="association.member_purge", version=1, action="purge", applies=purges_after_minimum,
        description="Only for a tenant with keep_until_erasure_request = false: a former member is purged when "
                    "the 7-year minimum ends.",
        **_MINIMUM,
    ),
]

EXCEPTIONS = [
    ErasureException(
        name="association.member_fiscal_fields", version=1, category="member", fields=FISCAL_FIELDS,
        reason=FISCAL_REASON, anchor="relationship_ended_on", years=MINIMUM_YEARS, from_year_end=True,
    ),
]
