"""`saas worker [QUEUES...] [--burst]` and `saas cron`."""
from __future__ import annotations

import click
from flask import current_app
from flask.cli import with_appcontext

from saas.jobs.queues import QUEUES, redis


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
    """Run the periodic jobs of saas.jobs.schedule (one or more of these may run)."""
    from saas.jobs.schedule import build_cron

    build_cron(redis()).start()


COMMANDS: list = [worker_command, cron_command]
