"""Failed and running jobs for tenant admins: listed per tenant, retried with an audit line, 404 across tenants."""
import random

import pytest
import sqlalchemy as sa
from flask import g
from flask.testing import FlaskClient
from rq.job import Job, JobStatus

from saas import jobs
from saas.extensions import db
from saas.jobs.queues import redis
from saas.modules.audit.models import AuditEntry
from saas.testing import jobs_for_tests
from saas.testing.fixtures_jobs import wait_for
from saas.testing.fixtures_web import find_csrf_token

T = "saas.testing.jobs_for_tests."


@pytest.fixture()
def tenants(make_tenant, make_user):
    """Two tenants, each with an admin and its password; tenant a also has an agent."""
    made = {}
    for key in ("a", "b"):
        tenant = make_tenant()
        made[key] = {"tenant": tenant, "admin": make_user(role="admin", tenant=tenant)}
    made["a"]["agent"] = make_user(role="agent", tenant=made["a"]["tenant"])
    return made


@pytest.fixture()
def failed_jobs(tenants, job_queue, work_in_process):
    failed = {key: jobs.enqueue("default", T + "always_fails", tenant_id=t["tenant"].id) for key, t in tenants.items()}
    work_in_process(["default"])
    assert all(job.get_status() == JobStatus.FAILED for job in failed.values())
    return failed


class _FreshGClient(FlaskClient):
    """Test-client requests share the `ctx` fixture's app context, so `g` would outlive a request and leak
    Flask-Login's cached user, Flask-WTF's CSRF token and g.membership into the next one. Each request
    starts with an empty `g`, as it does in a server."""

    def open(self, *args, **kwargs):
        for name in list(g):
            g.pop(name)
        return super().open(*args, **kwargs)


def _client(app, login, user_and_password):
    """A test client of its own (own address, so login rate limits stay apart), logged in."""
    user, password = user_and_password
    test_client = _FreshGClient(app, app.response_class, use_cookies=True)
    test_client.environ_base["REMOTE_ADDR"] = f"10.77.{random.randint(0, 255)}.{random.randint(1, 254)}"
    assert login(test_client, user.email, password).status_code == 302
    return test_client


def test_admin_sees_only_this_tenants_failed_jobs_and_retries_one(app, login, tenants, failed_jobs, job_queue,
                                                                  as_tenant):
    a = tenants["a"]["tenant"]
    client = _client(app, login, tenants["a"]["admin"])
    page = client.get(f"/{a.slug}/jobs")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert failed_jobs["a"].id in html and "ValueError" in html
    assert failed_jobs["b"].id not in html
    assert "deliberate failure" not in html  # exception messages may quote personal data: class name only

    answer = client.post(f"/{a.slug}/jobs/{failed_jobs['a'].id}/retry", data={"csrf_token": find_csrf_token(html)})

    assert answer.status_code == 302
    assert failed_jobs["a"].get_status() == JobStatus.QUEUED
    assert failed_jobs["a"].id in job_queue.job_ids
    as_tenant(a)
    retries = db.session.scalars(sa.select(AuditEntry).where(AuditEntry.action == "job.retry")).all()
    assert [(e.object_id, e.actor_id, e.outcome) for e in retries] == [
        (failed_jobs["a"].id, str(tenants["a"]["admin"][0].id), "ok")
    ]


def test_another_tenants_job_id_answers_404(app, login, tenants, failed_jobs):
    a = tenants["a"]["tenant"]
    client = _client(app, login, tenants["a"]["admin"])
    token = find_csrf_token(client.get(f"/{a.slug}/jobs").get_data(as_text=True))
    theirs = failed_jobs["b"].id
    assert client.post(f"/{a.slug}/jobs/{theirs}/retry", data={"csrf_token": token}).status_code == 404
    assert client.get(f"/{a.slug}/jobs/{theirs}/progress").status_code == 404
    assert client.get(f"/{a.slug}/jobs/no-such-job/progress").status_code == 404
    assert failed_jobs["b"].get_status() == JobStatus.FAILED
    # and the other tenant's URL is closed to a non-member
    assert client.get(f"/{tenants['b']['tenant'].slug}/jobs").status_code == 404


def test_retry_needs_the_csrf_token_and_the_admin_role(app, login, tenants, failed_jobs):
    a = tenants["a"]["tenant"]
    admin = _client(app, login, tenants["a"]["admin"])
    assert admin.post(f"/{a.slug}/jobs/{failed_jobs['a'].id}/retry").status_code == 400
    agent = _client(app, login, tenants["a"]["agent"])
    assert agent.get(f"/{a.slug}/jobs").status_code == 404
    assert failed_jobs["a"].get_status() == JobStatus.FAILED


def test_progress_endpoint_reports_job_meta_to_members(app, login, tenants, job_queue, work_in_process):
    a = tenants["a"]["tenant"]
    job = jobs.enqueue("default", T + "report_steps", tenant_id=a.id, steps=2)
    work_in_process(["default"])
    agent = _client(app, login, tenants["a"]["agent"])
    body = agent.get(f"/{a.slug}/jobs/{job.id}/progress").get_json()
    assert body["id"] == job.id and body["status"] == "finished"
    assert (body["progress"]["done"], body["progress"]["total"], body["progress"]["percent"]) == (2, 2, 100.0)


def test_a_running_job_is_listed_with_its_progress_for_the_script_to_poll(app, login, tenants, job_queue,
                                                                          run_worker):
    a = tenants["a"]["tenant"]
    marker = f"running-{a.slug}"
    redis().set(jobs_for_tests.hold_key(marker), 1, ex=60)
    job = jobs.enqueue("default", T + "held_without_writing", tenant_id=a.id, marker=marker)
    worker = run_worker(queues=["default"], wait=False)
    wait_for(lambda: Job.fetch(job.id, connection=redis()).meta.get("pid"), "the job to start")

    client = _client(app, login, tenants["a"]["admin"])
    html = client.get(f"/{a.slug}/jobs").get_data(as_text=True)
    progress_url = f"/{a.slug}/jobs/{job.id}/progress"
    body = client.get(progress_url).get_json()
    redis().delete(jobs_for_tests.hold_key(marker))
    worker.wait(30)

    running = html[html.index('id="running"'):html.index('id="failed-jobs"')]
    assert f'data-progress-url="{progress_url}"' in running
    assert '<script src="/static/js/progress.js"' in html
    assert (body["status"], body["progress"]["stage"], body["progress"]["percent"]) == ("started", "holding", 50.0)
    assert client.get(progress_url).get_json()["status"] == "finished"
    with app.test_client().get("/static/js/progress.js") as response:  # closed: the file behind it is open
        assert response.status_code == 200
