"""What `serve` and the jobs say about themselves: one line per event, as text or JSON, with
every secret masked, and errors described in one line.

An event is a name (`run-started`, `run-finished`, `run-failed`, `sent`, `send-failed`,
`retried`, `lock`, `catch-up`, ...), a message for people, and a few fields for machines.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Mapping
from datetime import UTC, datetime
from typing import Any, TextIO

MASK = "***"


def describe(error: BaseException) -> str:
    """An error in one line: a database error as its driver states it, without the statement
    and parameters SQLAlchemy adds; an operating-system error as it states itself; anything
    else as its type and message."""
    from sqlalchemy.exc import DBAPIError

    if isinstance(error, DBAPIError) and error.orig is not None:
        error = error.orig
        return " ".join(str(error).split()) or type(error).__name__
    text = " ".join(str(error).split())
    if isinstance(error, OSError) and text:
        return text
    return f"{type(error).__name__}: {text}" if text else type(error).__name__


def masked_url(url: str) -> str:
    """`url` with its password and secret query parameters shown as ***."""
    from solwatch.store.connection import url_secrets

    return Redactor(url_secrets(url))(url)


class Redactor:
    """Masks known secrets (an SMTP password, a database URL's password) in any text."""

    def __init__(self, secrets: Iterable[str | None]) -> None:
        # Longest first, so a secret that contains another is masked whole.
        self.secrets = sorted({s for s in secrets if s}, key=len, reverse=True)

    def __call__(self, text: str) -> str:
        for secret in self.secrets:
            text = text.replace(secret, MASK)
        return text


def redact_values(value: Any, redact: Callable[[str], str]) -> Any:
    """Every string in a JSON-like value redacted, before it is dumped: once dumped, a secret
    with a quote or a backslash in it would no longer match itself."""
    if isinstance(value, str):
        return redact(value)
    if isinstance(value, Mapping):
        return {key: redact_values(item, redact) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [redact_values(item, redact) for item in value]
    return value


def _utc(when: datetime) -> str:
    return when.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


class EventLog:
    """Writes one line per event to `stream` (standard error for `serve`): text, or one JSON
    object per line (`json`), always with a UTC timestamp, always through the redactor."""

    def __init__(
        self,
        stream: TextIO,
        *,
        json_lines: bool = False,
        redact: Callable[[str], str] = lambda text: text,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self.stream = stream
        self.json_lines = json_lines
        self.redact = redact
        self.clock = clock

    def __call__(self, event: str, message: str, **fields: Any) -> None:
        when = _utc(self.clock())
        if self.json_lines:
            record = {"time": when, "event": event, "message": message, **fields}
            line = json.dumps(redact_values(record, self.redact), default=str, ensure_ascii=False)
        else:
            line = self.redact(f"{when} {event}: {message}")
        self.stream.write(line + "\n")
        self.stream.flush()
