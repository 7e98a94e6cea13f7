"""Turning a template and an agreement into HTML (and, through the seals module, PDF/A).

The body of a template is written by a tenant admin, so it runs in Jinja's *immutable sandbox*: no
attribute access to internals, no mutation, ranges capped, unknown variables are errors (StrictUndefined).
Its context holds plain values only (strings, numbers, lists, dicts), never ORM objects. The page around it
(`templates/agreements/pdf/*.html`: fonts, page numbers, the signature page and audit trail) is platform
code rendered by Flask's own environment.

The context a template sees (see docs/agreements.md):
    agreement   number, version, date, language
    controller  name, kvk, address, is_tenant        processor  the same
    tenant_role "controller" | "processor"
    fields      the merge values (merge_fields.MERGE_FIELDS)
    sub_processors  [{name, country, purpose}]       clauses  [{name, title, text}] (sector clauses)
    assignment  {title} or None
Filters: `lines` (a text split into non-empty lines), `choice` (the label of a choice value).
"""
from __future__ import annotations

import functools
from dataclasses import dataclass

from babel.dates import format_date
from flask import current_app
from flask_babel import force_locale
from jinja2 import StrictUndefined, TemplateError, TemplateSyntaxError
from jinja2.sandbox import ImmutableSandboxedEnvironment
from markupsafe import Markup

from saas.core import clock
from saas.modules.agreements import checklist, merge_fields

MAX_BODY = 200_000


class TemplateProblem(ValueError):
    """A template that does not render (syntax error, unknown variable, sandbox violation)."""


def _lines(text) -> list[str]:
    return [line.strip() for line in str(text or "").splitlines() if line.strip()]


def _choice_label(value, name: str) -> str:
    field = merge_fields.BY_NAME.get(name)
    return str(dict(field.choices).get(value, value)) if field else str(value)


def _environment() -> ImmutableSandboxedEnvironment:
    env = ImmutableSandboxedEnvironment(autoescape=True, undefined=StrictUndefined, trim_blocks=True,
                                        lstrip_blocks=True)
    env.filters["lines"] = _lines
    env.filters["choice"] = _choice_label
    return env


SANDBOX = _environment()


@functools.lru_cache(maxsize=64)
def _compiled(body: str):
    return SANDBOX.from_string(body)


def render_body(body: str, context: dict) -> str:
    """The template body rendered in the sandbox; TemplateProblem with the line when it cannot be."""
    if len(body) > MAX_BODY:
        raise TemplateProblem(f"the template is longer than {MAX_BODY} characters")
    try:
        return _compiled(body).render(**context)
    except TemplateSyntaxError as exc:
        raise TemplateProblem(f"line {exc.lineno}: {exc.message}") from exc
    except TemplateError as exc:   # UndefinedError, SecurityError
        raise TemplateProblem(str(exc)) from exc
    except (TypeError, ValueError, ArithmeticError, LookupError) as exc:
        raise TemplateProblem(f"{type(exc).__name__}: {exc}") from exc


# ---- contexts ----------------------------------------------------------------------------------

def _party(name, kvk=None, address=None, is_tenant=False) -> dict:
    return {"name": name, "kvk": kvk or "", "address": address or "", "is_tenant": is_tenant}


def parties(tenant_role: str, tenant: dict, counterparty: dict) -> dict:
    us, them = _party(is_tenant=True, **tenant), _party(**counterparty)
    controller, processor = (us, them) if tenant_role == "controller" else (them, us)
    return {"controller": controller, "processor": processor, "tenant_role": tenant_role}


def long_date(day, language: str) -> str:
    return format_date(day, "long", locale=language)


def sample_context(variant: checklist.Variant, language: str, clauses: list[dict]) -> dict:
    sentinels = checklist.SENTINELS
    fields = merge_fields.defaults()
    fields.update({name: sentinels[name] for name in sentinels if name in merge_fields.BY_NAME})
    fields.update(dict(variant.choices))
    return {
        **parties(variant.tenant_role, {"name": sentinels["controller" if variant.tenant_role == "controller"
                                                          else "processor"], "kvk": "12345678"},
                  {"name": sentinels["processor" if variant.tenant_role == "controller" else "controller"],
                   "kvk": "87654321"}),
        "agreement": {"number": "VO-0000-0000", "version": 1, "date": long_date(clock.today(), language),
                      "language": language},
        "fields": fields,
        "sub_processors": [{"name": sentinels["sub_processor"], "country": "NL", "purpose": "hosting"}],
        "clauses": clauses,
        "assignment": {"title": "⟦assignment⟧"},
    }


@dataclass
class CheckResult:
    missing: list[checklist.Missing]
    missing_clauses: list[dict]
    problem: str | None = None

    @property
    def ok(self) -> bool:
        return not self.missing and not self.missing_clauses and self.problem is None

    def describe(self) -> list[str]:
        lines = [self.problem] if self.problem else []
        lines += [m.describe() for m in self.missing]
        lines += [f"{c['title']} [{c['name']}]" for c in self.missing_clauses]
        return lines


def check_template(body: str, language: str, clauses: list[dict]) -> CheckResult:
    """Render the body for every variant and report the art. 28(3) elements and sector clauses missing."""
    every = checklist.variants()
    missing_by_key: dict[str, list[str]] = {}
    lacking_clauses: dict[str, dict] = {}
    try:
        for variant in every:
            html = render_body(body, sample_context(variant, language, clauses))
            for element in checklist.missing_in(html):
                missing_by_key.setdefault(element.key, []).append(variant.describe())
            for clause in checklist.missing_clauses(html, clauses):
                lacking_clauses[clause["name"]] = clause
    except TemplateProblem as exc:
        return CheckResult([], [], problem=str(exc))
    missing = []
    for element in checklist.ELEMENTS:
        missing_when = missing_by_key.get(element.key)
        if missing_when is None:
            continue
        present_when = [v.describe() for v in every if v.describe() not in missing_when]
        missing.append(checklist.Missing(element.key, str(element.label), element.ref,
                                         missing_when if present_when else [], present_when))
    return CheckResult(missing, list(lacking_clauses.values()))


def render_platform(name: str, **context) -> str:
    """One of this module's own templates (PDF pages, mails) with the app's Jinja environment, also outside
    a request (jobs): without the portal's context processors, which read the request. Callers set the
    language with `force_locale`."""
    return current_app.jinja_env.get_template(name).render(**context)


# ---- whole documents ---------------------------------------------------------------------------

def document_html(body: str, context: dict, title: str) -> str:
    """The agreement as one HTML page (platform layout around the sandboxed body)."""
    language = context["agreement"]["language"]
    content = Markup(render_body(body, context))
    with force_locale(language):
        return render_platform("agreements/pdf/document.html", title=title, content=content,
                               agreement=context["agreement"], language=language)


def sealed_html(document_html_text: str, signature_page: dict, events: list[dict], language: str) -> str:
    """The final document: the agreement as signed, then the signature page and the audit trail."""
    body = _body_of(document_html_text)
    with force_locale(language):
        return render_platform("agreements/pdf/sealed.html", document=Markup(body), page=signature_page,
                               events=events, language=language)


def _body_of(html: str) -> str:
    """The inside of <body> of a document rendered by `document_html`."""
    start = html.find("<body")
    start = html.find(">", start) + 1 if start != -1 else 0
    end = html.rfind("</body>")
    return html[start:end if end != -1 else len(html)]
