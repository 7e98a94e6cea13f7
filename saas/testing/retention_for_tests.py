"""A retention test plugin with fixed, simple rules, and the job that runs a sweep with it.

The engine's and the sweep's tests must not move when a sector plugin's rules are tuned, so they use the
rules below (plugin "rtest"). A worker subprocess only loads the installed plugins; the job
`run_sweep_with_test_rules` adds this plugin to the worker's registry and then runs the real
`saas.modules.retention.jobs.run_sweep` (the work horse is a fork: the change dies with the job).
"""
from __future__ import annotations

import contextlib
import os
import time

import pytest
from flask import current_app
from rq import get_current_job

from saas.plugins import manager
from saas.plugins.definitions import ErasureException, PluginInfo, RecordView, RetentionPolicy, RuleContext
from saas.plugins.hookspecs import hookimpl
from saas.testing.jobs_for_tests import hold_key

PLUGIN = "rtest"
POOL = "rtest_pool"
FISCAL_FIELDS = ("given_name", "family_name", "address", "iban")
FISCAL_REASON = "Fiscale bewaarplicht (test)"


def never_placed(view: RecordView, ctx: RuleContext) -> bool:
    return view.placed_from is None


def without_liability_hold(view: RecordView, ctx: RuleContext) -> bool:
    return not ctx.settings.get("liability_hold", False)


def with_liability_hold(view: RecordView, ctx: RuleContext) -> bool:
    return bool(ctx.settings.get("liability_hold", False))


def leaves_deleted(view: RecordView, ctx: RuleContext) -> bool:
    return bool(ctx.settings.get("delete_when_contact_left", True))


POLICIES = [
    RetentionPolicy(name="rtest.candidate_reconsent", version=1, category="candidate", anchor="last_contact_on",
                    months=12, action="reconsent", purpose=POOL, applies=never_placed,
                    setting="reconsent_after_months", source="Na een jaar vragen we opnieuw toestemming."),
    RetentionPolicy(name="rtest.candidate_purge", version=1, category="candidate", anchor="last_contact_on",
                    months=24, action="purge", applies=never_placed, setting="purge_after_months",
                    source="Twee jaar na het laatste contact verwijderd."),
    RetentionPolicy(name="rtest.prospect_flag", version=1, category="prospect", anchor="last_verified_on",
                    months=6, action="flag"),
    RetentionPolicy(name="rtest.prospect_purge", version=2, category="prospect", anchor="last_verified_on",
                    months=12, action="purge", suppress=True),
    RetentionPolicy(name="rtest.prospect_left", version=1, category="prospect", anchor="left_company_on",
                    action="purge", suppress=True, applies=leaves_deleted),
    RetentionPolicy(name="rtest.company_flag", version=1, category="company", anchor="last_verified_on",
                    months=6, action="flag"),
    RetentionPolicy(name="rtest.contact_records", version=1, category="client_contact",
                    anchor="relationship_ended_on", years=7, from_year_end=True, action="purge",
                    applies=without_liability_hold),
    RetentionPolicy(name="rtest.contact_liability", version=1, category="client_contact",
                    anchor="relationship_ended_on", years=7, from_year_end=True, action="hold",
                    applies=with_liability_hold, review_months=12),   # a hold must end or be reviewed
    RetentionPolicy(name="rtest.applicant", version=1, category="applicant", anchor="procedure_closed_on",
                    weeks=4, action="purge"),
    RetentionPolicy(name="rtest.off", version=1, category="applicant", anchor="procedure_closed_on",
                    days=1, action="flag", enabled=False),
]
HOLDS = [
    ErasureException(name="rtest.contact_fiscal", version=1, category="client_contact", fields=FISCAL_FIELDS,
                     reason=FISCAL_REASON, anchor="relationship_ended_on", years=7, from_year_end=True),
]


class RetentionTestPlugin:
    @hookimpl
    def saas_plugin_info(self) -> PluginInfo:
        return PluginInfo(name=PLUGIN, version="0.1", title="Retention test rules", description="tests only")

    @hookimpl
    def saas_retention_policies(self) -> list[RetentionPolicy]:
        return list(POLICIES)

    @hookimpl
    def saas_erasure_exceptions(self) -> list[ErasureException]:
        return list(HOLDS)


def registry_with_test_rules() -> manager.Registry:
    """The installed plugins plus "rtest"."""
    return manager.load([RetentionTestPlugin()])


@contextlib.contextmanager
def using_test_rules(app):
    """Within the block the app's registry also holds the test plugin."""
    saved = app.extensions["saas.plugins"]
    app.extensions["saas.plugins"] = registry_with_test_rules()
    try:
        yield
    finally:
        app.extensions["saas.plugins"] = saved


def run_sweep_with_test_rules(tenant_id: int, sweep_run_id: str, batch_size: int = 2000,
                              pause_after: int | None = None, pause_marker: str | None = None) -> dict:
    """The real sweep job, in a worker whose registry also holds the test plugin. With `pause_marker` it
    stops once `pause_after` records are committed, for as long as the test holds the marker
    (`pause_sweep_past`)."""
    from saas.modules.retention import jobs

    current_app.extensions["saas.plugins"] = registry_with_test_rules()
    if pause_marker is not None:
        pause_sweep_past(pause_after or 0, pause_marker)
    return jobs.run_sweep(tenant_id, sweep_run_id, batch_size)


def pause_sweep_past(evaluated: int, marker: str, timeout: float = 300) -> None:
    """The synchronisation point of the kill-halfway test. The sweep reports its progress after each
    committed batch; from the first report of at least `evaluated` records on, while the test holds
    `hold_key(marker)` in Redis, the job puts its work horse's pid and the count in job.meta and waits.
    The test waits for that pid and kills the worker there: halfway, every time, whatever the machine's
    speed. Patched in the work horse only (a fork: the patch dies with the job); without the marker held
    (the job's retry) the sweep runs through."""
    from saas.jobs import progress

    report = progress.report

    def report_then_pause(done: int, total: int, stage: str = "") -> None:
        report(done, total, stage)
        job = get_current_job()
        if done < evaluated or done >= total or not job.connection.exists(hold_key(marker)):
            return
        job.meta.update(paused_at=done, pid=os.getpid())
        job.save_meta()
        deadline = time.monotonic() + timeout
        while job.connection.exists(hold_key(marker)):
            if time.monotonic() > deadline:
                raise TimeoutError("the test never killed the paused sweep")
            time.sleep(0.05)

    progress.report = report_then_pause


# --- fixtures (imported by the retention test modules) ------------------------------------------------

TEST_JOB = "saas.testing.retention_for_tests.run_sweep_with_test_rules"


@pytest.fixture()
def rules(app, ctx):
    """The test rules in this process's registry (the worker's job adds them to its own)."""
    with using_test_rules(app):
        yield


@pytest.fixture()
def sweep_queues(ctx):
    """The "sweeps" and "mail" queues, empty before and after the test."""
    from saas.jobs.queues import queue

    queues = [queue("sweeps"), queue("mail")]
    for q in queues:
        q.empty()
    yield queues[0]
    for q in queues:
        q.empty()


@pytest.fixture()
def sweep(rules, sweep_queues, run_worker, work_in_process, as_tenant):
    """sweep(tenant, as_of, dry_run=False, batch_size=2000, forked=True) -> SweepRun: started here, run to
    its end by a real forking `saas worker` on the "sweeps" queue (or, with forked=False, by the same RQ
    worker class in this process: a later sweep of the same test, without another worker start-up),
    then read back as the tenant."""
    from saas.modules.retention import jobs, queries

    def _sweep(tenant, as_of, *, dry_run: bool = False, batch_size: int = 2000, forked: bool = True):
        as_tenant(tenant)
        run = jobs.start_sweep(tenant.id, as_of=as_of, dry_run=dry_run, enqueue=False)
        jobs.enqueue_sweep(run, TEST_JOB, batch_size=batch_size)
        if forked:
            run_worker(queues=["sweeps"], timeout=120)
        else:
            work_in_process(queues=["sweeps"])
        as_tenant(tenant)
        return queries.get_sweep(run.id)

    return _sweep
