"""How serve and the jobs describe themselves: one line per event, errors in one line, no
secret ever."""

from __future__ import annotations

import io
import json
import sqlite3
from datetime import UTC, datetime

import pytest
from sqlalchemy.exc import OperationalError

from solwatch.notify.events import EventLog, Redactor, describe, masked_url
from solwatch.store.connection import url_secrets


@pytest.mark.parametrize(
    ("url", "masked"),
    [
        pytest.param("sqlite:///solwatch.db", "sqlite:///solwatch.db", id="no-secret"),
        pytest.param(
            "postgresql+psycopg://solwatch:s3cret@db.example.gov/solwatch",
            "postgresql+psycopg://solwatch:***@db.example.gov/solwatch",
            id="password",
        ),
        pytest.param(
            "postgresql://db.example.gov/solwatch?user=sw&password=s3cret&sslmode=require",
            "postgresql://db.example.gov/solwatch?user=sw&password=***&sslmode=require",
            id="password-in-the-query",
        ),
        pytest.param(
            "postgresql://sw:p%40ss@db/sw?sslpassword=k3y",
            "postgresql://sw:***@db/sw?sslpassword=***",
            id="encoded-password-and-key-password",
        ),
    ],
)
def test_a_database_url_is_shown_with_its_secrets_masked(url: str, masked: str) -> None:
    """The password and secret query parameters become ***; the rest stays readable."""
    assert masked_url(url) == masked


@pytest.mark.parametrize(
    ("error", "text"),
    [
        pytest.param(
            OperationalError(
                "INSERT INTO job_runs ...", {"x": 1}, sqlite3.OperationalError("database is locked")
            ),
            "database is locked",
            id="driver-error-without-the-statement",
        ),
        pytest.param(
            OSError(28, "No space left on device"),
            "[Errno 28] No space left on device",
            id="os-error",
        ),
        pytest.param(KeyError("CEE011"), "KeyError: 'CEE011'", id="other-error-named"),
        pytest.param(RuntimeError(), "RuntimeError", id="no-message"),
        pytest.param(ValueError("two\nlines"), "ValueError: two lines", id="one-line"),
    ],
)
def test_an_error_is_described_in_one_line(error: BaseException, text: str) -> None:
    """What a log line or a run's record says about a failure."""
    assert describe(error) == text


def test_an_event_is_one_json_line_with_a_utc_time_and_no_secret() -> None:
    """--log-format json: one object per line; secrets masked in the message and the fields."""
    stream = io.StringIO()
    redact = Redactor(['hun"ter2', *url_secrets("postgresql://u:dbpass@h/d")])
    log = EventLog(
        stream,
        json_lines=True,
        redact=redact,
        clock=lambda: datetime(2026, 11, 24, 11, 0, 5, tzinfo=UTC),
    )
    log("send-failed", 'login refused: bad password hun"ter2', error="dbpass leaked", attempt=2)
    log("run-finished", "daily run finished")
    first, second = (json.loads(line) for line in stream.getvalue().splitlines())
    assert first == {
        "time": "2026-11-24T11:00:05Z",
        "event": "send-failed",
        "message": "login refused: bad password ***",
        "error": "*** leaked",
        "attempt": 2,
    }
    assert second["event"] == "run-finished"


def test_an_event_in_text_is_time_name_and_message() -> None:
    """The default format: `TIME EVENT: message`."""
    stream = io.StringIO()
    log = EventLog(stream, clock=lambda: datetime(2026, 11, 24, 6, 0, tzinfo=UTC))
    log("lock", "scheduler lock taken by host pid 1")
    assert stream.getvalue() == "2026-11-24T06:00:00Z lock: scheduler lock taken by host pid 1\n"
