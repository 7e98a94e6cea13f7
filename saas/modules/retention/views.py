"""Retention pages of a tenant: the policies in force (with the seed sentence each keeps and where its
period came from), a forecast for the coming 12 months, the sweep history with live progress, and the
verification queue.

Admins and supervisors see the policies and sweeps; only admins start a sweep. Agents see only the
verification queue, limited to the records of their open assignments. Client users see none of it (404).
Reads and writes go through `queries`, `operations` and `jobs` of this feature, which audit what they do;
the views audit each view of personal data they show themselves.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, replace
from datetime import date

from flask import abort, flash, g, redirect, render_template, request, url_for
from flask_babel import format_date, get_locale
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_babel import ngettext

from saas.core import clock
from saas.core.paging import Page
from saas.core.web import endpoint_url, get_or_404, tenant_blueprint
from saas import access
from saas.access import scopes
from saas.modules.audit import operations as audit
from saas.modules.companies import queries as companies_queries
from saas.modules.retention import engine, jobs, operations, policies, queries
from saas.modules.retention.forms import RecordActionForm, SweepForm
from saas.modules.retention.models import SweepRun
from saas.modules.subjects import queries as subjects_queries
from saas.modules.subjects.forms import category_label
from saas.plugins import lifecycle
from saas.plugins.manager import current_registry

bp = tenant_blueprint("retention", __name__, template_folder="templates")

PER_PAGE = 25
HISTORY = 20
FORECAST_MONTHS = 12

ACTION_LABELS = {
    "flag": _l("Flag for verification"), "reconsent": _l("Ask consent again"), "purge": _l("Purge"),
    "restrict": _l("Restrict"), "hold": _l("Legal hold"), "review": _l("Review of a hold"),
}
# The chart's colours (SVG presentation attributes: the CSP forbids style attributes).
ACTION_COLOURS = {"flag": "#b7791f", "reconsent": "#1d4e89", "purge": "#b42318", "restrict": "#5b6675",
                  "hold": "#1e7b4a", "review": "#6b4fa0"}
CHART_ACTIONS = ("flag", "reconsent", "purge", "restrict")
# What a period may count from besides the lifecycle dates (those name themselves: `saas.plugins.lifecycle`).
ANCHOR_LABELS = {
    "created_on": _l("the day the record was added"),
    "needs_verification_since": _l("the verification flag"),
}
STATUS_LABELS = {"running": _l("running"), "finished": _l("finished"), "failed": _l("failed")}
TRIGGER_LABELS = {"schedule": _l("schedule"), "command": _l("command"), "portal": _l("portal")}


def anchor_label(anchor: str) -> str:
    """How a period names the date it counts from, in the page's language."""
    if anchor in lifecycle.BY_NAME:
        return lifecycle.BY_NAME[anchor].anchor_label(_language())
    return str(ANCHOR_LABELS.get(anchor, anchor.replace("_", " ")))


def _language() -> str | None:
    locale = get_locale()
    return locale.language if locale is not None else None


@bp.app_template_filter("retention_action")
def action_label(action: str) -> str:
    return str(ACTION_LABELS.get(action, action))


@bp.app_template_filter("retention_category")
def record_category(category: str) -> str:
    return _("Company") if category == "company" else category_label(category)


@bp.app_template_filter("retention_status")
def status_label(status: str) -> str:
    return str(STATUS_LABELS.get(status, status))


@bp.app_template_filter("retention_trigger")
def trigger_label(trigger: str) -> str:
    return str(TRIGGER_LABELS.get(trigger, trigger))


@bp.app_template_filter("retention_duration")
def duration_text(milliseconds: int | None) -> str:
    if milliseconds is None:
        return "—"
    if milliseconds < 1000:
        return _("%(ms)s ms", ms=milliseconds)
    return _("%(s)s s", s=format(milliseconds / 1000, ".1f"))


# ---- policies ----------------------------------------------------------------------------------

def period_text(policy: policies.EffectivePolicy) -> str:
    """"12 months after the last verification", "at once after leaving the company", ..."""
    units = {
        "years": lambda n: ngettext("%(num)s year", "%(num)s years", n),
        "months": lambda n: ngettext("%(num)s month", "%(num)s months", n),
        "weeks": lambda n: ngettext("%(num)s week", "%(num)s weeks", n),
        "days": lambda n: ngettext("%(num)s day", "%(num)s days", n),
    }
    anchor = anchor_label(policy.anchor)
    parts = policy.period.parts()
    if not parts:
        return _("at once after %(anchor)s", anchor=anchor)
    length = ", ".join(units[unit](count) for unit, count in parts.items())
    if policy.from_year_end:
        return _("%(length)s after the end of the calendar year of %(anchor)s", length=length, anchor=anchor)
    return _("%(length)s after %(anchor)s", length=length, anchor=anchor)


@bp.app_template_global("retention_hold_text")
def hold_text(policy: policies.EffectivePolicy) -> str:
    """How long a hold lasts and how often it is reviewed ("" for other actions)."""
    if policy.action != "hold":
        return ""
    parts = []
    if policy.hold_years:
        parts.append(ngettext("The hold ends %(num)s year after %(anchor)s.",
                              "The hold ends %(num)s years after %(anchor)s.", policy.hold_years,
                              anchor=anchor_label(policy.anchor)))
    if policy.review_months:
        parts.append(ngettext("Reviewed every month while it runs.", "Reviewed every %(num)s months while it runs.",
                              policy.review_months))
    return " ".join(parts)


@dataclass(frozen=True)
class Origin:
    """Where a value of a policy came from, as the badge on the page shows it."""

    kind: str      # definition | setting | override
    label: str


def origin_of(policy: policies.EffectivePolicy, part: str) -> Origin:
    kind = policy.origins.get(part, policies.DEFINITION)
    if kind == policies.OVERRIDE:
        return Origin(kind, _("override in tenants/%(slug)s.toml", slug=g.tenant.slug))
    if kind == policies.SETTING:
        return Origin(kind, _("plugin setting %(setting)s", setting=f"settings.{policy.plugin}.{policy.setting}"))
    return Origin(kind, _("seed default"))


def _plugin_titles() -> dict[str, str]:
    return {name: info.title for name, info in current_registry().plugins.items()}


# ---- forecast chart ------------------------------------------------------------------------------

@dataclass(frozen=True)
class Bar:
    x: float
    y: float
    width: float
    height: float
    action: str
    count: int
    month: str


@dataclass(frozen=True)
class Chart:
    """A stacked bar chart, laid out here and drawn as SVG by the template (no script, no style)."""

    width: int
    height: int
    left: int
    top: int
    bottom: int
    bars: list[Bar]
    ticks: list[tuple[float, int]]          # (y, value) of each horizontal grid line
    labels: list[tuple[float, str]]         # (x centre, short month) under each column


def nice_step(maximum: int, lines: int = 4) -> int:
    """A round step (1, 2, 5 x 10^n) so that about `lines` grid lines cover `maximum`."""
    if maximum <= lines:
        return 1
    raw = maximum / lines
    magnitude = 10 ** math.floor(math.log10(raw))
    return next(int(m * magnitude) for m in (1, 2, 5, 10) if raw <= m * magnitude)


def layout_chart(months: list[date], by_action: dict[str, list[int]], *, width: int = 760, height: int = 280,
                 left: int = 48, right: int = 12, top: int = 12, bottom: int = 32) -> Chart:
    """Columns per month, one stacked segment per action (in CHART_ACTIONS order)."""
    totals = [sum(values[i] for values in by_action.values()) for i in range(len(months))]
    step = nice_step(max(totals, default=0))
    ceiling = step * max(1, math.ceil(max(totals, default=0) / step))
    plot_width, plot_height = width - left - right, height - top - bottom
    column = plot_width / max(1, len(months))
    bar_width = column * 0.64
    scale = plot_height / ceiling
    baseline = top + plot_height
    bars = []
    for index, month in enumerate(months):
        x = left + index * column + (column - bar_width) / 2
        y = baseline
        for action, values in by_action.items():
            count = values[index]
            if not count:
                continue
            segment = count * scale
            y -= segment
            bars.append(Bar(round(x, 1), round(y, 1), round(bar_width, 1), round(segment, 1), action, count,
                            format_date(month, "LLLL yyyy")))
    ticks = [(round(baseline - value * scale, 1), value) for value in range(0, ceiling + 1, step)]
    labels = [(round(left + (i + 0.5) * column, 1), format_date(m, "LLL yy")) for i, m in enumerate(months)]
    return Chart(width, height, left, top, bottom, bars, ticks, labels)


@dataclass(frozen=True)
class ForecastView:
    months: list[date]
    actions: list[str]
    by_action: dict[str, list[int]]
    by_policy: dict[tuple[str, str], list[int]]     # (policy key, action) -> counts per month
    totals: list[int]
    chart: Chart


def forecast_view(forecast: queries.Forecast) -> ForecastView:
    """The forecast summed per action (the chart and its table) and per policy (the detail table)."""
    months = [date(int(label[:4]), int(label[5:7]), 1) for label in forecast.months]
    present = {action for (_key, action) in forecast.series}
    actions = [a for a in (*CHART_ACTIONS, "hold", "review") if a in CHART_ACTIONS or a in present]
    by_action = {action: [0] * len(months) for action in actions}
    by_policy = {}
    for (key, action), counts in sorted(forecast.series.items()):
        by_action[action] = [a + b for a, b in zip(by_action[action], counts)]
        by_policy[(key, action)] = counts
    return ForecastView(months, actions, by_action, by_policy, list(forecast.totals),
                        layout_chart(months, by_action))


# ---- pages -----------------------------------------------------------------------------------------

@bp.get("/retention")
@access.requires("view", "retention")
def index():
    if scopes.uses_only_usable(g.membership):  # an agent: its part of retention is the verification queue
        return redirect(url_for(".verification_queue"))
    in_force = policies.effective_policies(g.tenant)
    forecast = forecast_view(queries.forecast_by_month(g.tenant, months=FORECAST_MONTHS))
    page = render_template(
        "retention/index.html", enabled=[p for p in in_force if p.enabled],
        disabled=[p for p in in_force if not p.enabled], holds=policies.active_holds(g.tenant),
        forecast=forecast, history=queries.sweep_history(HISTORY), running=queries.running_sweep(),
        form=SweepForm() if access.can(g.membership, "create", "sweep") else None, plugin_titles=_plugin_titles(),
        period_text=period_text, origin_of=origin_of, colours=ACTION_COLOURS, today=clock.today(),
    )
    return page


@bp.post("/retention/sweeps")
@access.requires("create", "sweep")
def start_sweep():
    form = SweepForm()
    dry_run = form.chosen() if form.validate() else None
    if dry_run is None:
        abort(400)
    started = jobs.begin_sweep(g.tenant.id, as_of=clock.today(), dry_run=dry_run, trigger="portal")
    flash(*_start_message(started))
    return redirect(url_for(".sweep", run_id=started.run.id))


def _start_message(started: jobs.SweepStart) -> tuple[str, str]:
    """What the click did, truthfully: a second click while a sweep runs starts nothing."""
    run = started.run
    if started.outcome == "running":
        return _("A sweep is already running (%(count)s records evaluated so far); no second one was started.",
                 count=run.evaluated), "info"
    if started.outcome == "waiting":
        return _("A sweep is already queued and waits for a worker; no second one was started."), "info"
    if started.outcome == "resumed":
        return _("A sweep had stopped after %(count)s records (its worker was gone); it was resumed.",
                 count=run.evaluated), "info"
    if run.dry_run:
        return _("The dry run was started: it only counts, it changes nothing."), "success"
    return _("The sweep was started."), "success"


@bp.get("/retention/sweeps/<run_id>")
@access.requires("view", "sweep")
def sweep(run_id):
    run = get_or_404(SweepRun, run_id)
    rows = sorted((key, action, count) for key, actions in (run.counts or {}).items()
                  for action, count in actions.items())
    page = render_template("retention/sweep.html", run=run, rows=rows)
    return page


# ---- verification queue ------------------------------------------------------------------------------

def _page_number() -> int:
    page = request.args.get("page", "1")
    if not page.isdigit() or int(page) < 1:
        abort(404)
    return int(page)


def _queue_page(page: int):
    """Managers get the whole queue (subjects and companies); an agent only the flagged subjects of its
    open assignments (need-to-know, decided by the subjects' queries)."""
    if not scopes.uses_only_usable(g.membership):
        found = queries.verification_queue(page, PER_PAGE, membership=g.membership)
        audit.record("retention.queue", "data_subject", None,   # one line with counts, like the subjects list
                     detail={"count": len(found.items), "total": found.total, "page": page, "per_page": PER_PAGE})
        return found
    found = subjects_queries.list_subjects(page, PER_PAGE, needs_verification=True)
    items = [queries.QueueItem("subject", subject, subject.needs_verification_since) for subject in found.items]
    return Page(items, found.total, found.page, found.per_page)


@bp.get("/retention/verify")
@access.requires("verify", "person")
def verification_queue():
    page = _queue_page(_page_number())
    view = render_template("retention/verify.html", page=page, agent_view=scopes.uses_only_usable(g.membership),
                           can_edit=access.can(g.membership, "edit", "person"),
                           companies_url=endpoint_url("companies.index", verification="needed"))
    return view


def _checked_form() -> None:
    if not RecordActionForm().validate():
        abort(400)


def _back_to_queue():
    page = request.args.get("page", "1")
    return redirect(url_for(".verification_queue", page=page if page.isdigit() else "1"))


@bp.post("/retention/verify/subjects/<subject_id>")
@access.requires("verify", "person")
def verify_subject(subject_id):
    subject = subjects_queries.find_subject(subject_id, "retention.verify", verifying=True)
    _checked_form()
    operations.verify_record(subject)
    flash(_("The record is verified and can be used again."), "success")
    return _back_to_queue()


@bp.post("/retention/verify/companies/<company_id>")
@access.requires("verify", "company")
def verify_company(company_id):
    company = companies_queries.find_company(company_id, "verify", audit_as="retention.verify")
    _checked_form()
    operations.verify_record(company)
    flash(_("The company is verified."), "success")
    return _back_to_queue()


def _purges_at_once(subject) -> list[policies.EffectivePolicy]:
    """The policies that purge this person at once when marked as left, as `operations.mark_left` will
    decide today: what the confirmation page warns about."""
    view = replace(queries.record_view(subject), left_company_on=clock.today())
    ruleset = engine.Ruleset(policies.effective_policies(g.tenant), policies.active_holds(g.tenant),
                             g.tenant.id, clock.today())
    return [d.policy for d in ruleset.decide(view) if d.action == "purge"]


@bp.route("/retention/verify/subjects/<subject_id>/left", methods=["GET", "POST"])
@access.requires("verify", "person")
def mark_left(subject_id):
    subject = subjects_queries.find_subject(subject_id, "retention.left_company", verifying=True)
    if request.method == "GET":
        audit.record("subject.view", "data_subject", subject.id, detail={"purpose": "mark_left"})
        page = render_template("retention/left.html", subject=subject, form=RecordActionForm(),
                               purging=_purges_at_once(subject))
        return page
    _checked_form()
    decisions = operations.mark_left(subject)
    if any(d.action == "purge" for d in decisions):
        flash(_("Recorded that this person left the company: their data was deleted."), "success")
    else:
        flash(_("Recorded that this person left the company."), "success")
    return _back_to_queue()
