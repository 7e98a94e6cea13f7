"""Fixtures for the crypto, keys and files tests: people with unmistakable personal data, statement
counting, and a way to drop every cached key so a read really goes through the key store."""
from __future__ import annotations

import contextlib
import uuid

import pytest
import sqlalchemy as sa

from saas.core import tenancy
from saas.core.crypto.keyring import keyring
from saas.extensions import db

PERSONAL_FIELDS = ("given_name", "family_name", "email", "phone", "city", "notes")


def person(tag: str, n: int) -> dict:
    """Values no other test writes, so finding one in a dump can only mean a leak."""
    return {
        "given_name": f"Quirijn{tag}{n}",
        "family_name": f"Vandermolen{tag}{n}",
        "email": f"q.vandermolen.{tag}{n}@voorbeeld-mail.nl",
        "phone": f"06{n:02d}{int(tag, 16) % 10**6:06d}",
        "city": f"Zwartewaal{tag}{n}",
        "notes": f"Gesprek over verhuizing naar Tiel {tag}{n}",
    }


@pytest.fixture()
def seed_people(ctx):
    """seed_people(tenant, count) -> [(DataSubject, values)] committed in that tenant."""
    from saas.modules.subjects.models import DataSubject

    def _seed(tenant, count: int = 3, source: str = "seed"):
        tag = uuid.uuid4().hex[:6]
        db.session.commit()
        tenancy.set_tenant(tenant.id)
        people = []
        for n in range(count):
            values = person(tag, n)
            subject = DataSubject(category="candidate", source=source)
            for name, value in values.items():
                setattr(subject, name, value)
            db.session.add(subject)
            people.append((subject, values))
        db.session.commit()
        return people

    return _seed


def forget_cached_keys() -> None:
    """Start over as a new process would: no cached tenant, index or subject key, no loaded row."""
    kr = keyring()
    kr._tenant_keys.clear()
    kr._tenant_aeads.clear()
    kr._index_subkeys.clear()
    db.session.commit()
    db.session.info.clear()
    db.session.expire_all()


@pytest.fixture()
def fresh_keys(ctx):
    return forget_cached_keys


@contextlib.contextmanager
def counting_statements(engine, containing: str):
    """Count the SQL statements sent to `engine` whose text mentions `containing`."""
    seen: list[str] = []

    def _count(conn, cursor, statement, parameters, context, executemany):
        if containing in statement:
            seen.append(statement)

    sa.event.listen(engine, "before_cursor_execute", _count)
    try:
        yield seen
    finally:
        sa.event.remove(engine, "before_cursor_execute", _count)
