"""`solwatch serve` as a real process: it retries a run that failed on a locked store, logs one
line per event (text or JSON, with timestamps), and never logs a secret."""

from __future__ import annotations

import json
import os
import queue
import signal
import sqlite3
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult

from tests.conftest import Cli
from tests.notify.test_mail import SMALL, Inbox, free_port

pytestmark = pytest.mark.integration
SECRET = "pa55-w0rd-that-never-shows"


class Serve:
    """A running `solwatch serve` whose standard error is read line by line."""

    def __init__(self, cli: Cli, *args: str, env: dict[str, str] | None = None) -> None:
        script = Path(sys.executable).parent / "solwatch"
        self.process = subprocess.Popen(
            [str(script), "--config", str(cli.config), "serve", *args],
            stderr=subprocess.PIPE,
            text=True,
            env={**os.environ, "PYTHONUNBUFFERED": "1", **(env or {})},
        )
        self.lines: list[str] = []
        self._queue: queue.Queue[str] = queue.Queue()
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        assert self.process.stderr is not None
        for line in self.process.stderr:
            self._queue.put(line.rstrip("\n"))

    def wait_for(self, found: Callable[[str], bool], timeout: float = 60) -> str:
        """The first line (from now on) for which `found` holds; fail after `timeout` s."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                line = self._queue.get(timeout=0.2)
            except queue.Empty:
                continue
            self.lines.append(line)
            if found(line):
                return line
        raise AssertionError("not logged in time; so far:\n" + "\n".join(self.lines))

    def stop(self) -> int:
        self.process.send_signal(signal.SIGTERM)
        code = self.process.wait(timeout=60)
        self._reader.join(timeout=10)
        assert self.process.stderr is not None
        self.process.stderr.close()
        while not self._queue.empty():
            self.lines.append(self._queue.get())
        return code


def events(lines: list[str]) -> list[dict[str, Any]]:
    return [json.loads(line) for line in lines]


def daily_event(name: str, job: str = "daily") -> Callable[[str], bool]:
    def found(line: str) -> bool:
        event = json.loads(line)
        return bool(event["event"] == name and event.get("job") == job)

    return found


def configure(cli: Cli, tmp_path: Path, mail: str = "") -> None:
    cli.config.write_text(
        cli.config.read_text()
        + '[schedule]\ntimezone = "UTC"\ndaily_at = "00:00"\nretry_minutes = 0.05\n'
        + f'[cear]\nfolder = "{tmp_path / "cear"}"\nxlsx = false\n'
        + (mail or f'[mail]\noutbox_dir = "{tmp_path / "outbox"}"\n')
    )
    cli("init")
    cli("import", str(SMALL))


@contextmanager
def write_locked(database: Path) -> Iterator[sqlite3.Connection]:
    """Hold the store's write lock, as a long import does, until the block ends."""
    connection = sqlite3.connect(database, isolation_level=None, timeout=30)
    try:
        connection.execute("BEGIN IMMEDIATE")
        yield connection
    finally:
        connection.execute("ROLLBACK")
        connection.close()


def test_serve_retries_a_run_that_failed_on_a_locked_store(tmp_path: Path) -> None:
    """Today's run is owed while an import holds the store: the run fails with "database is
    locked", is logged, and is tried again within the retry interval until it completes."""
    cli = Cli(tmp_path)
    configure(cli, tmp_path)
    database = tmp_path / "cases.db"
    cli("run-daily")  # today is done, and last month's package: serve starts owing nothing
    cli("run-monthly")
    (outbox := tmp_path / "outbox").mkdir(exist_ok=True)
    for message in outbox.iterdir():
        message.unlink()
    serve = Serve(cli, "--log-format", "json")
    try:
        serve.wait_for(lambda line: json.loads(line)["event"] == "started")
        with write_locked(database) as store:
            # The day's run is undone and the store stays locked, as if an import had begun
            # just before daily_at: the next tick owes the run and cannot write.
            store.execute("DELETE FROM job_runs")
            store.execute("DELETE FROM notice_items")
            store.execute("DELETE FROM notices")
            store.execute("COMMIT")
            store.execute("BEGIN IMMEDIATE")
            failed = json.loads(serve.wait_for(daily_event("run-failed"), 90))
            assert failed["error"] == "database is locked"
            assert failed["job"] == "daily"
            assert "trying again in 0.05 minutes" in failed["message"]
        finished = json.loads(serve.wait_for(daily_event("run-finished"), 60))
        assert finished["job"] == "daily"
        assert finished["failed"] == 0
        assert finished["undelivered"] == 0
    finally:
        assert serve.stop() == 0
    assert list(outbox.glob("*.eml"))
    with sqlite3.connect(database) as connection:
        runs = connection.execute(
            "SELECT day, finished_at IS NOT NULL FROM job_runs WHERE job = 'daily'"
        ).fetchall()
    assert runs == [(datetime.now(UTC).date().isoformat(), 1)]
    logged = events(serve.lines)
    started = [e for e in logged if e["event"] == "run-started" and e["job"] == "daily"]
    assert "after a failure" in started[-1]["message"]
    assert all(e["time"].endswith("Z") for e in logged)
    assert [e["event"] for e in logged][-1] == "stopped"


def test_serve_logs_each_event_and_no_secret(tmp_path: Path) -> None:
    """Text lines with UTC timestamps for the catch-up, the run, each send that failed and
    the stop; the SMTP password, even echoed back by the server, appears nowhere."""

    class Echoing:
        """A server that refuses every login and, carelessly, repeats the password."""

        def __call__(
            self, server: Any, session: Any, envelope: Any, mechanism: str, data: Any
        ) -> AuthResult:
            password = data.password.decode() if isinstance(data.password, bytes) else data.password
            return AuthResult(success=False, handled=False, message=f"535 bad password {password}")

    port = free_port()
    controller = Controller(
        Inbox(),
        hostname="127.0.0.1",
        port=port,
        authenticator=Echoing(),
        auth_require_tls=False,
    )
    controller.start()
    try:
        cli = Cli(tmp_path)
        configure(
            cli,
            tmp_path,
            f'[mail]\ntransport = "smtp"\n[mail.smtp]\nhost = "127.0.0.1"\nport = {port}\n'
            'security = "none"\nusername = "solwatch"\npassword_env = "SOLWATCH_TEST_SMTP"\n',
        )
        serve = Serve(cli, env={"SOLWATCH_TEST_SMTP": SECRET})
        try:
            serve.wait_for(lambda line: "run-finished: daily run" in line, 60)
        finally:
            assert serve.stop() == 0
    finally:
        controller.stop()
    text = "\n".join(serve.lines)
    assert SECRET not in text
    for line in serve.lines:
        stamp, event = line.split(" ", 2)[:2]
        assert datetime.fromisoformat(stamp).tzinfo == UTC
        assert event.endswith(":")
    named = [line.split(" ", 2)[1] for line in serve.lines]
    for event in (
        "lock:",
        "started:",
        "catch-up:",
        "run-started:",
        "send-failed:",
        "sending-stopped:",
        "run-finished:",
        "stopped:",
    ):
        assert event in named
    assert "refused the login: 535 bad password ***" in text
    with sqlite3.connect(tmp_path / "cases.db") as connection:
        errors = [row[0] or "" for row in connection.execute("SELECT last_error FROM notices")]
    assert errors
    assert all(SECRET not in error for error in errors)


def test_status_sees_a_running_serve_and_one_that_died(tmp_path: Path) -> None:
    """While serve runs, status --expect-serve is healthy and names it; killed without a
    chance to release its lock, it is reported stale (exit 3) once its heartbeat is over two
    minutes old (the wait stood in for by dating the heartbeat back)."""
    cli = Cli(tmp_path)
    configure(cli, tmp_path)
    serve = Serve(cli, "--log-format", "json")
    try:
        started = json.loads(serve.wait_for(lambda line: json.loads(line)["event"] == "started"))
        serve.wait_for(daily_event("run-finished"))
        serve.wait_for(daily_event("run-finished", "monthly"))  # cear_day 1: always owed
        healthy = json.loads(cli("status", "--format", "json", "--expect-serve").output)
        assert healthy["scheduler"]["holder"] == started["holder"]
        assert healthy["scheduler"]["running"] is True
    finally:
        serve.process.kill()
        serve.process.wait(timeout=30)
        assert serve.process.stderr is not None
        serve.process.stderr.close()
    with sqlite3.connect(tmp_path / "cases.db") as connection:
        connection.execute(
            "UPDATE scheduler_lock SET heartbeat_at = datetime(heartbeat_at, '-3 minutes')"
        )
    dead = json.loads(cli("status", "--format", "json", code=3).output)
    assert dead["scheduler"]["stale"] is True
    assert dead["scheduler"]["holder"] == started["holder"]
    assert any("has not renewed its heartbeat" in problem for problem in dead["problems"])
