"""Agreement templates: the art. 28(3) check on publish, the sandbox, immutable published versions, sector
clauses from plugins, and the shipped Dutch and English texts."""
from __future__ import annotations

from flask_babel import force_locale

import pytest
import sqlalchemy as sa

from saas.core.errors import DomainError
from saas.extensions import db
from saas.modules.agreements import checklist, common, queries, rendering, template_versions
from saas.modules.agreements.models import AgreementTemplate, PublishedTemplateChanged
from saas.testing.agreements import agreement_queue, agreements_world  # noqa: F401  (fixtures)


@pytest.fixture(autouse=True)
def _english(ctx):
    """The checks below read the English descriptions; outside a request the default language is Dutch."""
    with force_locale("en"):
        yield


def _draft(world, body: str, language: str = "nl") -> AgreementTemplate:
    world.enter()
    draft = template_versions.new_template_version(db.session.get(AgreementTemplate, world.templates[language]))
    template_versions.save_template(draft, draft.title, body)
    db.session.flush()
    return draft


def _without_section(body: str, key: str) -> str:
    """The default text with the element `data-art28="key"` taken out entirely."""
    start = body.index(f'<section data-art28="{key}"')
    end = body.index("</section>", start) + len("</section>")
    return body[:start] + body[end:]


def test_the_shipped_templates_cover_every_element_in_both_languages(agreements_world):
    agreements_world.enter()
    for language in ("nl", "en"):
        template = db.session.get(AgreementTemplate, agreements_world.templates[language])
        assert template.status == "published" and template.version == 1
        result = template_versions.check_template(template)
        assert result.ok, result.describe()


def test_seeding_twice_installs_nothing_more(agreements_world):
    agreements_world.enter()
    assert template_versions.seed_default_templates() == []
    assert len(queries.templates()) == 2


def test_publish_is_refused_naming_every_missing_element(agreements_world):
    body = template_versions.default_body("nl")
    for key in ("a_instructions", "h_audits", "infringing_instruction"):
        body = _without_section(body, key)
    draft = _draft(agreements_world, body)
    with pytest.raises(template_versions.TemplateIncomplete) as refused:
        template_versions.publish_template(draft, agreements_world.admin_id)
    missing = {m.key for m in refused.value.result.missing}
    assert missing == {"a_instructions", "h_audits", "infringing_instruction"}
    message = str(refused.value)
    for key in missing:
        assert str(checklist.BY_KEY[key].label) in message
    assert "art. 28(3)(a)" in message and "art. 28(3)(h)" in message
    db.session.rollback()
    assert db.session.get(AgreementTemplate, draft.id) is None or draft.status == "draft"


def test_a_marker_in_a_comment_an_empty_marker_or_a_fixed_text_does_not_count(agreements_world):
    body = template_versions.default_body("nl")
    body = _without_section(body, "b_confidentiality") + '<!-- <section data-art28="b_confidentiality">geheim</section> -->'
    body = _without_section(body, "h_audits") + '<section data-art28="h_audits"> </section>'
    # the subject matter written as a fixed text instead of the agreement's own value
    body = body.replace("{{ fields.subject_matter }}", "diensten")
    result = template_versions.check_template(_draft(agreements_world, body))
    assert {m.key for m in result.missing} == {"b_confidentiality", "h_audits", "subject_matter"}


def test_an_element_present_for_one_choice_only_is_reported_with_that_choice(agreements_world):
    body = template_versions.default_body("en")
    # (g) only when "delete" is chosen: the other end-of-contract choices print nothing
    start = body.index('<section data-art28="g_end_of_contract">')
    end = body.index("</section>", start) + len("</section>")
    body = body[:start] + ('{% if fields.end_of_contract == "delete" %}<section data-art28="g_end_of_contract">'
                           "<p>After the end of the services the Processor deletes all personal data.</p></section>"
                           "{% endif %}") + body[end:]
    result = template_versions.check_template(_draft(agreements_world, body, "en"))
    assert [m.key for m in result.missing] == ["g_end_of_contract"]
    described = result.missing[0].describe()
    assert "only present when “At the end of the contract” is “Deletion”" in described, described


def test_the_sandbox_refuses_internals_and_unknown_names(agreements_world):
    for body, expected in (("{{ ''.__class__.__mro__[1].__subclasses__() }}", "unsafe"),
                           ("{{ fields.no_such_field }}", "no_such_field"),
                           ("{% for x in %}", "line 1")):
        result = template_versions.check_template(_draft(agreements_world, body))
        assert result.problem is not None and expected in result.problem, result.problem
        assert not result.ok
        db.session.rollback()


def test_merge_values_are_escaped(agreements_world):
    context = rendering.sample_context(checklist.Variant(), "nl", [])
    context["fields"]["subject_matter"] = "<script>alert(1)</script>"
    html = rendering.render_body(template_versions.default_body("nl"), context)
    assert "<script>" not in html and "&lt;script&gt;" in html


def test_a_published_version_never_changes_and_editing_makes_a_new_version(agreements_world):
    world = agreements_world
    world.enter()
    published = db.session.get(AgreementTemplate, world.templates["nl"])
    with pytest.raises(DomainError):
        template_versions.save_template(published, "Anders", "anders")
    published.body = "changed behind the operations' back"
    with pytest.raises(PublishedTemplateChanged):
        db.session.flush()
    db.session.rollback()

    world.enter()
    published = db.session.get(AgreementTemplate, world.templates["nl"])
    draft = template_versions.new_template_version(published)
    assert template_versions.new_template_version(published) is draft     # one open draft per key and language
    assert (draft.version, draft.status) == (2, "draft")
    template_versions.save_template(draft, "Verwerkersovereenkomst 2027", draft.body + "<p>Aanvulling.</p>")
    template_versions.publish_template(draft, world.admin_id)
    world.leave()

    world.enter()
    versions = queries.template_versions("verwerkersovereenkomst", "nl")
    assert [(v.version, v.status) for v in versions] == [(2, "published"), (1, "retired")]
    assert versions[1].body == template_versions.default_body("nl")
    assert queries.latest_published("verwerkersovereenkomst", "nl").id == draft.id


def test_sector_clauses_of_the_tenants_plugins_are_printed_and_required(agreements_world):
    world = agreements_world                    # the tenant uses the leadgen plugin
    world.enter()
    clauses = queries.tenant_clauses(common.current_tenant(), "nl")
    assert {c["name"] for c in clauses} == {"leadgen.scope_per_assignment", "leadgen.need_to_know",
                                           "leadgen.suppression"}
    html = rendering.render_body(template_versions.default_body("nl"),
                                 rendering.sample_context(checklist.Variant(), "nl", clauses))
    assert "Need-to-know voor call-agenten" in html

    start = template_versions.default_body("nl").index("{% if clauses %}")
    end = template_versions.default_body("nl").index("{% endif %}", template_versions.default_body("nl").index("{% endfor %}", start)) + 11
    body = template_versions.default_body("nl")[:start] + template_versions.default_body("nl")[end:]
    result = template_versions.check_template(_draft(world, body))
    assert not result.ok and {c["name"] for c in result.missing_clauses} == {c["name"] for c in clauses}


def test_a_tenant_without_sector_plugins_gets_no_sector_clauses(agreements_world, make_tenant):
    other = make_tenant(plugins=[])
    db.session.commit()
    from saas.core import tenancy

    tenancy.set_tenant(other.id)
    assert queries.tenant_clauses(common.current_tenant(), "en") == []
    assert template_versions.seed_default_templates() and db.session.scalar(
        sa.select(sa.func.count()).select_from(AgreementTemplate)) == 2


def test_an_element_missing_for_one_choice_names_that_choice(agreements_world):
    body = template_versions.default_body("en")
    start = body.index('{% elif fields.end_of_contract == "return" %}')
    end = body.index("{% else %}", start)
    body = body[:start] + '{% elif fields.end_of_contract == "return" %}' + body[end:]
    result = template_versions.check_template(_draft(agreements_world, body, "en"))
    assert [m.describe() for m in result.missing] == [
        "Deletion or return at the end of the services [art. 28(3)(g)] "
        "(when “At the end of the contract” is “Return, then deletion of copies”)"]
