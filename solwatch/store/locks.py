"""One import at a time, and jobs that wait for it: the store's write lock, said out loud.

An import compares what is stored with the extract and writes the differences with their old
values, in one transaction; on SQLite that transaction holds the database's write lock until
it commits, which for a large extract is minutes. Anything else that writes meanwhile (a
second import, `run-daily` recording its digests) would wait SQLite's 30 seconds and fail with
"database is locked". Instead an import takes the lock as its first statement, and a job
checks for it before it starts; either one that finds the lock held says so once, waits up to
`[database] lock_wait_seconds`, and then gives up with StoreBusy, having written nothing.

Other databases serialize their writers themselves; these functions do nothing there.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from typing import Any

from sqlalchemy import Engine
from sqlalchemy.engine import Connection

from solwatch.store.cases import BUSY_TIMEOUT_MS

# A write that touches no row: as a transaction's first statement it takes the write lock.
_CLAIM = "DELETE FROM import_runs WHERE 0"


class StoreBusy(Exception):
    """Another process kept the store's write lock for longer than we wait."""


def _locked(error: sqlite3.OperationalError) -> bool:
    return "locked" in str(error) or "busy" in str(error)


def _claim(driver: Any, timeout_ms: int) -> None:
    driver.execute(f"PRAGMA busy_timeout = {timeout_ms}")
    try:
        driver.execute(_CLAIM)
    except sqlite3.OperationalError:
        # A failed claim may leave a read snapshot behind, which a later claim could not
        # upgrade from once the other writer commits: start afresh.
        driver.rollback()
        raise
    finally:
        driver.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")


def hold_write_lock(
    connection: Connection, *, wait_seconds: float, waiting: Callable[[], None] | None = None
) -> None:
    """Take the store's write lock in `connection`'s transaction, now (it is released when the
    transaction ends). `waiting` is called once if another process holds it; StoreBusy after
    `wait_seconds`."""
    if connection.dialect.name != "sqlite":
        return
    driver = connection.connection.driver_connection
    try:
        _claim(driver, 0)
        return
    except sqlite3.OperationalError as error:
        if not _locked(error):
            raise
    if waiting is not None:
        waiting()
    try:
        _claim(driver, int(wait_seconds * 1000))
    except sqlite3.OperationalError as error:
        if _locked(error):
            raise StoreBusy(busy_message(wait_seconds)) from None
        raise


def wait_for_writers(
    engine: Engine, *, wait_seconds: float, waiting: Callable[[], None] | None = None
) -> None:
    """Return once no other process holds the store's write lock (see hold_write_lock): for a
    job about to write in short transactions of its own."""
    with engine.connect() as connection:
        hold_write_lock(connection, wait_seconds=wait_seconds, waiting=waiting)
        if connection.dialect.name == "sqlite":
            connection.connection.driver_connection.rollback()  # type: ignore[union-attr]


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
