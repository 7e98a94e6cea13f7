"""RQ workers that run every job inside the app, as the job's tenant, as one unit of work.

    worker = AppWorker(["sweeps", "mail"], app=app)    # forks a work horse per job (production)
    worker = AppSimpleWorker(["default"], app=app)     # runs jobs in this process (demo, tests)

A job function is called as `func(**ids)`. Before it runs, the worker pushes an app context and sets the
tenant the job was enqueued for (`job.meta["tenant_id"]`, see `saas.jobs.enqueue`), so the ORM filter and
PostgreSQL row-level security apply; a function that works with the tenant's id declares a `tenant_id`
parameter and gets that one. When it returns the session commits, when it raises the session rolls back.
A long job may commit in batches itself (so a killed run resumes where it stopped); the worker commits
whatever is left.

A Redis outage does not end the worker: RQ itself retries a lost connection only while it waits for a job,
and quits on one anywhere else (before a job, after it, while it watches the work horse). This worker
keeps watching a running work horse through the outage (the job's work is in the database), and when its
work loop ends on a lost connection it waits for Redis with back-off, logging it, and starts the loop
again under the same name (a Redis that came back empty gets the worker's registration anew).

Database connections must not cross a fork (two processes on one socket corrupt the protocol): the parent
disposes its pools before forking and the work horse drops the inherited pool without closing the
parent's sockets (`dispose(close=False)`, as SQLAlchemy's pooling guide and CKAN's worker do).
"""
from __future__ import annotations

import contextlib
import inspect
import logging
import time
from collections.abc import Callable

import redis.exceptions
from flask import Flask
from redis import Redis
from rq import SimpleWorker, Worker
from rq.job import Job

from saas.core import tenancy
from saas.extensions import db
from saas.jobs.queues import connection as redis_connection

log = logging.getLogger(__name__)
REDIS_DOWN = (redis.exceptions.ConnectionError, redis.exceptions.TimeoutError)
RECONNECT_FIRST, RECONNECT_MAX = 1.0, 30.0   # seconds between tries: doubling, capped


def wait_for_redis(connection: Redis, what: str, *, first: float = RECONNECT_FIRST, most: float = RECONNECT_MAX,
                   sleep: Callable[[float], None] = time.sleep) -> float:
    """Block until Redis answers a PING, trying again with exponential back-off and logging each try.
    Returns the seconds it took."""
    started, pause = time.monotonic(), first
    while True:
        try:
            connection.ping()
        except REDIS_DOWN as exc:
            log.error("%s: Redis unreachable (%s); next try in %.0f s", what, type(exc).__name__, pause)
            sleep(pause)
            pause = min(pause * 2, most)
            continue
        waited = time.monotonic() - started
        log.warning("%s: Redis is back after %.1f s", what, waited)
        return waited


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


def _noting_redis_loss(name: str):
    """A work-loop step that marks the worker's loop as ended by a lost Redis when it raises one."""
    def step(self, *args, **kwargs):
        try:
            return getattr(super(_SurvivesRedisOutage, self), name)(*args, **kwargs)
        except REDIS_DOWN:
            self._redis_lost = True
            raise
    step.__name__ = name
    return step


class _SurvivesRedisOutage:
    """RQ's work loop, started again after a Redis outage ended it (see the module docstring)."""

    _redis_lost = False

    def work(self, burst: bool = False, **options) -> bool:
        worked = False
        while True:
            self._redis_lost = False
            try:
                worked = super().work(burst=burst, **options) or worked
            except REDIS_DOWN:   # the loop's teardown could not reach Redis either
                self._redis_lost = True
            if not self._redis_lost or getattr(self, "_stop_requested", False):
                return worked
            self._reconnect()

    def _reconnect(self) -> None:
        log.error("worker %s: lost Redis; waiting for it instead of exiting", self.name)
        with contextlib.suppress(Exception):
            self.unsubscribe()      # the old command channel; the restarted loop subscribes again
        wait_for_redis(self.connection, f"worker {self.name}")
        # A Redis that was only away still has this worker's registration without a death date.
        with contextlib.suppress(*REDIS_DOWN):
            self.connection.delete(self.key)

    def dequeue_job_and_maintain_ttl(self, *args, **kwargs):
        # RQ retries a lost connection while it waits for a job; only one that escapes ends the loop.
        before = self._redis_lost
        result = _noting_redis_loss("dequeue_job_and_maintain_ttl")(self, *args, **kwargs)
        self._redis_lost = before
        return result

    def maintain_heartbeats(self, job) -> None:
        """Watching a work horse: a Redis outage must not abandon it; its job keeps working meanwhile."""
        before = self._redis_lost
        try:
            super().maintain_heartbeats(job)
        except REDIS_DOWN as exc:
            self._redis_lost = before
            log.error("worker %s: Redis unreachable while job %s runs (%s); still watching it",
                      self.name, job.id, type(exc).__name__)


for _step in ("check_for_suspension", "run_maintenance_tasks", "execute_job", "heartbeat"):
    setattr(_SurvivesRedisOutage, _step, _noting_redis_loss(_step))


class AppWorker(_AppWorkerMixin, _SurvivesRedisOutage, Worker):
    """The production worker: forks a work horse per job, so a crashing job cannot take the worker down."""

    def fork_work_horse(self, job, queue) -> None:
        dispose_engines(self.app, close=True)
        super().fork_work_horse(job, queue)

    def main_work_horse(self, job, queue) -> None:
        # The horse inherited the parent's pool objects: forget them, never close the parent's sockets.
        dispose_engines(self.app, close=False)
        super().main_work_horse(job, queue)


class AppSimpleWorker(_AppWorkerMixin, _SurvivesRedisOutage, SimpleWorker):
    """Runs jobs in the worker's own process: for the laptop demo and in-process tests."""
