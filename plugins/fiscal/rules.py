"""Retention rules of the fiscal retention duty (AWR art. 52(4); seeds 001 and 003).

Billing and administration data of a client contact or relation is kept 7 years after the end of the fiscal
(calendar) year in which the relationship ended. The period counts from the day the year's records close:
a relationship that ended on 2019-03-01 belongs to the records of 2019, which close on 2019-12-31; the 7 years
run through 2026 and the record is due on 2027-01-01 (`from_year_end`: anchor year + 1, January 1st, plus
the period).

Then it is purged, unless the tenant keeps ex-clients for its liability (`liability_hold`, seed 001: "voor
zover en voor zo lang dat nodig is in verband met onze mogelijke aansprakelijkheidspositie"): then the record
is put on hold with that reason instead. "As long as our liability requires" is not for ever: the hold ends
`liability_years` (default 20, the outer limit for claims for damages, art. 3:310 BW) after the relationship
ended, and the record is purged then; while it runs, a sweep makes a "review" decision every year, so the
tenant looks again at whether the liability still requires the record (an erasure request removes it sooner).

While the 7 years run, an erasure request keeps the fiscal fields, restricted to this purpose, and erases the
rest (art. 17(3)(b)): the erasure exceptions below.
"""
from __future__ import annotations

from saas.plugins.definitions import ErasureException, RecordView, RetentionPolicy, RuleContext

# Subject categories whose billing data falls under the duty. Members (association plugin) have their own.
CATEGORIES = ("client_contact", "relation")
# What the tax inspector may ask for: who was billed, where, and from which account.
FISCAL_FIELDS = ("given_name", "family_name", "address", "city", "iban")
FISCAL_REASON = "Fiscale bewaarplicht (art. 52 lid 4 AWR)"
FISCAL_YEARS = 7
# Art. 3:310 BW: a claim for damages lapses at the latest 20 years after the event that caused the damage.
LIABILITY_YEARS = 20
LIABILITY_REVIEW_MONTHS = 12

RETENTION_SOURCE = (
    "Het gedurende een bepaalde periode bewaren van persoonsgegevens kan nodig zijn om ontvangen opdracht(en) "
    "/werkzaamheden goed te kunnen uitvoeren en/of om wettelijke verplichtingen te kunnen naleven (bijvoorbeeld in "
    "verband met de fiscale bewaarplicht)."
)
LIABILITY_SOURCE = (
    "Tot slot bewaren wij persoonsgegevens van ex-clieënten voor zover en voor zo lang dat nodig is in verband met "
    "onze mogelijke aansprakelijkheidspositie."
)


def without_liability_hold(view: RecordView, ctx: RuleContext) -> bool:
    """The tenant lets the fiscal period end in a purge (`liability_hold = false`, the default)."""
    return not ctx.settings.get("liability_hold", False)


def with_liability_hold(view: RecordView, ctx: RuleContext) -> bool:
    """The tenant keeps ex-clients for its liability after the fiscal period (`liability_hold = true`)."""
    return bool(ctx.settings.get("liability_hold", False))


def _policies(category: str) -> list[RetentionPolicy]:
    period = dict(category=category, anchor="relationship_ended_on", years=FISCAL_YEARS, from_year_end=True,
                  setting="retention_years")
    return [
        RetentionPolicy(
            name=f"fiscal.{category}_records", version=1, action="purge", applies=without_liability_hold,
            source=RETENTION_SOURCE, **period,
            description="The seed names no period; the law does (AWR art. 52(4)): 7 years after the end of the "
                        "fiscal year in which the relationship ended, then the record is purged.",
        ),
        RetentionPolicy(
            name=f"fiscal.{category}_liability", version=1, action="hold", applies=with_liability_hold,
            source=LIABILITY_SOURCE, hold_years=LIABILITY_YEARS, hold_setting="liability_years",
            review_months=LIABILITY_REVIEW_MONTHS, **period,
            description="With liability_hold the tenant keeps ex-clients after the 7 fiscal years for its "
                        "liability: the record is put on hold with that reason and reviewed every year; the hold "
                        "ends liability_years (default 20, art. 3:310 BW) after the relationship ended, and the "
                        "record is purged then. An erasure request still removes it sooner.",
        ),
    ]


POLICIES = [policy for category in CATEGORIES for policy in _policies(category)]

EXCEPTIONS = [
    ErasureException(
        name=f"fiscal.{category}_fiscal_fields", version=1, category=category, fields=FISCAL_FIELDS,
        reason=FISCAL_REASON, anchor="relationship_ended_on", years=FISCAL_YEARS, from_year_end=True,
    )
    for category in CATEGORIES
]
