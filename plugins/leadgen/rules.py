"""Retention rules of lead generation (seed 004, Leadhunter).

Company data is flagged for verification 6 months after its last verification and never deleted. A prospect
(a contact person at a company) is flagged at 6 months and may not be used until an agent verifies it; still
unverified at 12 months it is purged and its blind indexes go on the suppression list, so a later import of
the same person is refused. A prospect who left the company is purged at once. All periods count from the
last verification, or from the record's creation when it was never verified (`RecordView.date_of`).
"""
from __future__ import annotations

from saas.plugins.definitions import RecordView, RetentionPolicy, RuleContext

COMPANY_SOURCE = (
    "Deze algemene gegevens hebben geen bewaartermijn (worden niet automatisch verwijderd), alleen een controle "
    "termijn: na 6 maanden een melding om te controleren"
)
PROSPECT_FLAG_SOURCE = (
    "Deze persoons-herleidbare gegevens worden na 6 maanden aangemerkt voor controle (call-agent mag dit gegeven "
    "niet gebruiken zonder te verifiëren)."
)
PROSPECT_PURGE_SOURCE = (
    "De bewaartermijn van ongecontroleerde gegevens is 12 maanden (6 maanden na aanmerking voor controle), daarna "
    "worden deze, indien niet gecontroleerd, automatisch verwijderd"
)
LEFT_SOURCE = "Indien iemand uit dienst blijkt te zijn worden de gegevens direct verwijderd"


def still_at_the_company(view: RecordView, ctx: RuleContext) -> bool:
    """Someone who left is purged by `leadgen.prospect_left_company`, not asked to be verified."""
    return view.left_company_on is None


def deletes_leavers(view: RecordView, ctx: RuleContext) -> bool:
    """The tenant deletes contacts who left at once (`delete_when_contact_left`, default true)."""
    return bool(ctx.settings.get("delete_when_contact_left", True))


POLICIES = [
    RetentionPolicy(
        name="leadgen.company_verification", version=1, category="company",
        anchor="last_verified_on", months=6, setting="verify_after_months",
        action="flag",
        source=COMPANY_SOURCE,
        description="Company data (not personal) is flagged for an agent to check 6 months after its last "
                    "verification. It is never deleted by a sweep.",
    ),
    RetentionPolicy(
        name="leadgen.prospect_verification", version=1, category="prospect",
        anchor="last_verified_on", months=6, setting="verify_after_months",
        action="flag", applies=still_at_the_company,
        source=PROSPECT_FLAG_SOURCE,
        description="A prospect is flagged 6 months after its last verification and may not be called, mailed or "
                    "exported until an agent verifies it (which sets the last verification to that day).",
    ),
    RetentionPolicy(
        name="leadgen.prospect_unverified", version=1, category="prospect",
        anchor="last_verified_on", months=12, setting="purge_unverified_after_months",
        action="purge", suppress=True,
        source=PROSPECT_PURGE_SOURCE,
        description="A prospect still unverified 12 months after its last verification is purged; its e-mail and "
                    "phone blind indexes go on the suppression list so an upload cannot bring it back.",
    ),
    RetentionPolicy(
        name="leadgen.prospect_left_company", version=1, category="prospect",
        anchor="left_company_on", action="purge", suppress=True, applies=deletes_leavers,
        source=LEFT_SOURCE,
        description="A prospect marked as having left the company is purged on the next sweep (period 0) and "
                    "suppressed, unless the tenant turned delete_when_contact_left off.",
    ),
]
