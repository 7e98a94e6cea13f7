"""The art. 28(3) GDPR checklist a template must pass before it can be published.

How a template shows that it covers an element
----------------------------------------------
Every required element is a declared `Element` below. A template covers it with an HTML element carrying
`data-art28="<key>"` around the clause, for example::

    <section data-art28="a_instructions">
      <h2>Instructies</h2>
      <p>Verwerker verwerkt de persoonsgegevens uitsluitend op basis van schriftelijke instructies ...</p>
    </section>

The check does not trust the template source (a marker can sit in a comment, in an `{% if false %}` or
around nothing). It *renders* the template in the sandbox with sample values and reads the rendered HTML:

1. the element `data-art28="<key>"` must be present in the output and hold at least `MIN_TEXT`
   characters of text (HTML comments, `<style>` and `<script>` do not count);
2. when the element prints merge values (`Element.shows`), the sample value of each (a unique sentinel such
   as `⟦subject_matter⟧`) must appear *inside* that element, so the clause really prints the agreement's
   own subject matter, not a fixed text;
3. the template is rendered once with the default choices and once more for every other value of every
   choice (the tenant's role, the sub-processor authorisation, the end-of-contract choice), so a clause that
   only appears for one choice is reported with the choice that lacks it;
4. every sector clause of the tenant's plugins must be printed in an element `data-clause="<name>"`
   containing its text.

A template that does not render at all (syntax error, unknown variable, a sandbox violation) is reported
as a problem of its own. `missing_elements` returns what is missing; `operations.publish_template` refuses
with exactly that list.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from html.parser import HTMLParser

from flask_babel import lazy_gettext as _l

from saas.modules.agreements import merge_fields

MIN_TEXT = 20
VOID_TAGS = frozenset({"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source",
                       "track", "wbr"})


@dataclass(frozen=True)
class Element:
    key: str
    ref: str                       # where the law asks for it
    label: object                  # lazy string
    shows: tuple[str, ...] = ()    # sentinels (see SENTINELS) that must be printed inside the element


ELEMENTS: tuple[Element, ...] = (
    Element("parties", "art. 28(3)", _l("Parties and their roles (controller, processor)"),
            shows=("controller", "processor")),
    Element("subject_matter", "art. 28(3)", _l("Subject matter of the processing"), shows=("subject_matter",)),
    Element("duration", "art. 28(3)", _l("Duration of the processing"), shows=("duration",)),
    Element("nature", "art. 28(3)", _l("Nature of the processing"), shows=("nature",)),
    Element("purpose", "art. 28(3)", _l("Purpose of the processing"), shows=("purpose",)),
    Element("data_types", "art. 28(3)", _l("Types of personal data"), shows=("data_types",)),
    Element("data_subjects", "art. 28(3)", _l("Categories of data subjects"), shows=("data_subject_categories",)),
    Element("controller_rights", "art. 28(3)", _l("Obligations and rights of the controller")),
    Element("a_instructions", "art. 28(3)(a)", _l("Processing only on documented instructions, also for transfers")),
    Element("infringing_instruction", "art. 28(3) second subparagraph",
            _l("Duty to warn about an instruction that infringes the law")),
    Element("b_confidentiality", "art. 28(3)(b)", _l("Confidentiality of the persons authorised")),
    Element("c_security", "art. 28(3)(c)", _l("Security measures of art. 32")),
    Element("d_subprocessors", "art. 28(3)(d), 28(2), 28(4)",
            _l("Conditions for sub-processors (authorisation, notice and objection, same duties)")),
    Element("e_data_subject_rights", "art. 28(3)(e)", _l("Assistance with data subjects' requests")),
    Element("f_assistance", "art. 28(3)(f)", _l("Assistance with articles 32 to 36")),
    Element("breach_notification", "art. 33(2)", _l("Breach notification to the controller without undue delay"),
            shows=("breach_notice_hours",)),
    Element("g_end_of_contract", "art. 28(3)(g)", _l("Deletion or return at the end of the services")),
    Element("h_audits", "art. 28(3)(h)", _l("Information and audits, including inspections")),
    Element("retention", "art. 28(3)", _l("Retention periods"), shows=("retention",)),
    Element("subprocessor_annex", "art. 28(2)", _l("Annex: list of sub-processors"), shows=("sub_processor",)),
    Element("security_annex", "art. 28(3)(c), 32", _l("Annex: security measures"), shows=("security_measures",)),
)
BY_KEY = {element.key: element for element in ELEMENTS}

# What the sample rendering prints for each merge value: unique strings no template text contains.
SENTINELS: dict[str, str] = {
    "controller": "⟦controller⟧",
    "processor": "⟦processor⟧",
    "sub_processor": "⟦sub_processor⟧",
    **{f.name: f"⟦{f.name}⟧" for f in merge_fields.MERGE_FIELDS if f.kind in ("line", "text")},
    "objection_notice_days": "917",
    "breach_notice_hours": "83",
}


@dataclass(frozen=True)
class Variant:
    """One sample rendering: the default choices, or one choice changed."""

    tenant_role: str = "processor"
    choices: tuple[tuple[str, str], ...] = ()     # (merge field name, value) overriding the default

    def describe(self) -> str:
        if self.tenant_role != "processor":
            return str(_l("when the organisation is the controller"))
        if not self.choices:
            return str(_l("with the default choices"))
        name, value = self.choices[0]
        merge_field = merge_fields.BY_NAME[name]
        label = dict(merge_field.choices)[value]
        return str(_l("when “%(field)s” is “%(value)s”", field=merge_field.label, value=label))


def variants() -> list[Variant]:
    found = [Variant(), Variant(tenant_role="controller")]
    for merge_field in merge_fields.MERGE_FIELDS:
        for value, _label in merge_field.choices:
            if value != merge_field.default:
                found.append(Variant(choices=((merge_field.name, value),)))
    return found


@dataclass
class Missing:
    key: str
    label: str
    ref: str
    missing_when: list[str] = field(default_factory=list)   # both empty: missing in every rendering
    present_when: list[str] = field(default_factory=list)

    def describe(self) -> str:
        if self.present_when and len(self.present_when) < len(self.missing_when):
            where = str(_l("only present %(cases)s", cases="; ".join(self.present_when)))
        else:
            where = "; ".join(self.missing_when)
        return f"{self.label} [{self.ref}]" + (f" ({where})" if where else "")


class _MarkedText(HTMLParser):
    """Collects the text inside every element with `data-art28` or `data-clause`, by key."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.open: list[tuple[str, tuple[str, ...]]] = []   # (tag, keys opened by this tag)
        self.texts: dict[str, list[str]] = {}
        self.skipping = 0

    def handle_starttag(self, tag, attrs):
        if tag in VOID_TAGS:
            return
        attributes = dict(attrs)
        keys = tuple(f"{kind}:{attributes[kind]}" for kind in ("data-art28", "data-clause")
                     if attributes.get(kind))
        for key in keys:
            self.texts.setdefault(key, [])
        self.open.append((tag, keys))
        if tag in ("style", "script"):
            self.skipping += 1

    def handle_startendtag(self, tag, attrs):
        pass  # <div data-art28="x"/> holds nothing

    def handle_endtag(self, tag):
        for index in range(len(self.open) - 1, -1, -1):
            if self.open[index][0] == tag:
                closed = self.open[index:]
                del self.open[index:]
                self.skipping -= sum(1 for t, _ in closed if t in ("style", "script"))
                return

    def handle_data(self, data):
        if self.skipping:
            return
        for _tag, keys in self.open:
            for key in keys:
                self.texts[key].append(data)


def marked_text(html: str) -> dict[str, str]:
    """{"art28:<key>" | "clause:<name>": the text inside those elements, whitespace collapsed}."""
    parser = _MarkedText()
    parser.feed(html)
    parser.close()
    return {key.replace("data-", "", 1): " ".join("".join(parts).split()) for key, parts in parser.texts.items()}


def _covers(texts: dict[str, str], element: Element) -> bool:
    text = texts.get(f"art28:{element.key}", "")
    if len(text.replace(" ", "")) < MIN_TEXT:
        return False
    return all(SENTINELS[name] in text for name in element.shows)


def missing_in(html: str) -> list[Element]:
    texts = marked_text(html)
    return [element for element in ELEMENTS if not _covers(texts, element)]


def missing_clauses(html: str, clauses: list[dict]) -> list[dict]:
    texts = marked_text(html)
    return [clause for clause in clauses
            if " ".join(clause["text"].split()) not in texts.get(f"clause:{clause['name']}", "")]
