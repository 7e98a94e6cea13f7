"""`saas users ...`: create users, set passwords and block logins from the command line.

A password set here was chosen or seen by the operator, so the user must change it at the next login.
This path creates memberships directly (system code, no invitation): the operator acts for the platform."""
from __future__ import annotations

import sys

import click
import sqlalchemy as sa
from flask.cli import with_appcontext

from saas.core.web import switch_tenant
from saas.extensions import db
from saas.modules.accounts import operations, queries
from saas.modules.accounts.models import ROLES
from saas.modules.clients.models import ClientOrganisation
from saas.modules.tenants import operations as tenants


def _password_from(stdin: bool) -> tuple[str, bool]:
    """The password to set and whether it was generated (then it is printed once)."""
    if stdin:
        return sys.stdin.readline().rstrip("\n"), False
    return operations.generate_password(), True


def _user_or_fail(email: str):
    user = queries.find_user_by_email(email)
    if user is None:
        raise click.ClickException("no user with that email address")
    return user


@click.group("users")
def users():
    """Users and their memberships."""


@users.command("create")
@click.option("--email", required=True)
@click.option("--name", "display_name", required=True)
@click.option("--tenant", "slug", help="Also make the user a member of this tenant.")
@click.option("--role", type=click.Choice(ROLES), default="admin", show_default=True)
@click.option("--client-org", "client_org_name", help="Name of the client organisation (role client).")
@click.option("--password-stdin", is_flag=True, help="Read the password from stdin instead of generating one.")
@with_appcontext
def create(email, display_name, slug, role, client_org_name, password_stdin):
    """Create a user, optionally with a membership; prints a generated password once."""
    password, generated = _password_from(password_stdin)
    try:
        user = queries.find_user_by_email(email)
        created = user is None
        if created:
            user = operations.create_user(email, display_name, password, must_change_password=True)
        db.session.commit()
        if slug:
            tenant = tenants.get_by_slug(slug)
            switch_tenant(tenant.id)
            org_id = None
            if client_org_name:
                org_id = db.session.scalar(sa.select(ClientOrganisation.id).where(ClientOrganisation.name == client_org_name))
            operations.add_membership(tenant, user, role, org_id)
            db.session.commit()
    except (operations.MembershipError, LookupError, ValueError) as exc:
        db.session.rollback()
        raise click.ClickException(getattr(exc, "reason", None) or str(exc)) from None   # the rule's code
    click.echo(f"user {user.id}" + (f" member of {slug} as {role}" if slug else ""))
    if created and generated:
        click.echo(f"password: {password}")
    elif not created:
        click.echo("the user already existed and keeps their password")


@users.command("set-password")
@click.option("--email", required=True)
@click.option("--password-stdin", is_flag=True, help="Read the password from stdin instead of generating one.")
@with_appcontext
def set_password(email, password_stdin):
    """Set a new password (to be changed at the next login); prints a generated one once."""
    user = _user_or_fail(email)
    password, generated = _password_from(password_stdin)
    try:
        operations.set_password(user, password)
    except ValueError as exc:
        raise click.ClickException(str(exc)) from None
    user.must_change_password = True
    operations.end_sessions(user)
    db.session.commit()
    click.echo(f"password set for user {user.id}")
    if generated:
        click.echo(f"password: {password}")


@users.command("reset-two-factor")
@click.option("--email", required=True)
@with_appcontext
def reset_two_factor(email):
    """Turn a user's two-factor login off (lost phone and recovery codes, identity checked by you);
    where it is required the user sets it up again at the next login."""
    from saas.modules.accounts import twofactor

    user = _user_or_fail(email)
    twofactor.disable(user)
    operations.end_sessions(user)
    operations.audit_in_each_tenant(user, "auth.two_factor_reset", outcome="ok", actor_kind="system")
    db.session.commit()
    click.echo(f"two-factor login reset for user {user.id}")


@users.command("deactivate")
@click.option("--email", required=True)
@with_appcontext
def deactivate(email):
    """Block a user's login in every tenant (memberships and audit trail stay)."""
    user = _user_or_fail(email)
    operations.deactivate(user)
    operations.end_sessions(user)
    db.session.commit()
    click.echo(f"user {user.id} deactivated")


COMMANDS = [users]
