"""Tenant context and the ORM layer of isolation.

Three independent layers keep tenants apart:
1. every tenant table carries `tenant_id` (`TenantScoped`);
2. this module adds the current tenant to every ORM query and *fails closed* when none is set;
3. PostgreSQL row-level security (`saas.core.rls`) reads the tenant set per transaction here.
"""
from __future__ import annotations

import contextlib
import contextvars
import uuid

import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.sql import util as sql_util
from sqlalchemy.orm import Mapped, Session, declared_attr, mapped_column, with_loader_criteria

_current_tenant: contextvars.ContextVar[int | None] = contextvars.ContextVar("current_tenant", default=None)


class NoTenantError(RuntimeError):
    """A tenant-owned table was queried without a tenant: refused rather than guessed."""


class CrossTenantWrite(RuntimeError):
    """A row of another tenant was about to be written."""


def current_tenant_id() -> int | None:
    return _current_tenant.get()


def require_tenant_id() -> int:
    tenant_id = _current_tenant.get()
    if tenant_id is None:
        raise NoTenantError("no tenant is set for this operation")
    return tenant_id


@contextlib.contextmanager
def tenant_context(tenant_id: int | None):
    """Run a block as one tenant. Start and end it outside a transaction (see `switch_tenant`)."""
    token = _current_tenant.set(tenant_id)
    try:
        yield tenant_id
    finally:
        _current_tenant.reset(token)


def set_tenant(tenant_id: int | None) -> None:
    """Set the tenant for the rest of this context (a request or a job)."""
    _current_tenant.set(tenant_id)


def new_id() -> uuid.UUID:
    return uuid.uuid4()


class TenantScoped:
    """Mixin for every table owned by a tenant.

    `tenant_id` is the distribution column of a distributed PostgreSQL (Citus, docs/scaling.md), which
    requires it in every primary key, unique constraint and foreign key of the table. So it is part of the
    primary key, as its first column: the key's index then also serves every scan of one tenant, and the
    table needs no index of its own on tenant_id. A model that declares `tenant_id` itself keeps it a
    primary key column (tests/test_distribution_keys.py checks every tenant table)."""

    __tenant_scoped__ = True

    @declared_attr
    def tenant_id(cls) -> Mapped[int]:
        return mapped_column(sa.Integer, primary_key=True, autoincrement=False, sort_order=-100)


def _is_tenant_mapper(mapper) -> bool:
    return getattr(mapper.class_, "__tenant_scoped__", False)


def _reads_tenant_table(statement) -> bool:
    """`all_mappers` misses entities named only in FROM (`select(func.count()).select_from(Model)`) or
    inside subqueries: look at the tables too, so such queries fail closed as well."""
    return any("tenant_id" in getattr(table, "c", ()) for table in sql_util.find_tables(
        statement, include_aliases=True, include_joins=True, include_crud=True, check_columns=True))


def _moves_tenant(statement, tenant_id: int) -> bool:
    """Whether an UPDATE sets tenant_id to anything but the current tenant (or itself).
    PostgreSQL's WITH CHECK refuses that too; SQLite alone would not."""
    pairs = list((getattr(statement, "_values", None) or {}).items()) + list(getattr(statement, "_ordered_values", None) or ())
    for key, value in pairs:
        if getattr(key, "key", key) != "tenant_id":
            continue
        if isinstance(value, sa.BindParameter) and value.value == tenant_id:
            continue
        if isinstance(value, sa.Column) and value.key == "tenant_id":
            continue
        return True
    return False


def _add_tenant_criteria(state) -> None:
    if not (state.is_select or state.is_update or state.is_delete):
        return
    sync_database_tenant(state.session.connection(bind_arguments=state.bind_arguments))
    if state.execution_options.get("skip_tenant_filter"):
        return
    if not (any(_is_tenant_mapper(m) for m in state.all_mappers) or _reads_tenant_table(state.statement)):
        return
    tenant_id = _current_tenant.get()
    if tenant_id is None:
        raise NoTenantError("query on tenant data without a tenant")
    if state.is_update and _moves_tenant(state.statement, tenant_id):
        raise CrossTenantWrite("a bulk UPDATE may not move rows between tenants")
    state.statement = state.statement.options(
        with_loader_criteria(
            TenantScoped, lambda cls: cls.tenant_id == tenant_id, include_aliases=True
        )
    )


def _stamp_new_rows(session: Session, flush_context, instances) -> None:
    """New rows get the current tenant; a row of another tenant is refused before SQL runs."""
    tenant_id = _current_tenant.get()
    for mapper in {type(obj) for obj in (*session.new, *session.dirty, *session.deleted)}:
        sync_database_tenant(session.connection(bind_arguments={"mapper": mapper}))
    for obj in list(session.new) + list(session.dirty):
        if not getattr(obj, "__tenant_scoped__", False):
            continue
        if obj.tenant_id is None:
            if tenant_id is None:
                raise NoTenantError(f"cannot write {type(obj).__name__} without a tenant")
            obj.tenant_id = tenant_id
        elif tenant_id is not None and obj.tenant_id != tenant_id:
            raise CrossTenantWrite(f"{type(obj).__name__} belongs to another tenant")


def _set_database_tenant(session: Session, transaction, connection) -> None:
    """Layer 3: tell PostgreSQL the tenant for this transaction only (never connection-wide)."""
    if connection.dialect.name == "postgresql":
        _set_config(connection, _current_tenant.get())


def _set_config(connection, tenant_id: int | None) -> None:
    connection.execute(
        sa.text("SELECT set_config('app.tenant_id', :tid, true)"),
        {"tid": "" if tenant_id is None else str(tenant_id)},
    )
    connection.info["saas_tenant"] = tenant_id


def sync_database_tenant(connection) -> None:
    """The tenant may change inside a transaction (a lazy load between commit and switch):
    re-tell PostgreSQL before the statement runs."""
    if connection.dialect.name == "postgresql":
        tenant_id = _current_tenant.get()
        if connection.info.get("saas_tenant", -1) != tenant_id:
            _set_config(connection, tenant_id)


def install(session_class=Session) -> None:
    """Attach the hooks to every ORM session (Flask-SQLAlchemy's session subclasses Session)."""
    if not event.contains(session_class, "do_orm_execute", _add_tenant_criteria):
        event.listen(session_class, "do_orm_execute", _add_tenant_criteria)
        event.listen(session_class, "before_flush", _stamp_new_rows)
        event.listen(session_class, "after_begin", _set_database_tenant)
