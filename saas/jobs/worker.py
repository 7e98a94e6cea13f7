"""RQ workers that run every job inside the app, as the job's tenant, as one unit of work.

    worker = AppWorker(["sweeps", "mail"], app=app)    # forks a work horse per job (production)
    worker = AppSimpleWorker(["default"], app=app)     # runs jobs in this process (demo, tests)

A job function is called as `func(**ids)`. Before it runs, the worker pushes an app context and sets the
tenant the job was enqueued for (`job.meta["tenant_id"]`, see `saas.jobs.enqueue`), so the ORM filter and
PostgreSQL row-level security apply; a function that works with the tenant's id declares a `tenant_id`
parameter and gets that one. When it returns the session commits, when it raises the session rolls back.
A long job may commit in batches itself (so a killed run resumes where it stopped); the worker commits
whatever is left.

Database connections must not cross a fork (two processes on one socket corrupt the protocol): the parent
disposes its pools before forking and the work horse drops the inherited pool without closing the
parent's sockets (`dispose(close=False)`, as SQLAlchemy's pooling guide and CKAN's worker do).
"""
from __future__ import annotations

import contextlib
import inspect

from flask import Flask
from rq import SimpleWorker, Worker
from rq.job import Job

from saas.core import tenancy
from saas.extensions import db
from saas.jobs.queues import connection as redis_connection


@contextlib.contextmanager
def unit_of_work(tenant_id: int | None):
    """Run a block as `tenant_id` in a fresh transaction: commit on return, roll back on any exception."""
    with tenancy.tenant_context(tenant_id):
        try:
            yield
            db.session.commit()
        except BaseException:
            db.session.rollback()
            raise
        finally:
            db.session.close()


class TenantJob(Job):
    """A job whose function runs as one unit of work of the tenant in its meta data."""

    @property
    def tenant_id(self) -> int | None:
        return (self.meta or {}).get("tenant_id")

    def perform(self):
        with unit_of_work(self.tenant_id):
            return super().perform()

    def _execute(self):
        # A function that works with its tenant's id may ask for it by name; the argument comes from the
        # job, so it cannot disagree with the tenant the job runs as.
        if "tenant_id" in inspect.signature(self.func).parameters and "tenant_id" not in self.kwargs:
            return self.func(*self.args, tenant_id=self.tenant_id, **self.kwargs)
        return super()._execute()


def dispose_engines(app: Flask, close: bool = True) -> None:
    """Drop pooled connections of every bind (data and key store)."""
    with app.app_context():
        for engine in db.engines.values():
            engine.dispose(close=close)


class _AppWorkerMixin:
    """Runs each job inside an app context of one app, created once per worker process."""

    job_class = TenantJob

    def __init__(self, queues, *args, app: Flask, **kwargs):
        self.app = app
        kwargs.setdefault("connection", redis_connection(app))
        super().__init__(queues, *args, **kwargs)

    def perform_job(self, job, queue) -> bool:
        with self.app.app_context():
            return super().perform_job(job, queue)


class AppWorker(_AppWorkerMixin, Worker):
    """The production worker: forks a work horse per job, so a crashing job cannot take the worker down."""

    def fork_work_horse(self, job, queue) -> None:
        dispose_engines(self.app, close=True)
        super().fork_work_horse(job, queue)

    def main_work_horse(self, job, queue) -> None:
        # The horse inherited the parent's pool objects: forget them, never close the parent's sockets.
        dispose_engines(self.app, close=False)
        super().main_work_horse(job, queue)


class AppSimpleWorker(_AppWorkerMixin, SimpleWorker):
    """Runs jobs in the worker's own process: for the laptop demo and in-process tests."""
