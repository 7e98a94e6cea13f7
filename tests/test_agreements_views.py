"""Portal pages for agreements: list with deadlines and filters, create, send, countersign, revoke, downloads
(audited), templates with the art. 28 check; supervisors read only; every endpoint answers 404 across tenants."""
from __future__ import annotations

import re

import pytest
import sqlalchemy as sa

from saas.extensions import db
from saas.modules.agreements import queries, queueing, template_versions
from saas.modules.agreements.models import AgreementTemplate, SigningEvent
from saas.modules.audit.models import AuditEntry
from saas.modules.tenants.models import Tenant
from saas.testing.agreements import FIELDS, agreement_queue, agreements_world  # noqa: F401  (fixtures)
from saas.testing.fixtures_web import find_csrf_token


def in_english(client, page: str) -> None:
    """The assertions read English: switch the session's language (the tenants speak Dutch)."""
    token = find_csrf_token(client.get(page).get_data(as_text=True))
    assert client.post("/locale", data={"locale": "en", "csrf_token": token}).status_code == 302


@pytest.fixture()
def admin_client(agreements_world, client, login):
    assert login(client, agreements_world.admin_email, agreements_world.password).status_code == 302
    in_english(client, _url(agreements_world))
    return client


def _url(world, path: str = "") -> str:
    return f"/{world.slug}/agreements{path}"


def _post(client, url: str, data: dict | None = None, form_page: str | None = None):
    token = find_csrf_token(client.get(form_page or url.rsplit("/", 1)[0]).get_data(as_text=True))
    return client.post(url, data={**(data or {}), "csrf_token": token})


def _tenant(world) -> Tenant:
    db.session.commit()
    return db.session.get(Tenant, world.tenant_id)


def _audited(world, action: str, object_id) -> int:
    world.enter()
    return db.session.scalar(sa.select(sa.func.count()).select_from(AuditEntry).where(
        AuditEntry.action == action, AuditEntry.object_id == str(object_id)))


def test_the_list_shows_status_and_deadlines_and_filters(agreements_world, admin_client):
    world = agreements_world
    draft_id, sent_id = world.draft(), world.sent(counterparty_name="Tweede Partij B.V.")
    page = admin_client.get(_url(world)).get_data(as_text=True)
    draft, sent = world.get(draft_id), world.get(sent_id)
    assert draft.number in page and sent.number in page and "Sign before" in page
    assert 'data-status="sent"' in page and 'data-status="draft"' in page
    filtered = admin_client.get(_url(world, "?status=sent")).get_data(as_text=True)
    assert sent.number in filtered and draft.number not in filtered
    assert admin_client.get(_url(world, "?status=open")).get_data(as_text=True).count("data-agreement=") == 1
    assert admin_client.get(_url(world, "?page=0")).status_code == 400  # a page number out of range is bad input


def test_an_admin_creates_an_agreement_with_the_form(agreements_world, admin_client):
    world = agreements_world
    form = admin_client.get(_url(world, "/new"))
    assert form.status_code == 200 and 'id="agreement-form"' in form.get_data(as_text=True)
    data = {"template_id": str(world.templates["en"]), "tenant_role": "controller",
            "counterparty_name": "Hosting Partner B.V.", "counterparty_kvk": "87654321", "client_org_id": "",
            "assignment_id": "", "signer_name": "Piet Pietersen", "signer_email": "piet@hosting.example",
            "signer_function": "CEO", "countersigner_id": str(world.admin_id), "reminder_days": "2",
            "sub_processors": "Datacenter GmbH | DE | colocation", **FIELDS}

    bad = _post(admin_client, _url(world, "/new"), {**data, "subject_matter": "", "signer_email": "piet"},
                form_page=_url(world, "/new"))
    assert bad.status_code == 400
    text = bad.get_data(as_text=True)
    assert "This field is required." in text and "Enter a valid email address." in text
    world.enter()
    assert queries.all_agreements() == []
    world.leave()

    created = _post(admin_client, _url(world, "/new"), data, form_page=_url(world, "/new"))
    assert created.status_code == 302
    world.enter()
    (agreement,) = queries.all_agreements()
    assert (agreement.tenant_role, agreement.counterparty_name, agreement.reminder_days) == ("controller", "Hosting Partner B.V.", 2)
    assert agreement.fields["objection_notice_days"] == 30 and agreement.fields["subprocessor_authorisation"] == "general"
    assert [s.name for s in queries.sub_processors_of(agreement)] == ["Datacenter GmbH"]
    agreement_id = agreement.id
    assert created.headers["Location"].endswith(f"/agreements/{agreement_id}")
    world.leave()

    edit = admin_client.get(_url(world, f"/{agreement_id}/edit")).get_data(as_text=True)
    assert "Datacenter GmbH | DE | colocation" in edit and "piet@hosting.example" in edit


def test_sending_from_the_detail_page_runs_as_a_job(agreements_world, admin_client, agreement_queue, work_in_process):
    world = agreements_world
    agreement_id = world.draft()
    page = admin_client.get(_url(world, f"/{agreement_id}")).get_data(as_text=True)
    assert 'id="send-form"' in page and 'id="send-submit"' in page
    bad = _post(admin_client, _url(world, f"/{agreement_id}/send"), {"valid_days": "400"}, _url(world, f"/{agreement_id}"))
    assert bad.status_code == 400 and agreement_queue.count == 0
    response = _post(admin_client, _url(world, f"/{agreement_id}/send"), {"valid_days": "10"}, _url(world, f"/{agreement_id}"))
    assert response.status_code == 302
    assert [j.id for j in agreement_queue.get_jobs()] == [queueing.job_id("send", agreement_id)]
    waiting = admin_client.get(_url(world, f"/{agreement_id}")).get_data(as_text=True)
    assert "data-progress-url" in waiting and 'id="send-form"' not in waiting
    work_in_process(("agreements",))
    assert world.get(agreement_id).status == "sent"
    done = admin_client.get(_url(world, f"/{agreement_id}")).get_data(as_text=True)
    assert 'id="agreement-status" data-status="sent"' in done and 'id="document-sha256"' in done


def test_countersigning_in_the_portal_records_ip_and_browser(agreements_world, admin_client, agreement_queue):
    world = agreements_world
    agreement_id = world.sent()
    world.sign_as_counterparty(agreement_id)
    sha = world.get(agreement_id).document_sha256
    world.leave()
    detail = admin_client.get(_url(world, f"/{agreement_id}")).get_data(as_text=True)
    assert 'id="countersign-link"' in detail
    page = admin_client.get(_url(world, f"/{agreement_id}/countersign")).get_data(as_text=True)
    assert f'<code id="document-sha256">{sha}</code>' in page
    for element in ('id="countersign-form"', 'id="function"', 'id="authority"', 'id="countersign-submit"',
                    'id="open-document"'):
        assert element in page

    url = _url(world, f"/{agreement_id}/countersign")
    refused = _post(admin_client, url, {"function": "bestuurder", "document_sha256": sha}, url)
    assert refused.status_code == 400 and "Confirm that you may sign" in refused.get_data(as_text=True)
    changed = _post(admin_client, url, {"function": "bestuurder", "authority": "y", "document_sha256": "ab" * 32}, url)
    assert changed.status_code == 400 and "The document changed" in changed.get_data(as_text=True)
    assert world.get(agreement_id).status == "signed"

    done = _post(admin_client, url, {"function": "bestuurder", "authority": "y", "document_sha256": sha}, url)
    assert done.status_code == 302
    assert world.get(agreement_id).status == "countersigned"
    event = db.session.scalar(sa.select(SigningEvent).where(SigningEvent.agreement_id == agreement_id,
                                                            SigningEvent.kind == "countersigned"))
    assert event.ip == admin_client.environ_base["REMOTE_ADDR"] and event.user_agent
    assert event.document_sha256 == sha
    assert [j.id for j in agreement_queue.get_jobs()] == [queueing.job_id("seal", agreement_id)]


def test_revoking_from_the_portal_needs_a_reason(agreements_world, admin_client):
    world = agreements_world
    agreement_id = world.sent()
    url = _url(world, f"/{agreement_id}/revoke")
    assert _post(admin_client, url, {"reason": ""}, _url(world, f"/{agreement_id}")).status_code == 400
    assert _post(admin_client, url, {"reason": "Opdracht gaat niet door"}, _url(world, f"/{agreement_id}")).status_code == 302
    agreement = world.get(agreement_id)
    assert agreement.status == "revoked" and agreement.closed_reason == "Opdracht gaat niet door"


def test_a_refused_form_writes_nothing_but_its_page_view_is_audited(agreements_world, admin_client):
    """The request's commit point rolls back a 400, yet the agreement page was shown again: its view lands."""
    world = agreements_world
    agreement_id = world.sent()
    page = _url(world, f"/{agreement_id}")
    token = find_csrf_token(admin_client.get(page).get_data(as_text=True))
    views = _audited(world, "agreement.view", agreement_id)
    refused = admin_client.post(_url(world, f"/{agreement_id}/revoke"), data={"reason": "x" * 600, "csrf_token": token})
    assert refused.status_code == 400
    assert _audited(world, "agreement.view", agreement_id) == views + 1
    assert _audited(world, "agreement.revoke", agreement_id) == 0 and world.get(agreement_id).status == "sent"


def test_downloads_are_audited(agreements_world, admin_client):
    world = agreements_world
    agreement_id = world.completed()
    document = admin_client.get(_url(world, f"/{agreement_id}/document.pdf"))
    assert document.status_code == 200 and document.data.startswith(b"%PDF-")
    assert document.headers["Content-Type"] == "application/pdf"
    sealed = admin_client.get(_url(world, f"/{agreement_id}/sealed.pdf"))
    assert sealed.status_code == 200 and "attachment" in sealed.headers["Content-Disposition"]
    import hashlib

    assert hashlib.sha256(sealed.data).hexdigest() == world.get(agreement_id).sealed_sha256
    assert _audited(world, "agreement.document_download", agreement_id) == 1
    assert _audited(world, "agreement.sealed_download", agreement_id) == 1
    draft_id = world.draft()
    assert admin_client.get(_url(world, f"/{draft_id}/sealed.pdf")).status_code == 404
    preview = admin_client.get(_url(world, f"/{draft_id}/preview.pdf"))
    assert preview.status_code == 200 and preview.data.startswith(b"%PDF-")


def test_the_template_page_names_missing_elements_and_publishing_is_refused(agreements_world, admin_client):
    world = agreements_world
    world.enter()
    draft = template_versions.new_template_version(db.session.get(AgreementTemplate, world.templates["nl"]))
    template_versions.save_template(draft, draft.title, "<h1>Verwerkersovereenkomst</h1><p>Te kort.</p>")
    draft_id = draft.id
    world.leave()
    page = admin_client.get(_url(world, f"/templates/{draft_id}")).get_data(as_text=True)
    assert 'data-complete="false"' in page and 'id="art28-missing"' in page
    assert "Processing only on documented instructions" in page and "Information and audits" in page
    response = _post(admin_client, _url(world, f"/templates/{draft_id}/publish"), form_page=_url(world, f"/templates/{draft_id}"))
    assert response.status_code == 302
    assert "cannot be published" in admin_client.get(response.headers["Location"]).get_data(as_text=True)
    world.enter()
    assert db.session.get(AgreementTemplate, draft_id).status == "draft"
    world.leave()

    saved = _post(admin_client, _url(world, f"/templates/{draft_id}"),
                  {"title": "Verwerkersovereenkomst", "body": template_versions.default_body("nl")}, _url(world, f"/templates/{draft_id}"))
    assert saved.status_code == 302
    assert _post(admin_client, _url(world, f"/templates/{draft_id}/publish"), form_page=_url(world, f"/templates/{draft_id}")).status_code == 302
    world.enter()
    assert db.session.get(AgreementTemplate, draft_id).status == "published"
    assert db.session.get(AgreementTemplate, world.templates["nl"]).status == "retired"


def test_a_supervisor_reads_and_an_agent_sees_nothing(agreements_world, make_user, login, new_client):
    world = agreements_world
    agreement_id = world.completed()
    template_id = world.templates["nl"]
    tenant = _tenant(world)
    supervisor, password = make_user(role="supervisor", tenant=tenant)
    agent, agent_password = make_user(role="agent", tenant=tenant)

    reader = new_client()
    login(reader, supervisor.email, password)
    in_english(reader, _url(world))
    home = reader.get(f"/{world.slug}/agreements").get_data(as_text=True)
    assert 'href="/' + world.slug + '/agreements"' in home and 'id="new-agreement"' not in home
    for path in ("", f"/{agreement_id}", f"/{agreement_id}/sealed.pdf", f"/{agreement_id}/document.pdf",
                 "/templates", f"/templates/{template_id}"):
        assert reader.get(_url(world, path)).status_code == 200, path
    detail = reader.get(_url(world, f"/{agreement_id}")).get_data(as_text=True)
    assert 'id="agreement-actions"' not in detail
    token = find_csrf_token(detail) if "csrf_token" in detail else find_csrf_token(reader.get("/login").get_data(as_text=True))
    for path in ("/new", f"/{agreement_id}/edit", f"/{agreement_id}/countersign", f"/{agreement_id}/preview.pdf"):
        assert reader.get(_url(world, path)).status_code == 404, path
    for path in (f"/{agreement_id}/send", f"/{agreement_id}/revoke", f"/{agreement_id}/new-version",
                 f"/{agreement_id}/sub-processors", "/templates/seed", f"/templates/{template_id}",
                 f"/templates/{template_id}/publish", f"/templates/{template_id}/new-version"):
        assert reader.post(_url(world, path), data={"csrf_token": token}).status_code == 404, path

    outsider = new_client()
    login(outsider, agent.email, agent_password)
    assert 'agreements"' not in outsider.get(f"/{world.slug}/subjects").get_data(as_text=True)
    for path in ("", f"/{agreement_id}", f"/{agreement_id}/sealed.pdf", "/templates"):
        assert outsider.get(_url(world, path)).status_code == 404, path


def _endpoints(agreement_id, sub_id, template_id):
    gets = ["", f"/{agreement_id}", f"/{agreement_id}/document.pdf", f"/{agreement_id}/sealed.pdf",
            f"/{agreement_id}/preview.pdf", f"/{agreement_id}/edit", f"/{agreement_id}/countersign",
            f"/templates/{template_id}"]
    posts = [f"/{agreement_id}/send", f"/{agreement_id}/revoke", f"/{agreement_id}/countersign",
             f"/{agreement_id}/new-version", f"/{agreement_id}/sub-processors",
             f"/{agreement_id}/sub-processors/{sub_id}/remove", f"/{agreement_id}/edit", f"/templates/{template_id}",
             f"/templates/{template_id}/publish", f"/templates/{template_id}/new-version"]
    return gets, posts


def test_every_endpoint_answers_404_for_another_tenants_ids(agreements_world, make_tenant, make_user, login, new_client):
    world = agreements_world
    agreement_id = world.completed()
    world.enter()
    sub_id = queries.sub_processors_of(world.get(agreement_id))[0].id
    template_id = world.templates["nl"]
    world.leave()

    other_tenant = make_tenant()
    intruder, password = make_user(role="admin", tenant=other_tenant)
    client = new_client()
    login(client, intruder.email, password)
    token = find_csrf_token(client.get(f"/{other_tenant.slug}/agreements").get_data(as_text=True))
    gets, posts = _endpoints(agreement_id, sub_id, template_id)
    for path in gets[1:]:
        assert client.get(f"/{other_tenant.slug}/agreements{path}").status_code == 404, path
        assert client.get(_url(world, path)).status_code == 404, path        # not a member of the owner
    for path in posts:
        assert client.post(f"/{other_tenant.slug}/agreements{path}", data={"csrf_token": token}).status_code == 404, path
        assert client.post(_url(world, path), data={"csrf_token": token}).status_code == 404, path
    assert client.get(_url(world)).status_code == 404
    agreement = world.get(agreement_id)
    assert agreement.status == "completed" and agreement.closed_reason is None
    assert re.fullmatch(r"VO-\d{4}-\d{4}", agreement.number)
