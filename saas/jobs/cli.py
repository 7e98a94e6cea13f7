"""`saas worker [QUEUES...] [--burst]` and `saas cron`."""
from __future__ import annotations

import logging

import click
from flask import current_app
from flask.cli import with_appcontext

from saas.jobs.queues import QUEUES, redis

log = logging.getLogger(__name__)


@click.command("worker")
@click.argument("queues", nargs=-1)
@click.option("--burst", is_flag=True, help="Quit when the queues are empty.")
@click.option("--scheduler/--no-scheduler", default=True, help="Also move scheduled and delayed retries onto queues.")
@click.option("--in-process", is_flag=True, help="Run jobs in this process instead of a forked work horse.")
@with_appcontext
def worker_command(queues, burst, scheduler, in_process):
    """Work on the given queues (default: all of them)."""
    from saas.jobs.worker import AppSimpleWorker, AppWorker

    unknown = sorted(set(queues) - set(QUEUES))
    if unknown:
        raise click.BadParameter(f"unknown queue(s) {', '.join(unknown)}; known: {', '.join(QUEUES)}")
    worker_class = AppSimpleWorker if in_process else AppWorker
    worker = worker_class(list(queues or QUEUES), app=current_app._get_current_object())
    worker.work(burst=burst, with_scheduler=scheduler)


@click.command("cron")
@with_appcontext
def cron_command():
    """Run the periodic jobs of saas.jobs.schedule (one or more of these may run). A Redis outage does not
    end it: it waits for Redis with back-off and carries on (ticks missed meanwhile are not made up; the
    every-minute entries, such as resuming stale sweeps, catch up on the next)."""
    from rq.exceptions import StopRequested

    from saas.jobs.schedule import build_cron
    from saas.jobs.worker import REDIS_DOWN, wait_for_redis

    while True:
        try:
            build_cron(redis()).start()   # returns on SIGTERM/SIGINT
            return
        except REDIS_DOWN as exc:
            log.error("saas cron: lost Redis (%s); waiting for it instead of exiting", type(exc).__name__)
        try:
            wait_for_redis(redis(), "saas cron")
        except (StopRequested, KeyboardInterrupt):
            return


COMMANDS: list = [worker_command, cron_command]
