"""`saas demo seed` fills the demo tenants; `saas demo run` brings up the whole demo on a laptop."""
from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time

import click
from flask import current_app
from flask.cli import AppGroup

from saas.jobs import queues
from saas.modules.demo import operations

STARTUP_TIMEOUT = 60
STOP_TIMEOUT = 10
# The children run this same CLI with the same Python, so a virtualenv needs no activation.
SAAS = (sys.executable, "-c", "from saas.cli import cli; cli(prog_name='saas')")

demo = AppGroup("demo", help="Demo tenants with made-up Dutch data.")


@demo.command("seed")
@click.option("--tenant", "slugs", multiple=True, help="Only this demo tenant (repeatable).")
@click.option("--reset", is_flag=True, help="Remove this command's earlier demo data first.")
@click.option("--subjects", "subject_count", default=operations.SUBJECTS_PER_TENANT, show_default=True,
              help="Data subjects per tenant.")
def seed_command(slugs, reset, subject_count):
    """Fill each demo tenant with users of every role, client organisations and data subjects."""
    tenants = operations.demo_tenants(slugs)
    missing = sorted(set(slugs or operations.DEMO_TENANTS) - {t.slug for t in tenants})
    for slug in missing:
        click.echo(f"{slug}: no such tenant (run `saas tenants sync` first)", err=True)
    for tenant in tenants:
        result = operations.seed_tenant(tenant, reset=reset, subject_count=subject_count)
        if result.seeded:
            click.echo(f"{result.slug}: {result.accounts} accounts, {result.organisations} client organisations, "
                       f"{result.subjects} data subjects, {result.companies} companies, "
                       f"{result.assignments} assignments")
        else:
            click.echo(f"{result.slug}: has demo data already (use --reset to replace it)")
    click.echo(f"Demo password of every demo account: {operations.DEMO_PASSWORD}")
    if missing and not tenants:
        raise SystemExit(1)


@demo.command("run")
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=5000, show_default=True, type=int)
def run_command(host, port):
    """Set up the database and demo data, then run web, worker and scheduler until Ctrl-C."""
    app = current_app._get_current_object()
    # This process starts the embedded Redis (unless REDIS_URL is set) and keeps it while the children use it.
    env = demo_environment(os.environ, queues.redis_url(app), app.extensions["saas.settings"].instance_path,
                           host, port)
    for step in _setup_steps():
        click.echo(f"$ saas {' '.join(step)}")
        subprocess.run([*SAAS, *step], env=env, check=True)
    children = _start_children(host, port, env)
    try:
        _wait_for_port(host, port, children)
        _print_banner(env["SAAS_BASE_URL"])
        _supervise(children)
    finally:
        _stop(children)


def demo_base_url(host: str, port: int) -> str:
    """Where the demo portal is reached: the base of the links in its mails and of its banner."""
    if host in ("", "0.0.0.0", "::"):
        host = "127.0.0.1"  # listening on every address: the loopback one is reachable from this machine
    if ":" in host:
        host = f"[{host}]"
    return f"http://{host}:{port}"


def demo_environment(environ, redis_url: str, instance_path, host: str, port: int) -> dict[str, str]:
    """The environment of the demo's setup steps and children: one Redis, one instance folder, and mail
    links that point at the port the portal listens on (unless SAAS_BASE_URL names another address)."""
    base_url = environ.get("SAAS_BASE_URL") or demo_base_url(host, port)
    return {**environ, "REDIS_URL": redis_url, "SAAS_INSTANCE_PATH": str(instance_path),
            "SAAS_BASE_URL": base_url.rstrip("/")}


def _setup_steps() -> list[list[str]]:
    steps = [["db", "upgrade"]]
    if _has_command("tenants", "sync"):
        steps.append(["tenants", "sync"])
    else:
        click.echo("`saas tenants sync` is not available: using the tenants already in the database", err=True)
    steps.append(["demo", "seed"])
    return steps


def _has_command(*path: str) -> bool:
    ctx = click.get_current_context()
    command = ctx.find_root().command
    for name in path:
        command = command.get_command(ctx, name) if isinstance(command, click.Group) else None
        if command is None:
            return False
    return True


def _start_children(host: str, port: int, env: dict) -> dict[str, subprocess.Popen]:
    commands = {
        "web": ["run", "--host", host, "--port", str(port), "--no-reload", "--no-debugger"],
        "worker": ["worker"],
        "scheduler": ["cron"],
    }
    children = {}
    for name, args in commands.items():
        children[name] = subprocess.Popen([*SAAS, *args], env=env)
    return children


def _wait_for_port(host: str, port: int, children) -> None:
    deadline = time.monotonic() + STARTUP_TIMEOUT
    while time.monotonic() < deadline:
        _check_alive(children)
        with socket.socket() as probe:
            if probe.connect_ex((host, port)) == 0:
                return
        time.sleep(0.2)
    raise click.ClickException(f"the web server did not start on {host}:{port}")


def _print_banner(base: str) -> None:
    from saas.extensions import db

    db.session.rollback()  # the children changed the database since this process last looked
    click.echo(f"\nPortal: {base}/\nPassword of every demo account: {operations.DEMO_PASSWORD}\n")
    for slug, role, email in operations.demo_logins(operations.demo_tenants()):
        click.echo(f"  {role:<10}  {email:<28}  {base}/{slug}/")
    click.echo("\nPress Ctrl-C to stop web, worker and scheduler.")


class _Stop(Exception):
    pass


def _raise_stop(signum, frame):
    raise _Stop()


def _supervise(children) -> None:
    """Wait until Ctrl-C or SIGTERM; a child that dies takes the demo down with a clear message."""
    previous = signal.signal(signal.SIGTERM, _raise_stop)
    try:
        while True:
            _check_alive(children)
            time.sleep(0.5)
    except (KeyboardInterrupt, _Stop):
        click.echo("\nStopping...")
    finally:
        signal.signal(signal.SIGTERM, previous)


def _check_alive(children) -> None:
    for name, process in children.items():
        code = process.poll()
        if code is not None:
            raise click.ClickException(f"{name} stopped unexpectedly (exit code {code})")


def _stop(children) -> None:
    for process in children.values():
        if process.poll() is None:
            process.terminate()
    deadline = time.monotonic() + STOP_TIMEOUT
    for process in children.values():
        try:
            process.wait(max(0.1, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


COMMANDS = [demo]
