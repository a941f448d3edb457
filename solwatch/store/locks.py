"""Locks held in the store itself, so that they hold across machines: one import at a time.

An import reads what is stored, compares, and writes the changes with their old values. Two
at once would interleave (a history of A→C and A→D where C→D happened) or collide on a new
case. So an import first takes the store's import lock, held until its transaction ends:
- on PostgreSQL, a transaction-level advisory lock, released by the server when the
  transaction commits, rolls back, or its connection dies;
- on SQLite, the database's single write lock, taken by a first write.
A second import waits (saying so) up to IMPORT_WAIT_SECONDS, then gives up cleanly.
"""

from __future__ import annotations

from collections.abc import Callable

from sqlalchemy import text
from sqlalchemy.engine import Connection
from sqlalchemy.exc import OperationalError
from sqlmodel import Session

# Fixed keys in PostgreSQL's advisory lock space, the same for every solwatch process.
IMPORT_LOCK = 0x736F_6C77_0001  # "solw" 1
SERVE_LOCK = 0x736F_6C77_0002  # "solw" 2
IMPORT_WAIT_SECONDS = 15 * 60
SQLITE_BUSY_MS = 30_000  # the engine's usual busy timeout (cases._sqlite_pragmas)


class StoreBusy(Exception):
    """Another import held the store for longer than we wait."""


BUSY = (
    f"another import kept this database busy for over {IMPORT_WAIT_SECONDS // 60} minutes: "
    f"nothing was imported; try again when it has finished"
)


def lock_imports(session: Session, waiting: Callable[[], None] | None = None) -> None:
    """Take the import lock as the first thing in `session`'s transaction; `waiting` is
    called once if another import has it. Raises StoreBusy after IMPORT_WAIT_SECONDS."""
    dialect = session.connection().dialect.name
    if dialect == "postgresql":
        _lock_postgresql(session.connection(), waiting)
    elif dialect == "sqlite":
        _lock_sqlite(session, waiting)


def _lock_postgresql(connection: Connection, waiting: Callable[[], None] | None) -> None:
    key = {"key": IMPORT_LOCK}
    if connection.execute(text("SELECT pg_try_advisory_xact_lock(:key)"), key).scalar():
        return
    if waiting is not None:
        waiting()
    connection.execute(text(f"SET LOCAL lock_timeout = '{IMPORT_WAIT_SECONDS}s'"))
    try:
        connection.execute(text("SELECT pg_advisory_xact_lock(:key)"), key)
    except OperationalError:  # lock_timeout
        raise StoreBusy(BUSY) from None
    connection.execute(text("SET LOCAL lock_timeout = 0"))


def _lock_sqlite(session: Session, waiting: Callable[[], None] | None) -> None:
    # A write statement as the transaction's first takes the write lock at once (a read first
    # would pin a snapshot that a later write could not upgrade from). It writes no row.
    claim = "DELETE FROM import_runs WHERE 0"
    session.connection().exec_driver_sql("PRAGMA busy_timeout = 0")
    try:
        try:
            session.connection().exec_driver_sql(claim)
            return
        except OperationalError:
            session.rollback()
        if waiting is not None:
            waiting()
        session.connection().exec_driver_sql(f"PRAGMA busy_timeout = {IMPORT_WAIT_SECONDS * 1000}")
        try:
            session.connection().exec_driver_sql(claim)
        except OperationalError:
            session.rollback()
            raise StoreBusy(BUSY) from None
    finally:
        session.connection().exec_driver_sql(f"PRAGMA busy_timeout = {SQLITE_BUSY_MS}")
