"""Processing activities of the tenant as employer (seed 004, section 9, Leadhunter), weighed in order."""
from __future__ import annotations

from plugins.employment import rules
from saas.plugins.definitions import ProcessingActivity

CONSENT_NOT_FREE = "An applicant or employee depends on the employer, so consent would not be freely given."

ACTIVITIES = [
    ProcessingActivity(
        name="employment.applications", version=1,
        purpose="Handling job applications (and, with consent, keeping applicants for a year for later vacancies).",
        subject_categories=("applicant",),
        data_categories=("name and contact details", "CV, letter of application", "notes of interviews"),
        legal_basis="contract",
        not_applicable=(("consent", CONSENT_NOT_FREE + " Consent is asked only to keep the data after the "
                                   "procedure."),),
        recipients=("the board of the cooperative",), transfers=(),
        retention_policies=("employment.applicant_rejected", "employment.applicant_pool"),
        source=rules.APPLICANT_SOURCE,
        seed="004, section 9",
    ),
    ProcessingActivity(
        name="employment.personnel_files", version=1,
        purpose="Keeping personnel files of employees: performance reports and notes of meetings.",
        subject_categories=("employee",),
        data_categories=("name and contact details", "reports on performance", "notes of meetings"),
        legal_basis="contract",
        not_applicable=(("consent", CONSENT_NOT_FREE),),
        recipients=("the board of the cooperative only",), transfers=(),
        retention_policies=("employment.employee_records",),
        source=rules.EMPLOYEE_SOURCE,
        seed="004, section 9",
    ),
]
