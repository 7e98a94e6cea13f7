"""The art. 30(1) controller register of a tenant, built from its plugins' processing activities.

Nothing in it is typed in: each line is a `ProcessingActivity` a plugin declares, and its retention column is the
live retention policies (`retention.policies.effective_policies`: the definition with the tenant's settings and
overrides, exactly what the sweeps apply). A line whose policies are missing or all switched off is flagged,
and the completeness check names every missing element with its article.
"""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass

from flask_babel import lazy_gettext as _l

from saas.modules.agreements import queries as agreements
from saas.modules.retention import policies
from saas.plugins.definitions import LEGAL_BASES, ProcessingActivity
from saas.plugins.manager import current_registry

# What this product itself does for every line (art. 30(1)(g): "where possible, a general description of the
# technical and organisational security measures referred to in art. 32(1)"); all of it is enforced in code.
PRODUCT_MEASURES = (
    _l("personal fields encrypted with a key per data subject"),
    _l("tenants isolated by row-level security"),
    _l("role-based access with need-to-know scopes"),
    _l("audit trail of every change and every view of personal data"),
    _l("retention enforced by a daily sweep"),
)


@dataclass(frozen=True)
class Gap:
    """An element the register must hold and this line (or the register's head) does not."""

    element: str   # lazily translated
    article: str


@dataclass(frozen=True)
class RegisterLine:
    activity: ProcessingActivity
    retention: tuple[policies.EffectivePolicy, ...]   # the live policies in force for this activity
    switched_off: tuple[str, ...]                     # named policies the tenant switched off
    unknown: tuple[str, ...]                          # named policies no plugin of the tenant has
    security: tuple
    gaps: tuple[Gap, ...]

    @property
    def has_retention(self) -> bool:
        return bool(self.retention)


@dataclass(frozen=True)
class ControllerRegister:
    tenant_name: str
    contact: dict
    lines: tuple[RegisterLine, ...]
    head_gaps: tuple[Gap, ...]

    @property
    def gaps(self) -> list[tuple[str, Gap]]:
        """Every missing element: ("", gap) for the head, (activity key, gap) for a line."""
        return [("", gap) for gap in self.head_gaps] + [
            (line.activity.key, gap) for line in self.lines for gap in line.gaps
        ]

    @property
    def complete(self) -> bool:
        return not self.gaps


def activities_of(tenant) -> list[ProcessingActivity]:
    """The processing activities of the tenant's plugins, by name."""
    found = current_registry().of("saas_processing_activities", tenant.plugins or [])
    return sorted(found, key=lambda a: a.name)


def controller_register(tenant, activities: list[ProcessingActivity] | None = None) -> ControllerRegister:
    """The tenant's controller register; `activities` replaces the plugins' (a test removes an element)."""
    in_force = {p.name: p for p in policies.effective_policies(tenant)}
    lines = tuple(_line(a, in_force) for a in (activities_of(tenant) if activities is None else activities))
    contact = dict(tenant.contact or {})
    return ControllerRegister(tenant.name, contact, lines, tuple(head_gaps(tenant.name, contact)))


def _line(activity: ProcessingActivity, in_force: dict[str, policies.EffectivePolicy]) -> RegisterLine:
    named = activity.retention_policies
    live = tuple(in_force[n] for n in named if n in in_force and in_force[n].enabled)
    switched_off = tuple(n for n in named if n in in_force and not in_force[n].enabled)
    unknown = tuple(n for n in named if n not in in_force)
    security = PRODUCT_MEASURES + ((activity.security,) if activity.security else ())
    line = RegisterLine(activity, live, switched_off, unknown, security, ())
    return RegisterLine(activity, live, switched_off, unknown, security, tuple(line_gaps(line)))


def head_gaps(name: str, contact: dict) -> list[Gap]:
    gaps = []
    if not name:
        gaps.append(Gap(_l("name of the controller"), "art. 30(1)(a)"))
    if not _reachable(contact):
        gaps.append(Gap(_l("contact details of the controller"), "art. 30(1)(a)"))
    return gaps


def processor_head_gaps(name: str, contact: dict) -> list[Gap]:
    gaps = []
    if not name:
        gaps.append(Gap(_l("name of the processor"), "art. 30(2)(a)"))
    if not _reachable(contact):
        gaps.append(Gap(_l("contact details of the processor"), "art. 30(2)(a)"))
    return gaps


def _reachable(contact: dict) -> bool:
    return bool(contact.get("email") or contact.get("phone") or contact.get("address"))


def line_gaps(line: RegisterLine) -> list[Gap]:
    """What one line misses, each with the article that asks for it."""
    a = line.activity
    gaps = []
    if not a.purpose.strip():
        gaps.append(Gap(_l("purpose of the processing"), "art. 30(1)(b)"))
    if a.legal_basis not in LEGAL_BASES:
        gaps.append(Gap(_l("legal basis"), "art. 6(1)"))
    if not a.subject_categories:
        gaps.append(Gap(_l("categories of data subjects"), "art. 30(1)(c)"))
    if not a.data_categories:
        gaps.append(Gap(_l("categories of personal data"), "art. 30(1)(c)"))
    if not a.recipients:
        gaps.append(Gap(_l("categories of recipients"), "art. 30(1)(d)"))
    if a.transfers is None:
        gaps.append(Gap(_l("transfers to third countries (or that there are none)"), "art. 30(1)(e)"))
    if not line.retention:
        gaps.append(Gap(_l("retention period: no retention policy in force"), "art. 30(1)(f)"))
    if not line.security:
        gaps.append(Gap(_l("security measures"), "art. 30(1)(g)"))
    return gaps


# ---- processor register (art. 30(2)) ----------------------------------------------------------------------

# The EEA: the EU member states plus Iceland, Liechtenstein and Norway. A sub-processor elsewhere is a transfer.
EEA = frozenset(
    "AT BE BG CY CZ DE DK EE ES FI FR GR HR HU IE IT LT LU LV MT NL PL PT RO SE SI SK IS LI NO".split()
)
IN_FORCE = "completed"   # an agreement signed by both sides and sealed; a new version supersedes it


@dataclass(frozen=True)
class SubProcessorLine:
    name: str
    country: str
    purpose: str

    @property
    def is_transfer(self) -> bool:
        return self.country.upper() not in EEA


@dataclass(frozen=True)
class ProcessorLine:
    """One controller on whose behalf the tenant processes, from its processor agreement in force."""

    agreement_number: str
    controller: str
    controller_kvk: str
    processing: tuple[tuple[str, str], ...]    # (merge field name, value): subject matter, nature, purpose, ...
    sub_processors: tuple[SubProcessorLine, ...]
    security: str
    gaps: tuple[Gap, ...]

    @property
    def transfers(self) -> tuple[SubProcessorLine, ...]:
        return tuple(s for s in self.sub_processors if s.is_transfer)


@dataclass(frozen=True)
class ProcessorRegister:
    tenant_name: str
    contact: dict
    lines: tuple[ProcessorLine, ...]
    head_gaps: tuple[Gap, ...]

    @property
    def gaps(self) -> list[tuple[str, Gap]]:
        return [("", gap) for gap in self.head_gaps] + [
            (line.agreement_number, gap) for line in self.lines for gap in line.gaps
        ]

    @property
    def complete(self) -> bool:
        return not self.gaps


PROCESSING_FIELDS = ("subject_matter", "nature", "purpose", "data_subject_categories", "data_types")


def processor_register(tenant) -> ProcessorRegister:
    """The tenant's processor register: one line per processor agreement in force in which the tenant is the
    processor, with the controller, the processing and the sub-processors its annex names."""
    lines = []
    for agreement in agreements.all_agreements():
        if agreement.tenant_role != "processor" or agreement.status != IN_FORCE:
            continue
        fields = agreement.fields or {}
        subs = tuple(SubProcessorLine(s.name, s.country or "", s.purpose)
                     for s in agreements.sub_processors_of(agreement) if agreements.in_annex(s))
        line = ProcessorLine(agreement.number, agreement.counterparty_name, agreement.counterparty_kvk or "",
                             tuple((name, str(fields.get(name) or "").strip()) for name in PROCESSING_FIELDS),
                             subs, str(fields.get("security_measures") or "").strip(), ())
        lines.append(dataclasses.replace(line, gaps=tuple(processor_line_gaps(line))))
    contact = dict(tenant.contact or {})
    return ProcessorRegister(tenant.name, contact, tuple(lines), tuple(processor_head_gaps(tenant.name, contact)))


def processor_line_gaps(line: ProcessorLine) -> list[Gap]:
    gaps = []
    if not line.controller.strip():
        gaps.append(Gap(_l("name of the controller"), "art. 30(2)(a)"))
    values = dict(line.processing)
    if not (values.get("subject_matter") or values.get("nature")):
        gaps.append(Gap(_l("categories of processing"), "art. 30(2)(b)"))
    if any(not s.country for s in line.sub_processors):
        gaps.append(Gap(_l("country of a sub-processor (transfers)"), "art. 30(2)(c)"))
    if not line.security:
        gaps.append(Gap(_l("security measures"), "art. 30(2)(d)"))
    return gaps
