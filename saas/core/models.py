"""Column mixins shared by the feature models."""
from __future__ import annotations

import uuid
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.orm import Mapped, declared_attr, mapped_column

from saas.core import clock
from saas.core.tenancy import current_tenant_id, new_id


class UuidPk:
    """Random UUID ids, known before the insert: encrypted fields bind their ciphertext to the row id,
    and ids in URLs are not guessable."""

    id: Mapped[uuid.UUID] = mapped_column(sa.Uuid, primary_key=True, default=new_id)

    @declared_attr.directive
    def __mapper_args__(cls) -> dict:
        """The ORM knows a row by its id alone (`db.session.get(Model, id)`, `get_or_404`); the table's
        primary key of a tenant table is (tenant_id, id) all the same (`TenantScoped`), and the ORM's
        UPDATE and DELETE of a row name both."""
        return {"primary_key": [cls.__table__.c.id]}

    def __init__(self, **kwargs):
        self.id = kwargs.pop("id", None) or new_id()
        if getattr(self, "__tenant_scoped__", False):
            self.tenant_id = kwargs.pop("tenant_id", None) or current_tenant_id()
        self._after_identity()
        for key, value in kwargs.items():
            if not hasattr(type(self), key):
                raise TypeError(f"{type(self).__name__} has no attribute {key!r}")
            setattr(self, key, value)

    def _after_identity(self) -> None:
        """Hook for rows that need their id before other fields (a subject creates its key)."""


class Timestamps:
    created_at: Mapped[datetime] = mapped_column(sa.DateTime(timezone=True), default=clock.now)
    updated_at: Mapped[datetime] = mapped_column(sa.DateTime(timezone=True), default=clock.now, onupdate=clock.now)


def tenant_fk(column: str, target: str, ondelete: str | None = None) -> sa.ForeignKeyConstraint:
    """A foreign key from a tenant table to another tenant table: (tenant_id, column) references
    (target.tenant_id, target.id), so both rows belong to one tenant and, on Citus, to one shard.
    Put it in the model's `__table_args__`; the column itself is a plain `sa.Uuid`.

    `ondelete="SET NULL"` clears only `column` (never tenant_id, which is part of the row's key):
    PostgreSQL 15+ is told `SET NULL (column)`; SQLite cannot name columns there (see below)."""
    if ondelete and ondelete.upper() == "SET NULL":
        ondelete = f"SET NULL ({column})"
    return sa.ForeignKeyConstraint(["tenant_id", column], [f"{target}.tenant_id", f"{target}.id"], ondelete=ondelete)


def ondelete_rule(foreign_key: sa.ForeignKeyConstraint | sa.ForeignKey) -> str:
    """The ON DELETE action without its column list: "SET NULL (x_id)" -> "SET NULL"."""
    return (foreign_key.ondelete or "NO ACTION").split("(")[0].strip().upper()


@compiles(sa.ForeignKeyConstraint, "sqlite")
def _sqlite_foreign_key(constraint: sa.ForeignKeyConstraint, compiler, **kw) -> str:
    """SQLite knows no column list after SET NULL. It is told plain SET NULL, which it does not enforce
    anyway (foreign keys are off there, the erasure clears links itself); were they switched on, SET NULL
    of tenant_id would fail on its NOT NULL rather than move a row out of its tenant."""
    ondelete = constraint.ondelete
    if not ondelete or "(" not in ondelete:
        return compiler.visit_foreign_key_constraint(constraint, **kw)
    constraint.ondelete = ondelete_rule(constraint)
    try:
        return compiler.visit_foreign_key_constraint(constraint, **kw)
    finally:
        constraint.ondelete = ondelete
