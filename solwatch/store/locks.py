"""Locks held in the store itself, so that they hold across machines: one import at a time,
and jobs that wait for it, said out loud.

An import reads what is stored, compares, and writes the changes with their old values, in
one transaction: for a large extract, minutes. Two at once would interleave (a history of A→C
and A→D where C→D happened) or collide on a new case; on SQLite a second writer would wait
the engine's 30 seconds and fail with "database is locked". So an import first takes the
store's import lock, held until its transaction ends:
- on PostgreSQL, a transaction-level advisory lock, released by the server when the
  transaction commits, rolls back, or its connection dies;
- on SQLite, the database's single write lock, taken by a first write.
A job about to write (`run-daily`, `run-monthly`) first checks that no import holds it
(`wait_for_imports`). Either one that finds the lock held says so once (`waiting`), waits up to
`[database] lock_wait_seconds`, then gives up with StoreBusy, having written nothing.
"""

from __future__ import annotations

from collections.abc import Callable

from sqlalchemy import Engine, text
from sqlalchemy.engine import Connection
from sqlalchemy.exc import OperationalError
from sqlmodel import Session

# Fixed keys in PostgreSQL's advisory lock space, the same for every solwatch process.
IMPORT_LOCK = 0x736F_6C77_0001  # "solw" 1
SERVE_LOCK = 0x736F_6C77_0002  # "solw" 2
DEFAULT_WAIT_SECONDS = 15 * 60  # [database] lock_wait_seconds
SQLITE_BUSY_MS = 30_000  # the engine's usual busy timeout (cases._sqlite_pragmas)


class StoreBusy(Exception):
    """Another import held the store for longer than we wait."""


def lock_imports(
    session: Session,
    waiting: Callable[[], None] | None = None,
    *,
    wait_seconds: float = DEFAULT_WAIT_SECONDS,
) -> None:
    """Take the import lock as the first thing in `session`'s transaction; `waiting` is
    called once if another import has it. Raises StoreBusy after `wait_seconds`."""
    connection = session.connection()
    dialect = connection.dialect.name
    if dialect == "postgresql":
        _lock_postgresql(connection, waiting, wait_seconds)
    elif dialect == "sqlite":
        _lock_sqlite(session, waiting, wait_seconds)


def wait_for_imports(
    engine: Engine,
    *,
    wait_seconds: float = DEFAULT_WAIT_SECONDS,
    waiting: Callable[[], None] | None = None,
) -> None:
    """Return once no import holds the store (see lock_imports), for a job about to write in
    short transactions of its own; the lock is released again at once."""
    with Session(engine) as session:
        lock_imports(session, waiting, wait_seconds=wait_seconds)
        session.rollback()


def _lock_postgresql(
    connection: Connection, waiting: Callable[[], None] | None, wait_seconds: float
) -> None:
    key = {"key": IMPORT_LOCK}
    if connection.execute(text("SELECT pg_try_advisory_xact_lock(:key)"), key).scalar():
        return
    if waiting is not None:
        waiting()
    connection.execute(text(f"SET LOCAL lock_timeout = '{int(wait_seconds * 1000)}ms'"))
    try:
        connection.execute(text("SELECT pg_advisory_xact_lock(:key)"), key)
    except OperationalError:  # lock_timeout
        raise StoreBusy(busy_message(wait_seconds)) from None
    connection.execute(text("SET LOCAL lock_timeout = 0"))


def _lock_sqlite(session: Session, waiting: Callable[[], None] | None, wait_seconds: float) -> None:
    # A write statement as the transaction's first takes the write lock at once (a read first
    # would pin a snapshot that a later write could not upgrade from). It writes no row.
    claim = "DELETE FROM import_runs WHERE 0"
    session.connection().exec_driver_sql("PRAGMA busy_timeout = 0")
    try:
        try:
            session.connection().exec_driver_sql(claim)
            return
        except OperationalError as error:
            session.rollback()
            if not _locked(error):
                raise
        if waiting is not None:
            waiting()
        session.connection().exec_driver_sql(f"PRAGMA busy_timeout = {int(wait_seconds * 1000)}")
        try:
            session.connection().exec_driver_sql(claim)
        except OperationalError as error:
            session.rollback()
            if not _locked(error):
                raise
            raise StoreBusy(busy_message(wait_seconds)) from None
    finally:
        session.connection().exec_driver_sql(f"PRAGMA busy_timeout = {SQLITE_BUSY_MS}")


def _locked(error: OperationalError) -> bool:
    return "locked" in str(error.orig) or "busy" in str(error.orig)


def busy_message(wait_seconds: float) -> str:
    return (
        f"another import kept the store busy for over {_duration(wait_seconds)} "
        f"([database] lock_wait_seconds); try again when it has finished"
    )


def waiting_message(wait_seconds: float) -> str:
    return (
        f"another import is writing to the store: waiting up to {_duration(wait_seconds)} "
        f"for it to finish"
    )


def _duration(seconds: float) -> str:
    if seconds >= 120:
        return f"{seconds / 60:g} minutes"
    return f"{seconds:g} second{'s' if seconds != 1 else ''}"
