"""Reaching the store: database URLs, what a failure to reach it says, and the SQL spelling
details that differ between SQLite and PostgreSQL.

Any SQLAlchemy URL works as written, percent-encoded parts included (a socket folder in
`?host=%2Fvar%2Frun%2Fpostgresql`, a password with `%`, `@` or `:`). The password never
appears in anything solwatch prints, nor does a secret-looking query value (`?sslpassword=`,
`?token=`), and neither does a row of data: a driver's message is cut to its first line, which
names the fault, not the values involved.
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from sqlalchemy import ColumnElement
from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import ArgumentError, DBAPIError, NoSuchModuleError, SQLAlchemyError


def database_url(url: str) -> URL:
    """`url` parsed; a PostgreSQL URL without a driver gets psycopg (3), the one solwatch
    installs, and the `postgres://` spelling of other tools is accepted."""
    parsed = make_url(url)
    if parsed.drivername in ("postgresql", "postgres"):
        parsed = parsed.set(drivername="postgresql+psycopg")
    return parsed


def check_database_url(url: str) -> str | None:
    """Why `url` cannot name a store (unreadable, an unknown kind of database, a driver that
    is not installed), or None. The reason never repeats the URL: it may hold a password."""
    try:
        parsed = database_url(url)
    except (ArgumentError, ValueError):
        return "not a database URL (expected e.g. sqlite:///solwatch.db)"
    try:
        dialect = parsed.get_dialect()
    except NoSuchModuleError:
        return f"unknown kind of database {parsed.drivername!r}"
    try:
        dialect.import_dbapi()
    except ImportError as error:
        postgres = parsed.get_backend_name() == "postgresql"
        hint = " (pip install 'solwatch[postgres]')" if postgres else ""
        return f"the {parsed.drivername} driver ({error.name}) is not installed{hint}"
    return None


# Query parameters whose values are secrets, whatever the driver calls them.
_SECRET_KEYS = re.compile(r"pass|pwd|secret|token|key|auth|credential", re.IGNORECASE)


def safe_url(url: str | URL) -> str:
    """The URL as solwatch prints it: the password and any secret-looking query value masked;
    an unreadable URL is not echoed."""
    try:
        parsed = url if isinstance(url, URL) else make_url(url)
    except (ArgumentError, ValueError):
        return "(unreadable database URL)"
    mask = "solwatch-masked-secret"
    query = {k: mask if _SECRET_KEYS.search(k) else v for k, v in parsed.query.items()}
    return parsed.set(query=query).render_as_string(hide_password=True).replace(mask, "***")


def url_secrets(url: str | URL) -> list[str]:
    """The secrets in `url` (its password, secret-looking query values), to keep out of
    anything printed: each as written in the URL (percent-encoded) and as the driver sees it
    (decoded); of a URL that cannot be read, whatever stands between the scheme and an @."""
    text = url if isinstance(url, str) else url.render_as_string(hide_password=False)
    found: list[str] = []
    try:
        parts = urlsplit(text)
        found += [parts.password] if parts.password else []
        found += [value for key, value in parse_qsl(parts.query) if _SECRET_KEYS.search(key)]
    except ValueError:
        found += re.findall(r"(?<=://)[^@/]+(?=@)", text)
    try:
        parsed = url if isinstance(url, URL) else make_url(url)
    except (ArgumentError, ValueError):
        parsed = None
    if parsed is not None:
        found += [str(parsed.password)] if parsed.password else []
        for key, value in parsed.query.items():
            if _SECRET_KEYS.search(key):
                found += [value] if isinstance(value, str) else list(value)
    return list(dict.fromkeys(secret for secret in found if secret))


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


# What a store failure means, for a person: the driver's words matched to what to do.
_FAILURES = (
    ("database is locked", "the store is busy: another process kept it locked for 30 seconds"),
    ("readonly database", "the store is read-only here: solwatch cannot write to it"),
    ("disk is full", "the disk holding the store is full"),
    ("disk image is malformed", "the store's file is damaged; restore it from a backup"),
    ("file is not a database", "the store's file is not an SQLite database (damaged?)"),
    ("disk I/O error", "the disk holding the store failed a read or a write (is it full?)"),
)


def reason(error: BaseException, url: URL | None = None) -> str:
    """The driver's reason for `error` in one line, with no SQL, no parameters (data) and no
    secret; what it means first where solwatch knows. With the store's `url`, a SQLite file
    that cannot be opened says why: no such folder, or a read-only file system."""
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
    if url is not None:
        for secret in sorted(url_secrets(url), key=len, reverse=True):
            text = text.replace(secret, "***")
    text = " ".join(text.split())
    if "unable to open database file" in text and url is not None:
        return f"{_unopenable(url)} ({text})"
    for words, meaning in _FAILURES:
        if words in text:
            return f"{meaning} ({text})"
    return text


def _unopenable(url: URL) -> str:
    """Why SQLite could not open the file of `url`, as far as the file system tells."""
    if url.get_backend_name() != "sqlite" or not url.database:
        return "cannot open the store"
    folder = Path(url.database).absolute().parent
    if not folder.is_dir():
        return f"there is no folder {folder} for the store's file"
    if os.statvfs(folder).f_flag & os.ST_RDONLY:
        return f"the store's folder {folder} is on a read-only file system"
    return "cannot open the store's file (check its folder's permissions)"


def store_failure(error: BaseException, url: str, doing: str = "cannot use") -> str:
    """One line for a person: which store could not be used (or opened: `doing`), and why."""
    try:
        parsed = database_url(url)
    except (ArgumentError, ValueError):
        return f"{doing} the database: its URL is not a valid SQLAlchemy URL"
    return f"{doing} the {describe_store(parsed)}: {reason(error, parsed)}"


def binary_order(column: Any, dialect: str) -> ColumnElement[Any]:
    """`column` compared byte by byte, so that an ORDER BY on text is the same on every store
    and under every server locale (SQLite's default collation is already binary)."""
    element: ColumnElement[Any] = column
    return element.collate("C") if dialect == "postgresql" else element
