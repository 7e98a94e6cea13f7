"""Is the database there and upgraded? Answered without creating anything, so a command can say what to run.

The app never creates a SQLite database file by connecting to it (`never_create_sqlite_files`): only
`saas db upgrade` (migrations/env.py, on its own engine) makes one. A command on a missing or old schema
then fails on its first query, and `pending_upgrade` tells which database is behind.
"""
from __future__ import annotations

from pathlib import Path
from urllib.parse import quote

import sqlalchemy as sa
from alembic.ddl.sqlite import SQLiteImpl
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import event
from sqlalchemy.engine import URL, Engine

UPGRADE_HINT = "run `saas db upgrade`"


def sqlite_file(url: URL) -> Path | None:
    """The file of a file-based SQLite URL; None for other databases and in-memory SQLite."""
    if url.get_backend_name() != "sqlite" or url.database in (None, "", ":memory:"):
        return None
    if url.query.get("uri") or url.database.startswith("file:"):
        return None
    return Path(url.database)


def never_create_sqlite_files(engines) -> None:
    """Open SQLite files read-write but never create them: a missing file is a missing database."""
    for engine in engines:
        if sqlite_file(engine.url) is not None and not event.contains(engine, "do_connect", _open_existing_only):
            event.listen(engine, "do_connect", _open_existing_only)


def _open_existing_only(dialect, conn_rec, cargs, cparams) -> None:
    # SQLite's URI form with mode=rw refuses to create the file ("unable to open database file").
    cargs[0] = "file:" + quote(str(Path(cargs[0]).resolve())) + "?mode=rw"
    cparams["uri"] = True


def _revision_state(engine: Engine, heads: set[str]) -> str | None:
    """None when the database is at the newest revision, else what it is."""
    path = sqlite_file(engine.url)
    if path is not None and not path.exists():
        return f"{path} does not exist"
    with engine.connect() as connection:
        current = set(MigrationContext.configure(connection).get_current_heads())
    if current == heads:
        return None
    return f"{_name(engine)} is at revision {', '.join(sorted(current)) or 'none'}, not {', '.join(sorted(heads))}"


def _name(engine: Engine) -> str:
    return engine.url.render_as_string(hide_password=True)


def pending_upgrade(engines, migrations_dir: str) -> list[str]:
    """What is behind: one line per database (data, key store) that is missing or not upgraded."""
    heads = set(ScriptDirectory(migrations_dir).get_heads())
    return [state for engine in engines if (state := _revision_state(engine, heads)) is not None]


def is_database_error(exc: BaseException) -> bool:
    return isinstance(exc, (sa.exc.OperationalError, sa.exc.ProgrammingError, sa.exc.NoSuchTableError))


class _SQLiteImpl(SQLiteImpl):
    """Alembic on SQLite, told that a foreign key's `SET NULL (x_id)` (the models' form, saas.core.models.tenant_fk)
    is what SQLite stores as plain SET NULL: SQLite has no column list there, so they are the same key and
    autogenerate must not drop and re-add it. Registered for the "sqlite" dialect by defining it."""

    __dialect__ = "sqlite"

    def correct_for_autogen_foreignkeys(self, conn_fks, metadata_fks) -> None:
        super().correct_for_autogen_foreignkeys(conn_fks, metadata_fks)
        by_name = {fk.name: fk for fk in metadata_fks if fk.name}
        for reflected in conn_fks:
            model = by_name.get(reflected.name)
            if model is not None and model.ondelete and "(" in model.ondelete and reflected.ondelete \
                    and reflected.ondelete.upper() == model.ondelete.split("(")[0].strip().upper():
                reflected.ondelete = model.ondelete
