"""Planning the demo's records around the people: lifecycle dates per category, consents, companies and
assignments with call notes. Pure functions of a seeded random generator and a date, so the demo is the same
on every machine; `operations` writes the plan.

Dates are spread realistically around `today`, and about one record in ten per category is placed so that a
retention rule falls due within the next two weeks (`SOON_DAYS`): a sweep in the demo always has work, and the
retention forecast shows something for every rule.
"""
from __future__ import annotations

import calendar
import random
from dataclasses import dataclass, field
from datetime import date, timedelta

SOON_DAYS = 14
SOON_SHARE = 0.1
COMPANIES_PER_LEADGEN_TENANT = 12
WEEK = 7

# Rules the due-soon records aim at, in the periods of the sector plugins (seeds 002, 004; AP guidance).
CANDIDATE_RECONSENT_MONTHS, CANDIDATE_PURGE_MONTHS = 12, 24
APPLICANT_WEEKS = 4
EMPLOYEE_YEARS = 5
VERIFY_MONTHS, PURGE_UNVERIFIED_MONTHS = 6, 12
# Relationships that end in a purge at once (consultancy, hosting): a planned end in the next two weeks.
ENDS_AT_ONCE = ("crm_contact", "training_participant", "hosting_contact")
# Relationships with a long fiscal tail (fiscal, association): some ended long ago, so a sweep acts.
FISCAL_TAIL = ("client_contact", "relation", "member")

EVIDENCE = {
    "candidate_pool": "Ja, Cliënt Interim Professionals mag mijn cv en gegevens bewaren om mij passende "
                      "opdrachten aan te bieden. Ik kan deze toestemming altijd intrekken.",
    "applicant_pool": "Ja, bewaar mijn sollicitatie een jaar voor andere vacatures. Ik kan dit altijd intrekken.",
    "references": "Ja, mijn naam en ervaring met de training mogen als referentie worden genoemd.",
}
CALL_NOTES = (
    "Gesproken met de contactpersoon; belangstelling voor een afspraak in het volgende kwartaal.",
    "Voicemail ingesproken, morgen opnieuw proberen.",
    "Geen behoefte op dit moment; over een half jaar opnieuw benaderen.",
    "Offerte gevraagd voor 25 licenties; doorgezet naar de accountmanager.",
    "Verzocht om informatie per e-mail; brochure verstuurd.",
    "Afspraak ingepland voor een kennismaking op locatie.",
    "Beslisser is de inkoper; contactgegevens bevestigd.",
    "Wil niet meer gebeld worden: doorgegeven aan de opdrachtbegeleider.",
)


@dataclass(frozen=True)
class PlannedConsent:
    purpose: str
    legal_basis: str
    channel: str
    given_on: date
    expires_on: date | None = None
    withdrawn_on: date | None = None

    @property
    def evidence_text(self) -> str:
        return EVIDENCE[self.purpose]


@dataclass(frozen=True)
class Lifecycle:
    """The lifecycle dates of one person (DataSubject attributes) and the consents it gave."""

    last_contact_on: date
    placed_from: date | None = None
    placed_to: date | None = None
    employed_from: date | None = None
    employed_to: date | None = None
    relationship_ended_on: date | None = None
    procedure_closed_on: date | None = None
    procedure_outcome: str | None = None
    last_verified_on: date | None = None
    left_company_on: date | None = None
    needs_verification_since: date | None = None
    consents: tuple[PlannedConsent, ...] = ()

    def dates(self) -> dict:
        """The DataSubject attributes (everything but the consents)."""
        return {name: getattr(self, name) for name in self.__dataclass_fields__ if name != "consents"}


@dataclass(frozen=True)
class PlannedCompany:
    name: str
    kvk_number: str
    city: str
    domain: str
    last_verified_on: date
    needs_verification_since: date | None


@dataclass(frozen=True)
class PlannedAssignment:
    title: str
    client_org_index: int
    active: bool
    agents: tuple[str, ...]                        # local parts of the demo accounts
    subject_indexes: tuple[int, ...]
    notes: tuple[tuple[int, str, int], ...] = field(default=())   # (subject index, text, days ago)


def shift_months(day: date, months: int) -> date:
    """The same day `months` later (earlier when negative), clamped to the month's last day."""
    month0 = day.month - 1 + months
    year, month = day.year + month0 // 12, month0 % 12 + 1
    return date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


def _days(rnd: random.Random, low: int, high: int) -> timedelta:
    return timedelta(days=rnd.randint(low, high))


def plan_lifecycle(rnd: random.Random, category: str, today: date, last_contact: date) -> Lifecycle:
    """Lifecycle dates for one person of `category`; some fall due within `SOON_DAYS`."""
    soon = rnd.random() < SOON_SHARE
    planner = _PLANNERS.get(category, _relationship)
    return planner(rnd, category, today, last_contact, soon)


def _candidate(rnd, category, today, last_contact, soon) -> Lifecycle:
    placed_from = placed_to = None
    if soon:  # re-consent or purge falls due in the next two weeks
        months = rnd.choice((CANDIDATE_RECONSENT_MONTHS, CANDIDATE_PURGE_MONTHS))
        last_contact = shift_months(today, -months) + _days(rnd, 1, SOON_DAYS)
    elif rnd.random() < 0.25:
        placed_from = last_contact - _days(rnd, 60, 900)
        placed_to = placed_from + _days(rnd, 90, 540)
    consents = ()
    if rnd.random() < 0.35:
        withdrawn = last_contact + _days(rnd, 10, 200) if rnd.random() < 0.15 else None
        consents = (PlannedConsent("candidate_pool", "consent", "web", last_contact,
                                   withdrawn_on=withdrawn if withdrawn and withdrawn <= today else None),)
    return Lifecycle(last_contact, placed_from=placed_from, placed_to=placed_to, consents=consents)


def _applicant(rnd, category, today, last_contact, soon) -> Lifecycle:
    if not soon and rnd.random() < 0.25:  # still in the procedure
        return Lifecycle(today - _days(rnd, 0, 40))
    if soon:  # rejected, no consent: purged 4 weeks after the procedure closed
        closed = today - timedelta(weeks=APPLICANT_WEEKS) + _days(rnd, 1, SOON_DAYS)
        outcome = "rejected"
    else:
        closed = today - _days(rnd, 0, 420)
        outcome = rnd.choices(("rejected", "hired", "withdrawn"), (60, 15, 25))[0]
    consents = ()
    if not soon and outcome != "hired" and rnd.random() < 0.4:
        consents = (PlannedConsent("applicant_pool", "consent", "email", closed,
                                   expires_on=shift_months(closed, 12)),)
    return Lifecycle(closed, procedure_closed_on=closed, procedure_outcome=outcome, consents=consents)


def _employee(rnd, category, today, last_contact, soon) -> Lifecycle:
    employed_from = today - _days(rnd, 365, 15 * 365)
    employed_to = None
    if soon:
        employed_to = shift_months(today, -12 * EMPLOYEE_YEARS) + _days(rnd, 1, SOON_DAYS)
    elif rnd.random() < 0.4:
        employed_to = today - _days(rnd, 0, 6 * 365)
    if employed_to is not None and employed_to < employed_from:
        employed_from = employed_to - _days(rnd, 365, 8 * 365)
    return Lifecycle(min(last_contact, employed_to or today), employed_from=employed_from, employed_to=employed_to)


def _prospect(rnd, category, today, last_contact, soon) -> Lifecycle:
    verified = today - _days(rnd, 0, 395)
    if soon:  # flagged in the next two weeks, or purged unverified in the next two weeks
        months = rnd.choice((VERIFY_MONTHS, PURGE_UNVERIFIED_MONTHS))
        verified = shift_months(today, -months) + _days(rnd, 1, SOON_DAYS)
    flag_on = shift_months(verified, VERIFY_MONTHS)
    left = today - _days(rnd, 0, 5) if not soon and rnd.random() < 0.03 else None
    return Lifecycle(min(last_contact, today), last_verified_on=verified, left_company_on=left,
                     needs_verification_since=flag_on if flag_on <= today else None)


def _relationship(rnd, category, today, last_contact, soon) -> Lifecycle:
    ended = None
    if soon and category in ENDS_AT_ONCE:
        ended = today + _days(rnd, 1, SOON_DAYS)  # the contract or training ends soon
    elif rnd.random() < (0.35 if category in FISCAL_TAIL else 0.2):
        ended = today - _days(rnd, 0, 9 * 365)
    consents = ()
    if category == "training_participant" and rnd.random() < 0.2:
        consents = (PlannedConsent("references", "consent", "paper", last_contact),)
    return Lifecycle(min(last_contact, ended) if ended and ended <= today else last_contact,
                     relationship_ended_on=ended, consents=consents)


_PLANNERS = {"candidate": _candidate, "applicant": _applicant, "employee": _employee, "prospect": _prospect}


def plan_companies(fake, today: date, domain_of) -> tuple[PlannedCompany, ...]:
    """The businesses behind a lead-generation tenant's prospects (business data: never deleted)."""
    companies = []
    for _ in range(COMPANIES_PER_LEADGEN_TENANT):
        name = fake.unique.company()
        verified = today - _days(fake.random, 0, 300)
        flag_on = shift_months(verified, VERIFY_MONTHS)
        companies.append(PlannedCompany(name, str(fake.random_number(digits=8, fix_len=True)), fake.city(),
                                        domain_of(name), verified, flag_on if flag_on <= today else None))
    return tuple(companies)


def usable(subject) -> bool:
    """A planned subject an agent may work on (not flagged, not gone from its company)."""
    return subject.lifecycle.needs_verification_since is None and subject.lifecycle.left_company_on is None


def plan_assignments(rnd: random.Random, subjects, organisations: int, leadgen: bool) -> tuple[PlannedAssignment, ...]:
    """One running assignment per tenant, worked by both agents; a lead-generation tenant also has a finished
    (inactive) one, whose call notes its agent no longer sees."""
    wanted = [("Belronde najaar", 0, True, ("agent", "agent2"), 12, 6)]
    if leadgen and organisations > 1:
        wanted.append(("Belronde voorjaar (afgerond)", 1, False, ("agent2",), 8, 3))
    planned = []
    for title, org, active, agents, size, notes in wanted:
        # Only the client organisation's own people: the tenant's staff and applicants never join a client's
        # assignment (issue 9, the access policy's invariant).
        pool = [i for i, s in enumerate(subjects) if s.client_org_index == org and usable(s)][:size]
        chosen = tuple(pool)
        note_rows = tuple((index, rnd.choice(CALL_NOTES), rnd.randint(1, 60)) for index in chosen[:notes])
        planned.append(PlannedAssignment(title, org, active, agents, chosen, note_rows))
    return tuple(planned)
