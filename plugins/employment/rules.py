"""Retention rules for applicants and employees (seed 004, AP guidance).

An applicant who was not hired is purged 4 weeks after the procedure closed, or 1 year after it while the
applicant's consent for the applicant pool holds. A withdrawn or expired consent drops the applicant back to
the 4-week rule, which by then is usually overdue: the next sweep purges. Employees' files are purged 5 years
after leaving. A hired applicant becomes an employee (category `employee`) and falls under that rule.
"""
from __future__ import annotations

from saas.plugins.definitions import RecordView, RetentionPolicy, RuleContext

# The consent that lets an applicant stay in the pool for later vacancies.
APPLICANT_POOL = "applicant_pool"

APPLICANT_SOURCE = "De gegevens van sollicitanten worden bewaard tot één jaar na afwijzing van de kandidaat."
EMPLOYEE_SOURCE = (
    "Ook kunnen verslagen worden opgeslagen over het functioneren van de medewerker (M/V) alsook notities van "
    "eventuele gesprekken. Deze worden bewaard tot 5 jaar na uitdiensttreding en zijn alleen zichtbaar voor de "
    "bestuurders van de Coöperatie Leadhunter."
)


def not_hired_without_pool_consent(view: RecordView, ctx: RuleContext) -> bool:
    """Rejected or withdrawn (anything but hired), with no running consent for the applicant pool."""
    return view.procedure_outcome != "hired" and APPLICANT_POOL not in view.consents


def not_hired_with_pool_consent(view: RecordView, ctx: RuleContext) -> bool:
    """Rejected or withdrawn, and the applicant agreed to stay in the pool (consent given, not withdrawn,
    not expired on the sweep's date)."""
    return view.procedure_outcome != "hired" and APPLICANT_POOL in view.consents


POLICIES = [
    RetentionPolicy(
        name="employment.applicant_rejected", version=1, category="applicant",
        anchor="procedure_closed_on", weeks=4, setting="applicant_weeks",
        action="purge", applies=not_hired_without_pool_consent,
        source=APPLICANT_SOURCE,
        description="The seed is silent on applicants who gave no consent to be kept, so the legal default "
                    "applies (AP guidance, NVP Sollicitatiecode): an applicant who was not hired is purged 4 weeks "
                    "after the procedure closed.",
    ),
    RetentionPolicy(
        name="employment.applicant_pool", version=1, category="applicant",
        anchor="procedure_closed_on", months=12, setting="applicant_with_consent_months",
        action="purge", applies=not_hired_with_pool_consent,
        source=APPLICANT_SOURCE,
        description="With consent for the applicant pool an applicant who was not hired is kept one year after "
                    "the procedure closed (the seed's 'één jaar na afwijzing'), then purged. Without that consent "
                    "the 4-week rule applies.",
    ),
    RetentionPolicy(
        name="employment.employee_records", version=1, category="employee",
        anchor="employed_to", years=5, setting="employee_years",
        action="purge",
        source=EMPLOYEE_SOURCE,
        description="An employee's file (hours, pay, assessments, notes of talks) is purged 5 years after the "
                    "employee left (employed_to).",
    ),
]
