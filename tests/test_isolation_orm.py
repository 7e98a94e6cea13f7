"""Layers 1 and 2 of tenant isolation for every tenant table, on both databases.

tests/test_tenancy.py shows the behaviour on a few models; these tests walk all of them, so a table a
feature adds later is covered without touching this file.
"""
import pytest
import sqlalchemy as sa

from saas.core import tenancy
from saas.core.tenancy import CrossTenantWrite, NoTenantError
from saas.extensions import db
from saas.testing.isolation import BINDS, tenant_scoped_mappers, tenant_tables

A, B = 2_000_001, 2_000_002


def test_every_table_with_tenant_id_is_mapped_by_a_tenant_scoped_model(ctx):
    scoped = {m.local_table.name for m in tenant_scoped_mappers()}
    unscoped = [t.name for bind in BINDS for t in tenant_tables(bind) if t.name not in scoped]
    assert scoped and unscoped == []


def test_tenant_id_is_not_null_and_indexed_first_everywhere(ctx):
    problems = []
    for bind in BINDS:
        for table in tenant_tables(bind):
            if table.c.tenant_id.nullable:
                problems.append(f"{table.name}.tenant_id is nullable")
            leading = [list(ix.columns)[0].name for ix in table.indexes] + [table.primary_key.columns[0].name]
            if "tenant_id" not in leading:
                problems.append(f"{table.name}: no index or key starts with tenant_id")
    assert problems == []


@pytest.mark.parametrize("statement", ["select", "update", "delete"])
def test_every_tenant_model_refuses_statements_without_a_tenant(ctx, statement):
    make = {"select": sa.select, "update": lambda m: sa.update(m).values(tenant_id=m.tenant_id), "delete": sa.delete}
    accepted = []
    for mapper in tenant_scoped_mappers():
        try:
            db.session.execute(make[statement](mapper.class_))
            accepted.append(mapper.class_.__name__)
        except NoTenantError:
            pass
        finally:
            db.session.rollback()
    assert accepted == []


def test_every_tenant_model_refuses_a_new_row_of_another_tenant(ctx):
    """Refused before any SQL runs, so the rows need no other values."""
    accepted = []
    for mapper in tenant_scoped_mappers():
        tenancy.set_tenant(A)
        row = mapper.class_manager.new_instance()
        row.tenant_id = B
        db.session.add(row)
        try:
            db.session.flush()
            accepted.append(mapper.class_.__name__)
        except CrossTenantWrite:
            pass
        finally:
            db.session.rollback()
            tenancy.set_tenant(None)
    assert accepted == []


def test_a_loaded_row_cannot_be_moved_to_another_tenant(ctx, make_tenant, as_tenant):
    from saas.modules.clients.models import ClientOrganisation

    mine, other = make_tenant(), make_tenant()
    as_tenant(mine)
    organisation = ClientOrganisation(name="Van Dijk Advies")
    db.session.add(organisation)
    db.session.commit()
    organisation.tenant_id = other.id
    with pytest.raises(CrossTenantWrite):
        db.session.flush()
