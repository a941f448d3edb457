"""Reaching the store: database URLs, what a failure to reach it says, and the SQL spelling
details that differ between SQLite and PostgreSQL.

Any SQLAlchemy URL works as written, percent-encoded parts included (a socket folder in
`?host=%2Fvar%2Frun%2Fpostgresql`, a password with `%`, `@` or `:`). The password never
appears in anything solwatch prints, and neither does a row of data: a driver's message is cut
to its first line, which names the fault, not the values involved.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import ColumnElement
from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import ArgumentError, DBAPIError, SQLAlchemyError


def database_url(url: str) -> URL:
    """`url` parsed; a PostgreSQL URL without a driver gets psycopg (3), the one solwatch
    installs, and the `postgres://` spelling of other tools is accepted."""
    parsed = make_url(url)
    if parsed.drivername in ("postgresql", "postgres"):
        parsed = parsed.set(drivername="postgresql+psycopg")
    return parsed


def safe_url(url: str | URL) -> str:
    """The URL as solwatch prints it: the password masked; an unreadable URL is not echoed."""
    try:
        parsed = url if isinstance(url, URL) else make_url(url)
    except (ArgumentError, ValueError):
        return "(unreadable database URL)"
    return parsed.render_as_string(hide_password=True)


def describe_store(url: URL) -> str:
    """Which store `url` names, for a person: the database and where it lives."""
    if url.get_backend_name() == "sqlite":
        return f"SQLite database {url.database or ':memory:'}"
    host = url.host or _query(url, "host") or "the local socket"
    port = url.port or _query(url, "port")
    where = f"{host}:{port}" if port else host
    return f"{url.get_backend_name()} database {url.database or '(default)'!r} on {where}"


def _query(url: URL, key: str) -> str | None:
    value = url.query.get(key)
    if isinstance(value, tuple):
        value = value[0] if value else None
    return value


def reason(error: BaseException, url: URL | None = None) -> str:
    """The driver's reason for `error` in one line, with no SQL, no parameters (data) and no
    password."""
    cause: BaseException = error
    if isinstance(error, DBAPIError) and error.orig is not None:
        cause = error.orig
    lines = [line.strip() for line in str(cause).splitlines() if line.strip()]
    text = lines[0] if lines else type(cause).__name__
    # psycopg: 'connection failed: connection to server at "h", port 5432 failed: FATAL:  why'
    if " failed: " in text:
        text = text.rsplit(" failed: ", 1)[1]
    text = text.removeprefix("FATAL:").strip()
    if isinstance(error, SQLAlchemyError) and text.startswith("(") and ") " in text:
        text = text.split(") ", 1)[1]  # SQLAlchemy's "(driver.Error) " prefix
    if url is not None and url.password:
        text = text.replace(str(url.password), "***")
    return " ".join(text.split())


def store_failure(error: BaseException, url: str) -> str:
    """One line for a person: which store could not be used, and why."""
    try:
        parsed = database_url(url)
    except (ArgumentError, ValueError):
        return "cannot use the database: its URL is not a valid SQLAlchemy URL"
    return f"cannot use the {describe_store(parsed)}: {reason(error, parsed)}"


def binary_order(column: Any, dialect: str) -> ColumnElement[Any]:
    """`column` compared byte by byte, so that an ORDER BY on text is the same on every store
    and under every server locale (SQLite's default collation is already binary)."""
    element: ColumnElement[Any] = column
    return element.collate("C") if dialect == "postgresql" else element
