"""/<tenant>/tokens: the current member's personal API tokens. A new token is shown once, on the answer to
the form that made it (never stored, never in a URL); revoking one stops it at once. Another member's token
id answers 404."""
from __future__ import annotations

from flask import abort, flash, g, redirect, render_template, url_for
from flask_babel import gettext as _

from saas import access
from saas.api import tokens
from saas.core.forms import EmptyForm
from saas.core.web import tenant_blueprint
from saas.extensions import db
from saas.modules.accounts.models import User
from saas.modules.tokens import queries
from saas.modules.tokens.forms import TokenForm

bp = tenant_blueprint("tokens", __name__, template_folder="templates")


def _render(form: TokenForm, new_token: str | None = None, status: int = 200):
    page = render_template("tokens/index.html", form=form, rows=queries.own_tokens(g.membership.user_id),
                           new_token=new_token, action_form=EmptyForm(), unusable=tokens.unusable_reason)
    return page, status, {"Cache-Control": "no-store"}


@bp.get("/tokens")
@access.requires("view", "account")
def index():
    return _render(TokenForm())


@bp.post("/tokens")
@access.requires("view", "account")
def create():
    form = TokenForm()
    if not form.validate():
        return _render(form, status=400)
    user = db.session.get(User, g.membership.user_id)
    _row, token = tokens.create(user, form.name.data, form.days.data)
    flash(_("Copy the token now: it is shown only this once."), "warning")
    return _render(TokenForm(formdata=None), new_token=token)


@bp.post("/tokens/<token_id>/revoke")
@access.requires("view", "account")
def revoke(token_id):
    row = queries.own_token(g.membership.user_id, token_id)
    if row is None or not EmptyForm().validate():
        abort(404 if row is None else 400)
    tokens.revoke(row.prefix)
    flash(_("The token was revoked: it no longer works."), "success")
    return redirect(url_for(".index"))
