"""A store held by another import, with real processes on a real SQLite file (its write lock)
and on a real PostgreSQL server (the import lock): the second import and the daily job wait,
saying so, up to `[database] lock_wait_seconds`, then give up in one line; never "database is
locked" after 30 seconds."""

from __future__ import annotations

import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from solwatch.store.locks import IMPORT_LOCK
from tests.conftest import Cli

SMALL = Path(__file__).parent.parent / "data" / "small"
SOLWATCH = Path(sys.executable).parent / "solwatch"
# An import's transaction as the store sees it: its first write, held open.
HOLDER = """
import sys, time
url, seconds, key = sys.argv[1], float(sys.argv[2]), int(sys.argv[3])
if url.startswith("sqlite:///"):
    import sqlite3
    connection = sqlite3.connect(url.removeprefix("sqlite:///"), timeout=0)
    connection.execute("BEGIN IMMEDIATE")
    connection.execute(
        "INSERT INTO import_runs (started_at, as_of, files, summary) "
        "VALUES ('2026-11-24 00:00:00', '2026-11-24', '[]', '')"
    )
else:
    import psycopg
    connection = psycopg.connect(url.replace("postgresql+psycopg://", "postgresql://", 1))
    connection.execute("SELECT pg_advisory_xact_lock(%s)", (key,))
print("holding", flush=True)
time.sleep(seconds)
connection.rollback()
"""

pytestmark = pytest.mark.integration


@pytest.fixture
def store(cli: Cli) -> Cli:
    cli("import", str(SMALL), "--as-of", "2026-11-24")
    return cli


def _configure(cli: Cli, wait: float) -> None:
    cli.config.write_text(
        cli.config.read_text().replace("[database]\n", f"[database]\nlock_wait_seconds = {wait}\n")
    )


@pytest.fixture
def holder(store: Cli) -> Iterator[Callable[[float], subprocess.Popen[str]]]:
    """Start a process that holds the store's import lock for `seconds`, as an import would."""
    started: list[subprocess.Popen[str]] = []

    def hold(seconds: float) -> subprocess.Popen[str]:
        process = subprocess.Popen(
            [sys.executable, "-c", HOLDER, store.url, str(seconds), str(IMPORT_LOCK)],
            stdout=subprocess.PIPE,
            text=True,
        )
        assert process.stdout is not None
        assert process.stdout.readline() == "holding\n"
        started.append(process)
        return process

    yield hold
    for process in started:
        process.kill()
        process.wait()
        assert process.stdout is not None
        process.stdout.close()


def _solwatch(cli: Cli, *args: str) -> tuple[subprocess.CompletedProcess[str], float]:
    start = time.monotonic()
    result = subprocess.run(
        [str(SOLWATCH), "--config", str(cli.config), *args],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        cwd=cli.folder,
    )
    return result, time.monotonic() - start


WAITING = (
    "solwatch: another import is writing to the store: waiting up to 30 seconds for it to finish"
)


def test_a_second_import_waits_for_the_first_saying_so(
    store: Cli, holder: Callable[[float], subprocess.Popen[str]]
) -> None:
    """While another import holds the store, `import` says it waits, then imports."""
    _configure(store, 30)
    holder(2)
    result, elapsed = _solwatch(store, "import", str(SMALL / "cases.csv"), "--as-of", "2026-11-24")
    assert result.returncode == 0, result.stderr
    assert result.stderr.splitlines() == [WAITING]
    assert "5 unchanged" in result.stdout
    assert elapsed >= 1.5


def test_a_second_import_gives_up_after_the_wait_in_one_line(
    store: Cli, holder: Callable[[float], subprocess.Popen[str]]
) -> None:
    """An import that outlasts `lock_wait_seconds` makes the next one give up: one line,
    exit 2, nothing imported."""
    _configure(store, 1)
    holder(60)
    result, elapsed = _solwatch(store, "import", str(SMALL / "cases.csv"), "--as-of", "2026-11-24")
    assert result.returncode == 2
    assert result.stderr.splitlines() == [
        "solwatch: another import is writing to the store: waiting up to 1 second for it to finish",
        "solwatch: nothing was imported: another import kept the store busy for over 1 second "
        "([database] lock_wait_seconds); try again when it has finished",
    ]
    assert elapsed < 20


def test_run_daily_during_an_import_waits_and_then_sends(
    store: Cli, holder: Callable[[float], subprocess.Popen[str]]
) -> None:
    """`run-daily` during an import waits for it, saying so, and then records and sends."""
    _configure(store, 30)
    holder(2)
    result, _ = _solwatch(store, "run-daily", "--as-of", "2026-11-24")
    assert result.returncode == 0, result.stderr
    assert result.stderr.splitlines() == [WAITING]
    assert "failed: 0" in result.stdout
    assert "sent: 0" not in result.stdout


def test_run_daily_gives_up_on_a_long_import_in_one_line(
    store: Cli, holder: Callable[[float], subprocess.Popen[str]]
) -> None:
    """`run-daily` behind an import longer than the wait records and sends nothing and says
    why, exit 2, so cron's next run (or `serve`) does the day."""
    _configure(store, 1)
    holder(60)
    result, elapsed = _solwatch(store, "run-daily", "--as-of", "2026-11-24")
    assert result.returncode == 2
    assert result.stderr.splitlines()[-1] == (
        "solwatch: nothing was recorded or sent: another import kept the store busy for over "
        "1 second ([database] lock_wait_seconds); try again when it has finished"
    )
    assert elapsed < 20
