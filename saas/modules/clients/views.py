"""Client organisations of a tenant (the controllers whose data it processes): list and add, for admins."""
from __future__ import annotations

from flask import flash, redirect, render_template, url_for
from flask_babel import gettext as _

from saas.core.web import tenant_blueprint
from saas import access
from saas.extensions import db
from saas.modules.clients import operations, queries
from saas.modules.clients.forms import OrganisationForm

bp = tenant_blueprint("clients", __name__, template_folder="templates")


def _render(form: OrganisationForm, status: int = 200):
    return render_template("clients/index.html", rows=queries.organisations(), form=form), status


@bp.get("/clients")
@access.requires("list", "client_org")
def index():
    return _render(OrganisationForm())


@bp.post("/clients")
@access.requires("create", "client_org")
def create():
    form = OrganisationForm()
    if not form.validate():
        return _render(form, 400)
    try:
        operations.create_organisation(form.name.data, form.kvk_number.data)
    except operations.DuplicateName:
        db.session.rollback()
        form.name.errors.append(_("A client organisation with this name exists already."))
        return _render(form, 400)
    flash(_("The client organisation was added."), "success")
    return redirect(url_for(".index"))
