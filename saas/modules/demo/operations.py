"""Demo data for the five demo tenants: realistic Dutch people made up by Faker (nl_NL).

The data is planned first as plain values from a seed per tenant (so it is the same on every
machine and every run) and then written through the normal encrypted models. A tenant that already
has demo data is left alone unless it is reset.
"""
from __future__ import annotations

import unicodedata
import zlib
from dataclasses import dataclass
from datetime import date, timedelta

import sqlalchemy as sa
from faker import Faker

from saas.core import clock
from saas.core.crypto.keyring import keyring
from saas.core.tenancy import tenant_context
from saas.extensions import db
from saas.modules.accounts import operations as accounts
from saas.modules.accounts.models import ApiToken, Membership, User
from saas.modules.audit import operations as audit
from saas.modules.clients.models import ClientOrganisation
from saas.modules.subjects.models import DataSubject
from saas.modules.tenants.models import Tenant

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
)

# Which kinds of people a tenant holds follows from its sector plugins.
PLUGIN_CATEGORIES = {
    "recruitment": ("candidate",),
    "employment": ("applicant", "employee"),
    "leadgen": ("prospect",),
    "fiscal": ("client_contact",),
    "association": ("member", "relation"),
    "consultancy": ("client_contact", "training_participant"),
    "hosting": ("client_contact",),
}
# Contacts at a client and prospects in a client's lead database belong to that client organisation.
CLIENT_OWNED = ("client_contact", "prospect")
RARE = {"employee": 1}
LEGAL_FORM_WORDS = {"stichting", "vereniging", "bv", "nv", "vof", "en", "zn", "zonen", "de", "het"}
COMMON_WEIGHT = 4

JOB_TITLES = (
    "Accountmanager", "Office manager", "Financieel controller", "Directeur", "Inkoper",
    "HR-adviseur", "Projectleider", "Salesmanager", "Boekhouder", "IT-beheerder",
    "Marketingmedewerker", "Operationeel manager", "Jurist", "Data-analist", "Teamleider klantenservice",
)
NOTES = {
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
    last_contact_on: date
    client_org_index: int | None


@dataclass(frozen=True)
class TenantPlan:
    slug: str
    organisations: tuple[tuple[str, str], ...]  # (name, KvK number)
    accounts: tuple[PlannedAccount, ...]
    subjects: tuple[PlannedSubject, ...]


@dataclass(frozen=True)
class SeedResult:
    slug: str
    seeded: bool
    accounts: int = 0
    organisations: int = 0
    subjects: int = 0


# ---- planning (pure: same input, same data) ------------------------------------------------------

def categories_for(plugins) -> tuple[str, ...]:
    found = []
    for plugin in plugins or ():
        for category in PLUGIN_CATEGORIES.get(plugin, ()):
            if category not in found:
                found.append(category)
    return tuple(found) or ("client_contact",)


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
    accounts_ = tuple(
        PlannedAccount(demo_email(local, slug), fake.name(), role, org) for local, role, org in DEMO_ACCOUNTS
    )
    categories = categories_for(plugins)
    weights = [RARE.get(c, COMMON_WEIGHT) for c in categories]
    domains = [company_domain(name) for name, _ in organisations]
    subjects = tuple(
        _plan_subject(fake, fake.random.choices(categories, weights)[0], today, domains)
        for _ in range(subject_count)
    )
    return TenantPlan(slug, organisations, accounts_, subjects)


def _plan_subject(fake: Faker, category: str, today: date, domains: list[str]) -> PlannedSubject:
    given, family = fake.first_name(), fake.last_name()
    org_index = fake.random.randrange(len(domains)) if category in CLIENT_OWNED else None
    domain = domains[org_index] if org_index is not None else fake.free_email_domain()
    at_work = category in CLIENT_OWNED or category in ("relation", "employee")
    return PlannedSubject(
        category=category, given_name=given, family_name=family,
        email=f"{_ascii_slug(given)}.{_ascii_slug(family)}@{domain}",
        phone=fake.phone_number(),
        job_title=fake.random.choice(JOB_TITLES) if at_work else None,
        city=fake.city(),
        notes=fake.random.choice(NOTES[category]) if category in NOTES else None,
        last_contact_on=today - timedelta(days=fake.random.randrange(MAX_CONTACT_AGE_DAYS)),
        client_org_index=org_index,
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
    db.session.add_all(organisations)
    db.session.flush()
    for account in plan.accounts:
        user = accounts.create_user(account.email, account.display_name, DEMO_PASSWORD, locale=tenant.locale)
        org = organisations[account.client_org_index] if account.client_org_index is not None else None
        accounts.add_membership(tenant, user, account.role, client_org_id=org.id if org else None)
    for planned in plan.subjects:
        db.session.add(_subject_from_plan(planned, organisations))
    db.session.flush()
    audit.record("demo.seed", "tenant", tenant.id, detail={
        "accounts": len(plan.accounts), "organisations": len(organisations), "subjects": len(plan.subjects),
    })
    return SeedResult(tenant.slug, True, len(plan.accounts), len(organisations), len(plan.subjects))


def _subject_from_plan(planned: PlannedSubject, organisations: list[ClientOrganisation]) -> DataSubject:
    org = organisations[planned.client_org_index] if planned.client_org_index is not None else None
    subject = DataSubject(category=planned.category, source=DEMO_SOURCE, last_contact_on=planned.last_contact_on,
                          client_org_id=org.id if org else None)
    subject.given_name, subject.family_name = planned.given_name, planned.family_name
    subject.email, subject.phone, subject.city = planned.email, planned.phone, planned.city
    subject.job_title, subject.notes = planned.job_title, planned.notes
    return subject


def remove_demo_data(tenant: Tenant, plan: TenantPlan) -> None:
    """Undo a seed: demo subjects are crypto-shredded, demo accounts and organisations removed."""
    subject_ids = list(db.session.scalars(sa.select(DataSubject.id).where(DataSubject.source == DEMO_SOURCE)))
    for subject_id in subject_ids:
        keyring().destroy_subject_key(tenant.id, subject_id, reason="demo-reset")
    db.session.execute(sa.delete(DataSubject).where(DataSubject.source == DEMO_SOURCE))
    user_ids = list(db.session.scalars(
        sa.select(User.id).where(User.email.in_([account.email for account in plan.accounts]))
    ))
    db.session.execute(sa.delete(ApiToken).where(ApiToken.user_id.in_(user_ids)))
    db.session.execute(sa.delete(Membership).where(Membership.user_id.in_(user_ids)))
    db.session.execute(sa.delete(User).where(User.id.in_(user_ids)))
    db.session.execute(sa.delete(ClientOrganisation).where(
        ClientOrganisation.name.in_([name for name, _ in plan.organisations])
    ))
    audit.record("demo.reset", "tenant", tenant.id, detail={"subjects": len(subject_ids), "accounts": len(user_ids)})
    db.session.flush()


def demo_logins(tenants) -> list[tuple[str, str, str]]:
    """(tenant slug, role, email) for every demo account, for printing."""
    return [(tenant.slug, role, demo_email(local, tenant.slug)) for tenant in tenants for local, role, _ in DEMO_ACCOUNTS]
