"""Demo data for the five demo tenants: realistic Dutch people made up by Faker (nl_NL), with lifecycle
dates, consents, companies and assignments with call notes (`records`).

The data is planned first as plain values from a seed per tenant (so it is the same on every
machine and every run) and then written through the normal encrypted models. A tenant that already
has demo data is left alone unless it is reset.
"""
from __future__ import annotations

import unicodedata
import zlib
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, timezone

import sqlalchemy as sa
from faker import Faker

from saas.core import clock
from saas.core.crypto.keyring import keyring
from saas.core.tenancy import tenant_context
from saas.extensions import db
from saas.modules.accounts import operations as accounts
from saas.modules.accounts.models import ApiToken, Membership, User
from saas.modules.assignments.models import Assignment, AssignmentAgent, AssignmentSubject, CallNote
from saas.modules.audit import operations as audit
from saas.modules.clients.models import ClientOrganisation
from saas.modules.companies.models import Company
from saas.modules.consents.models import ConsentRecord
from saas.modules.demo import agreements as demo_agreements
from saas.modules.seals import pki
from saas.modules.demo import records
from saas.modules.demo.records import Lifecycle, PlannedAssignment, PlannedCompany
from saas.modules.erasure import operations as erasure
from saas.modules.subjects.models import DataSubject
from saas.modules.tenants.models import Tenant
from saas.plugins.manager import current_registry

DEMO_TENANTS = ("zest", "kantoor", "client-ict", "kvgo", "leadhunter")
DEMO_PASSWORD = "demo-wachtwoord"
DEMO_SOURCE = "demo"
SUBJECTS_PER_TENANT = 240
ORGANISATIONS_PER_TENANT = 4
MAX_CONTACT_AGE_DAYS = 3 * 365

# (local part of the email, role, index of the client organisation for client users)
DEMO_ACCOUNTS = (
    ("admin", "admin", None),
    ("supervisor", "supervisor", None),
    ("agent", "agent", None),
    ("agent2", "agent", None),
    ("client", "client", 0),
    ("client2", "client", 1),
    ("board", "board", None),
)
# Added later than the others: its name comes from a Faker of its own, so every other demo name stays the same.
LATER_ACCOUNTS = ("board",)

# Which kinds of people a tenant holds follows from its sector plugins (the registry); these the demo leaves out
# (people who only appear beside others: a referee, a user of a managed system).
NOT_PLANNED = ("referee", "system_user")
# Contacts at a client and prospects in a client's lead database belong to that client organisation.
CLIENT_OWNED = ("client_contact", "prospect", "crm_contact", "hosting_contact")
RARE = {"employee": 1, "relation": 2}
LEGAL_FORM_WORDS = {"stichting", "vereniging", "bv", "nv", "vof", "en", "zn", "zonen", "de", "het"}
COMMON_WEIGHT = 4

JOB_TITLES = (
    "Accountmanager", "Office manager", "Financieel controller", "Directeur", "Inkoper",
    "HR-adviseur", "Projectleider", "Salesmanager", "Boekhouder", "IT-beheerder",
    "Marketingmedewerker", "Operationeel manager", "Jurist", "Data-analist", "Teamleider klantenservice",
)
NOTES = {
    "crm_contact": ("Kennismaking op de netwerkborrel; NDA getekend.", "Offerte voor een verbetertraject gestuurd.",
                    "Kort verslag: wil in het voorjaar een vervolgsessie."),
    "hosting_contact": ("Technisch contact voor het hostingcontract.", "Storingsmelding afgehandeld.",
                        "Contract verlengd met een jaar."),
    "client_contact": ("Kennismakingsgesprek gevoerd, offerte volgt.", "Jaarcontract besproken; terugbellen na de zomer.",
                       "Vraag over facturatie beantwoord.", "Wil graag een demo van de nieuwe dienstverlening."),
    "prospect": ("Interesse in een vervolggesprek.", "Geen behoefte op dit moment.",
                 "Verzoek om informatie per e-mail.", "Terugbellen in het volgende kwartaal."),
    "candidate": ("Beschikbaar voor interim-opdrachten van 32 uur.", "Zoekt een opdracht in de regio.",
                  "Intake gehad; cv ontvangen.", "Geplaatst geweest, staat open voor een nieuwe opdracht."),
    "applicant": ("Sollicitatiegesprek gepland.", "Eerste gesprek gevoerd.", "Reactie op vacature ontvangen."),
    "training_participant": ("Heeft de training AVG in de praktijk gevolgd.", "Ingeschreven voor de masterclass.",
                             "Certificaat uitgereikt."),
    "member": ("Lid sinds de fusie van de regioafdelingen.", "Bezoekt de ledenvergadering.", "Contributie betaald."),
    "relation": ("Leverancier van drukwerk.", "Contactpersoon bij de brancheorganisatie.", "Sponsor van het congres."),
}


@dataclass(frozen=True)
class PlannedAccount:
    email: str
    display_name: str
    role: str
    client_org_index: int | None


@dataclass(frozen=True)
class PlannedSubject:
    category: str
    given_name: str
    family_name: str
    email: str
    phone: str
    job_title: str | None
    city: str
    notes: str | None
    client_org_index: int | None
    lifecycle: Lifecycle
    company_index: int | None = None

    @property
    def last_contact_on(self) -> date:
        return self.lifecycle.last_contact_on


@dataclass(frozen=True)
class TenantPlan:
    slug: str
    organisations: tuple[tuple[str, str], ...]  # (name, KvK number)
    accounts: tuple[PlannedAccount, ...]
    subjects: tuple[PlannedSubject, ...]
    companies: tuple[PlannedCompany, ...] = ()
    assignments: tuple[PlannedAssignment, ...] = ()


@dataclass(frozen=True)
class SeedResult:
    slug: str
    seeded: bool
    accounts: int = 0
    organisations: int = 0
    subjects: int = 0
    companies: int = 0
    assignments: int = 0


# ---- planning (pure: same input, same data) ------------------------------------------------------

def categories_for(plugins) -> tuple[str, ...]:
    """The categories of the tenant's plugins, in the order of its plugins and their declarations."""
    registry = current_registry()
    found = []
    for plugin in plugins or ():
        for category in registry.of("saas_subject_categories", [plugin]):
            if category.name not in found and category.name not in NOT_PLANNED:
                found.append(category.name)
    return tuple(found)


def keeps_companies(plugins) -> bool:
    """Whether a retention rule of the tenant's plugins keeps company records (lead generation does)."""
    return any(policy.category == "company"
               for policy in current_registry().of("saas_retention_policies", list(plugins or ())))


def demo_email(local: str, slug: str) -> str:
    return f"{local}@{slug}.demo"


def _ascii_slug(text: str) -> str:
    plain = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    return "".join(ch for ch in plain.lower() if ch.isalnum())


def company_domain(name: str) -> str:
    words = [_ascii_slug(word) for word in name.split()]
    return "".join(w for w in words if w and w not in LEGAL_FORM_WORDS)[:30] + ".nl"


def plan_tenant(slug: str, plugins, today: date, subject_count: int = SUBJECTS_PER_TENANT) -> TenantPlan:
    fake = Faker("nl_NL")
    fake.seed_instance(zlib.crc32(slug.encode()))
    organisations = tuple(
        (fake.unique.company(), str(fake.random_number(digits=8, fix_len=True)))
        for _ in range(ORGANISATIONS_PER_TENANT)
    )
    later = Faker("nl_NL")
    later.seed_instance(zlib.crc32(f"{slug}:later".encode()))
    accounts_ = tuple(
        PlannedAccount(demo_email(local, slug), (later if local in LATER_ACCOUNTS else fake).name(), role, org)
        for local, role, org in DEMO_ACCOUNTS
    )
    leadgen = keeps_companies(plugins)
    companies = records.plan_companies(fake, today, company_domain) if leadgen else ()
    categories = categories_for(plugins)
    weights = [RARE.get(c, COMMON_WEIGHT) for c in categories]
    domains = [company_domain(name) for name, _ in organisations]
    subjects = tuple(
        _plan_subject(fake, fake.random.choices(categories, weights)[0], today, domains, companies)
        for _ in range(subject_count if categories else 0)
    )
    assignments = records.plan_assignments(fake.random, subjects, len(organisations), leadgen)
    return TenantPlan(slug, organisations, accounts_, subjects, companies, assignments)


def _plan_subject(fake: Faker, category: str, today: date, domains: list[str], companies) -> PlannedSubject:
    """A person; a prospect works at one of the tenant's companies and sits in one client's lead database."""
    given, family = fake.first_name(), fake.last_name()
    org_index = fake.random.randrange(len(domains)) if category in CLIENT_OWNED else None
    company_index = fake.random.randrange(len(companies)) if category == "prospect" and companies else None
    if company_index is not None:
        domain = companies[company_index].domain
    else:
        domain = domains[org_index] if org_index is not None else fake.free_email_domain()
    at_work = category in CLIENT_OWNED or category in ("relation", "employee")
    last_contact = today - timedelta(days=fake.random.randrange(MAX_CONTACT_AGE_DAYS))
    return PlannedSubject(
        category=category, given_name=given, family_name=family,
        email=f"{_ascii_slug(given)}.{_ascii_slug(family)}@{domain}",
        phone=fake.phone_number(),
        job_title=fake.random.choice(JOB_TITLES) if at_work else None,
        city=fake.city(),
        notes=fake.random.choice(NOTES[category]) if category in NOTES else None,
        client_org_index=org_index,
        lifecycle=records.plan_lifecycle(fake.random, category, today, last_contact),
        company_index=company_index,
    )


# ---- writing --------------------------------------------------------------------------------------

def demo_tenants(slugs=None) -> list[Tenant]:
    """The demo tenants that exist (created from tenants/*.toml by `saas tenants sync`)."""
    wanted = tuple(slugs or DEMO_TENANTS)
    rows = db.session.scalars(sa.select(Tenant).where(Tenant.slug.in_(wanted)))
    by_slug = {tenant.slug: tenant for tenant in rows}
    return [by_slug[slug] for slug in wanted if slug in by_slug]


def seed_tenant(tenant: Tenant, *, reset: bool = False, subject_count: int = SUBJECTS_PER_TENANT) -> SeedResult:
    """Fill one tenant with demo data in one transaction; a tenant that has it already is skipped."""
    db.session.commit()
    # The platform CA is made in its own transaction on the key store; on SQLite that must happen before
    # this seed's transaction writes subject keys there, or the two would wait for each other.
    pki.platform_ca_certificate()
    plan = plan_tenant(tenant.slug, tenant.plugins, clock.today(), subject_count)
    with tenant_context(tenant.id):
        try:
            already = has_demo_data()
            if already and not reset:
                db.session.rollback()
                return SeedResult(tenant.slug, seeded=False)
            if already:
                remove_demo_data(tenant, plan)
            result = _write_plan(tenant, plan)
            db.session.commit()
        except BaseException:
            db.session.rollback()
            raise
    return result


def has_demo_data() -> bool:
    return db.session.scalar(sa.select(DataSubject.id).where(DataSubject.source == DEMO_SOURCE).limit(1)) is not None


def _write_plan(tenant: Tenant, plan: TenantPlan) -> SeedResult:
    organisations = [ClientOrganisation(name=name, kvk_number=kvk, active=True) for name, kvk in plan.organisations]
    companies = [Company(name=c.name, kvk_number=c.kvk_number, city=c.city, website=f"https://www.{c.domain}",
                         last_verified_on=c.last_verified_on, needs_verification_since=c.needs_verification_since)
                 for c in plan.companies]
    db.session.add_all([*organisations, *companies])
    db.session.flush()
    users = {}
    for account in plan.accounts:
        user = accounts.create_user(account.email, account.display_name, DEMO_PASSWORD, locale=tenant.locale)
        org = organisations[account.client_org_index] if account.client_org_index is not None else None
        accounts.add_membership(tenant, user, account.role, client_org_id=org.id if org else None)
        users[account.email.partition("@")[0]] = user
    subjects = [_subject_from_plan(planned, organisations, companies) for planned in plan.subjects]
    db.session.add_all(subjects)
    db.session.flush()
    for planned, subject in zip(plan.subjects, subjects):
        db.session.add_all(_consents_from_plan(planned, subject))
    assignments = [_write_assignment(planned, organisations, subjects, users) for planned in plan.assignments]
    db.session.flush()
    made = demo_agreements.seed_agreements(tenant, users, assignments)
    audit.record("demo.seed", "tenant", tenant.id, detail={
        "accounts": len(plan.accounts), "organisations": len(organisations), "subjects": len(plan.subjects),
        "companies": len(companies), "assignments": len(plan.assignments), "agreements": made,
    })
    return SeedResult(tenant.slug, True, len(plan.accounts), len(organisations), len(plan.subjects),
                      len(companies), len(plan.assignments))


def _subject_from_plan(planned: PlannedSubject, organisations: list[ClientOrganisation],
                       companies: list[Company]) -> DataSubject:
    org = organisations[planned.client_org_index] if planned.client_org_index is not None else None
    company = companies[planned.company_index] if planned.company_index is not None else None
    subject = DataSubject(category=planned.category, source=DEMO_SOURCE, client_org_id=org.id if org else None,
                          company_id=company.id if company else None, **planned.lifecycle.dates())
    subject.given_name, subject.family_name = planned.given_name, planned.family_name
    subject.email, subject.phone, subject.city = planned.email, planned.phone, planned.city
    subject.job_title, subject.notes = planned.job_title, planned.notes
    return subject


def _noon(day: date) -> datetime:
    return datetime.combine(day, time(12), tzinfo=clock.AMSTERDAM).astimezone(timezone.utc)


def _consents_from_plan(planned: PlannedSubject, subject: DataSubject) -> list[ConsentRecord]:
    return [ConsentRecord(subject_id=subject.id, purpose=c.purpose, legal_basis=c.legal_basis,
                          evidence_text=c.evidence_text, evidence_at=_noon(c.given_on), channel=c.channel,
                          given_at=_noon(c.given_on), expires_on=c.expires_on,
                          withdrawn_at=_noon(c.withdrawn_on) if c.withdrawn_on else None)
            for c in planned.lifecycle.consents]


def _write_assignment(planned: PlannedAssignment, organisations, subjects: list[DataSubject],
                      users: dict) -> Assignment:
    assignment = Assignment(client_org_id=organisations[planned.client_org_index].id, title=planned.title,
                            supervisor_id=users["supervisor"].id, active=planned.active)
    db.session.add(assignment)
    db.session.flush()
    db.session.add_all(AssignmentAgent(assignment_id=assignment.id, user_id=users[local].id)
                       for local in planned.agents)
    db.session.add_all(AssignmentSubject(assignment_id=assignment.id, subject_id=subjects[i].id)
                       for i in planned.subject_indexes)
    for index, text, days_ago in planned.notes:
        note = CallNote(assignment_id=assignment.id, subject_id=subjects[index].id,
                        author_id=users[planned.agents[0]].id, created_at=clock.now() - timedelta(days=days_ago))
        note.body = text
        db.session.add(note)
    return assignment


def remove_demo_data(tenant: Tenant, plan: TenantPlan) -> None:
    """Undo a seed: demo subjects are crypto-shredded (with their consents and call notes), demo assignments,
    companies, accounts and organisations removed."""
    subject_ids = list(db.session.scalars(sa.select(DataSubject.id).where(DataSubject.source == DEMO_SOURCE)))
    # The erasure's steps in its order: the rows (and what names them), then the keys with a ledger line.
    # One transaction with the new seed; the data database took part first, so it commits first.
    erasure.purge_ids(subject_ids)
    keyring().destroy_subject_keys(tenant.id, subject_ids, reason="demo-reset")
    org_ids = list(db.session.scalars(sa.select(ClientOrganisation.id).where(
        ClientOrganisation.name.in_([name for name, _ in plan.organisations]))))
    assignment_ids = list(db.session.scalars(sa.select(Assignment.id).where(Assignment.client_org_id.in_(org_ids))))
    for model in (CallNote, AssignmentAgent, AssignmentSubject):
        db.session.execute(sa.delete(model).where(model.assignment_id.in_(assignment_ids)))
    db.session.execute(sa.delete(Assignment).where(Assignment.id.in_(assignment_ids)))
    db.session.execute(sa.delete(Company).where(Company.name.in_([c.name for c in plan.companies])))
    user_ids = list(db.session.scalars(
        sa.select(User.id).where(User.email.in_([account.email for account in plan.accounts]))
    ))
    db.session.execute(sa.delete(ApiToken).where(ApiToken.user_id.in_(user_ids)))
    db.session.execute(sa.delete(Membership).where(Membership.user_id.in_(user_ids)))
    db.session.execute(sa.delete(User).where(User.id.in_(user_ids)))
    db.session.execute(sa.delete(ClientOrganisation).where(ClientOrganisation.id.in_(org_ids)))
    audit.record("demo.reset", "tenant", tenant.id, detail={"subjects": len(subject_ids), "accounts": len(user_ids)})
    db.session.flush()


def demo_logins(tenants) -> list[tuple[str, str, str]]:
    """(tenant slug, role, email) for every demo account, for printing."""
    return [(tenant.slug, role, demo_email(local, tenant.slug)) for tenant in tenants for local, role, _ in DEMO_ACCOUNTS]
