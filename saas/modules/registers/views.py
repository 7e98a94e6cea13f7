"""The processing registers of a tenant (art. 30): the controller register (art. 30(1)) and the processor
register (art. 30(2)), as a page and as CSV and XLSX.

Admins only (the register describes every processing of the organisation); supervisors, agents, clients and
the board get 404. Each line comes from a processing activity of the tenant's plugins; its retention column is
the live retention policy, as the sweeps apply it.
"""
from __future__ import annotations

from flask import Response, g, render_template
from flask_babel import gettext as _

from saas import access
from saas.core.web import tenant_blueprint
from saas.modules.registers import exports, queries
from saas.modules.retention.views import action_label, period_text
from saas.modules.subjects.forms import category_label
from saas.plugins.definitions import LEGAL_BASIS_ARTICLES

bp = tenant_blueprint("registers", __name__, template_folder="templates")


def basis_label(basis: str) -> str:
    labels = {
        "consent": _("Consent"), "contract": _("Performance of a contract"),
        "legal_obligation": _("Legal obligation"), "vital_interests": _("Vital interests"),
        "public_task": _("Public task"), "legitimate_interests": _("Legitimate interests"),
    }
    return f"{labels.get(basis, basis)} ({LEGAL_BASIS_ARTICLES.get(basis, '?')})"


def retention_text(policy) -> str:
    """"recruitment.candidate_purge@v1: Purge, 2 years after ..." as the retention page says it."""
    return f"{policy.key}: {action_label(policy.action)}, {period_text(policy)}"


def transfers_text(transfers) -> str:
    if transfers is None:
        return ""
    return "; ".join(transfers) if transfers else _("None outside the EEA")


def header() -> list[str]:
    return [
        _("Activity"), _("Purpose (art. 30(1)(b))"), _("Legal basis (art. 6(1))"),
        _("Why earlier bases do not apply"), _("Data subjects (art. 30(1)(c))"),
        _("Personal data (art. 30(1)(c))"), _("Recipients (art. 30(1)(d))"),
        _("Transfers (art. 30(1)(e))"), _("Retention in force (art. 30(1)(f))"),
        _("Security measures (art. 30(1)(g))"), _("Source (seed)"), _("Missing"),
    ]


def row(line: queries.RegisterLine) -> list[str]:
    a = line.activity
    return [
        a.key, a.purpose, basis_label(a.legal_basis),
        "; ".join(f"{basis_label(basis)}: {reason}" for basis, reason in a.not_applicable),
        "; ".join(category_label(c, plural=True) for c in a.subject_categories),
        "; ".join(a.data_categories), "; ".join(a.recipients), transfers_text(a.transfers),
        "; ".join(retention_text(p) for p in line.retention) or _("NONE: no retention policy in force"),
        "; ".join(str(m) for m in line.security), f"{a.source} ({a.seed})",
        "; ".join(f"{gap.element} ({gap.article})" for gap in line.gaps),
    ]


def processing_labels() -> dict[str, str]:
    return {
        "subject_matter": _("Subject matter"), "nature": _("Nature"), "purpose": _("Purpose"),
        "data_subject_categories": _("Categories of data subjects"), "data_types": _("Types of personal data"),
    }


def sub_processor_text(sub: queries.SubProcessorLine) -> str:
    return f"{sub.name} ({sub.country or '?'}): {sub.purpose}"


def processor_header() -> list[str]:
    return [
        _("Agreement"), _("Controller (art. 30(2)(a))"), _("Chamber of Commerce number"),
        *(f"{label} (art. 30(2)(b))" for label in processing_labels().values()),
        _("Sub-processors"), _("Transfers (art. 30(2)(c))"), _("Security measures (art. 30(2)(d))"), _("Missing"),
    ]


def processor_row(line: queries.ProcessorLine) -> list[str]:
    return [
        line.agreement_number, line.controller, line.controller_kvk, *(value for _name, value in line.processing),
        "; ".join(sub_processor_text(s) for s in line.sub_processors),
        "; ".join(sub_processor_text(s) for s in line.transfers) or _("None outside the EEA"),
        line.security, "; ".join(f"{gap.element} ({gap.article})" for gap in line.gaps),
    ]


@bp.get("/registers")
@access.requires("view", "register")
def index():
    return render_template(
        "registers/index.html", register=queries.controller_register(g.tenant),
        processor=queries.processor_register(g.tenant), basis_label=basis_label, retention_text=retention_text,
        transfers_text=transfers_text, category_label=category_label, processing_labels=processing_labels(),
        sub_processor_text=sub_processor_text,
    )


def _controller_table() -> tuple[list[str], list[list[str]]]:
    return header(), [row(line) for line in queries.controller_register(g.tenant).lines]


def _processor_table() -> tuple[list[str], list[list[str]]]:
    return processor_header(), [processor_row(line) for line in queries.processor_register(g.tenant).lines]


@bp.get("/registers/controller.csv")
@access.requires("export", "register")
def controller_csv():
    return _csv("controller", *_controller_table())


@bp.get("/registers/controller.xlsx")
@access.requires("export", "register")
def controller_xlsx():
    return _xlsx("controller", _("Controller register"), *_controller_table())


@bp.get("/registers/processor.csv")
@access.requires("export", "register")
def processor_csv():
    return _csv("processor", *_processor_table())


@bp.get("/registers/processor.xlsx")
@access.requires("export", "register")
def processor_xlsx():
    return _xlsx("processor", _("Processor register"), *_processor_table())


def _csv(which: str, head: list[str], rows: list[list[str]]) -> Response:
    return _download(exports.to_csv(head, rows), "text/csv; charset=utf-8", which, "csv")


def _xlsx(which: str, title: str, head: list[str], rows: list[list[str]]) -> Response:
    return _download(exports.to_xlsx(title, head, rows),
                     "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", which, "xlsx")


def _download(body: bytes, mimetype: str, which: str, extension: str) -> Response:
    name = f"{which}-register-{g.tenant.slug}.{extension}"
    return Response(body, mimetype=mimetype, headers={"Content-Disposition": f'attachment; filename="{name}"'})
