"""A download of a client's database: audited (ids, format and scope; never a value), then streamed.

The audit line is written in the request's transaction, which the commit point commits before the body
streams. The body is a generator that starts only when the server reads it, after the request is over: each
step runs in an application context of its own (its own database session, the tenant set again), reading
the rows batch by batch with the reader's role as it was when the request was let through.
"""
from __future__ import annotations

from collections.abc import Callable, Iterator
from types import SimpleNamespace

from flask import Response, current_app, g

from saas.core import clock, tenancy
from saas.modules.assignments.models import Assignment
from saas.modules.audit import operations as audit
from saas.modules.clients.models import ClientOrganisation
from saas.modules.exports import formats, queries


class UnknownFormat(ValueError):
    """A format other than csv, xlsx or json was asked for."""


def download(organisation: ClientOrganisation, fmt: str, assignment: Assignment | None = None) -> Response:
    """The streamed download of `organisation`'s database (or one of its assignments) in `fmt`."""
    if fmt not in formats.FORMATS:
        raise UnknownFormat(fmt)
    membership = _snapshot(getattr(g, "membership", None))
    assignment_id = assignment.id if assignment is not None else None
    meta = {"client_organisation": organisation.name, "assignment": assignment.title if assignment else None}
    audit.record("database.export", "client_organisation", organisation.id, detail={
        "format": fmt, "assignment_id": str(assignment_id) if assignment_id else None})
    tenant_id, client_org_id = tenancy.require_tenant_id(), organisation.id
    exported_at = clock.now()
    meta["exported_at"] = exported_at.isoformat()
    app = current_app._get_current_object()

    body = stepped(app, tenant_id, lambda: formats.chunks(
        fmt, queries.export_rows(client_org_id, membership, assignment_id), meta))
    mimetype, extension = formats.FORMATS[fmt]
    name = f"database-{exported_at:%Y%m%d-%H%M}.{extension}"
    response = Response(body, mimetype=mimetype)
    response.headers["Content-Disposition"] = f'attachment; filename="{name}"'
    response.headers["Cache-Control"] = "no-store"
    response.headers["X-Content-Type-Options"] = "nosniff"
    return response


def stepped(app, tenant_id: int, make_chunks: Callable[[], Iterator[bytes]]) -> Iterator[bytes]:
    """The chunks of `make_chunks()`, each made in an application context of its own, none held across a
    yield: a reader that stops early (or never starts) leaves no context pushed, and every step reads in a
    fresh session, so the session's caches (loaded rows, subject keys) never outgrow one batch."""
    chunks = None
    while True:
        with app.app_context():
            tenancy.set_tenant(tenant_id)
            chunks = chunks or make_chunks()
            chunk = next(chunks, None)
        if chunk is None:
            return
        yield chunk


def _snapshot(membership):
    """What need-to-know asks of a member (role, user, client organisation), as plain values: the body is
    read after the request's session is gone."""
    if membership is None:
        return None
    return SimpleNamespace(role=membership.role, user_id=membership.user_id, client_org_id=membership.client_org_id)
