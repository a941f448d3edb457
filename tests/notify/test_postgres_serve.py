"""`solwatch serve` on PostgreSQL, with real processes: a standby takes over from a killed
active scheduler and delivers the day's digests once; a scheduler survives a server restart."""

from __future__ import annotations

import os
import signal
import subprocess
import threading
import time
from collections import Counter
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from sqlmodel import Session

from solwatch.notify.ledger import JobRun
from tests.conftest import SOLWATCH, Cli, fresh_database_url, opened
from tests.notify.test_mail import SMALL, Inbox, configure, inbox  # noqa: F401  (the SMTP server)
from tests.postgres_server import PostgresServer, create_database

pytestmark = pytest.mark.integration


class Running:
    """A `solwatch serve` process whose standard error is read as it comes."""

    def __init__(self, config: Path, *args: str) -> None:
        self.process = subprocess.Popen(
            [SOLWATCH, "--config", str(config), "serve", *args],
            stderr=subprocess.PIPE,
            text=True,
            env={**os.environ, "PYTHONUNBUFFERED": "1"},
        )
        self.lines: list[str] = []
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        assert self.process.stderr is not None
        for line in self.process.stderr:
            self.lines.append(line.rstrip("\n"))

    def wait_for(self, text: str, timeout: float = 30) -> float:
        """Seconds until a line containing `text` appeared."""
        start = time.monotonic()
        while time.monotonic() - start < timeout:
            if any(text in line for line in self.lines):
                return time.monotonic() - start
            if self.process.poll() is not None and not self._reader.is_alive():
                break
            time.sleep(0.1)
        raise AssertionError(f"no {text!r} in {self.lines}")

    def stop(self) -> int:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
        code = self.process.wait(timeout=60)
        self._reader.join(timeout=10)
        if self.process.stderr is not None:
            self.process.stderr.close()
        return code


def _morning_zone(now: datetime) -> str:
    """A fixed-offset time zone where it is now about 06:00, so that a 23:00 run is not yet
    due and a 00:00 run is."""
    offset = (6 - now.hour + 12) % 24 - 12
    return "Etc/GMT" if offset == 0 else f"Etc/GMT{'-' if offset > 0 else '+'}{abs(offset)}"


def _config(cli: Cli, name: str, daily_at: str, zone: str, extra: str = "") -> Path:
    path = cli.folder / name
    path.write_text(
        cli.config.read_text()
        + f'[schedule]\ntimezone = "{zone}"\ndaily_at = "{daily_at}"\n'
        + extra
    )
    return path


def _last_months_package_sent(cli: Cli, zone: str) -> None:
    """Record last month's CEAR package (in `zone`) as sent, so that no scheduler owes it and
    the day's digests are the only mail."""
    now = datetime.now(UTC)
    first = now.astimezone(ZoneInfo(zone)).date().replace(day=1)
    previous = (first - timedelta(days=1)).replace(day=1)
    with opened(cli.url) as engine, Session(engine) as session:
        session.add(JobRun(job="monthly", day=previous, started_at=now, finished_at=now))
        session.commit()


@pytest.fixture
def pg_cli(tmp_path: Path, request: pytest.FixtureRequest) -> Iterator[Cli]:
    for url in fresh_database_url("postgresql", tmp_path, request):
        cli = Cli(tmp_path, url)
        cli("init")
        cli("import", str(SMALL))
        yield cli


def test_a_standby_takes_over_from_a_killed_scheduler_and_sends_once(
    pg_cli: Cli,
    inbox: tuple[Inbox, int],  # noqa: F811
) -> None:
    """kill -9 of the active `serve`: the standby takes the lock within a minute, catches up
    the day's run and delivers every digest exactly once; the restarted one is refused."""
    handler, port = inbox
    configure(pg_cli, port)
    zone = _morning_zone(datetime.now(UTC))
    # The active one's run is not due until 23:00; the standby's (00:00) is owed at once.
    # Last month's package is not owed (on most days of a month it would be, to both).
    _last_months_package_sent(pg_cli, zone)
    active_config = _config(pg_cli, "active.toml", "23:00", zone)
    standby_config = _config(pg_cli, "standby.toml", "00:00", zone)
    active = Running(active_config)
    standby: Running | None = None
    try:
        active.wait_for("daily run at 23:00")
        standby = Running(standby_config, "--standby")
        standby.wait_for("standby: another solwatch serve is running on this database")
        time.sleep(1)
        assert handler.messages == []
        os.kill(active.process.pid, signal.SIGKILL)
        active.process.wait(timeout=10)
        assert standby.wait_for("this one takes over", timeout=60) < 60
        standby.wait_for("today's daily run is owed")
        standby.wait_for("run-finished: daily run for", timeout=60)
        refused = subprocess.run(
            [SOLWATCH, "--config", str(active_config), "serve"],
            capture_output=True,
            text=True,
            timeout=30,
        )
        assert refused.returncode == 2
        assert "another solwatch serve is running on this database" in refused.stderr
    finally:
        if active.process.poll() is None:
            active.process.kill()
        active.stop()
        code = standby.stop() if standby else None
    assert code == 0, standby.lines if standby else None
    # One message per notice: the day's digests, each delivered once.
    deliveries = Counter(
        (str(message["Message-ID"]), address)
        for rcpt, message in handler.messages
        for address in rcpt
    )
    [(recorded,)] = pg_cli.rows("select count(*) from notices")
    assert recorded > 0
    assert pg_cli.rows("select distinct state from notices") == [("sent",)]
    assert len(deliveries) == recorded
    assert set(deliveries.values()) == {1}


def test_serve_survives_a_postgresql_restart(tmp_path: Path) -> None:
    """The server restarts under a running `serve`: it logs the lost connection, reconnects,
    holds the lock again and runs its next daily job, with no traceback."""
    now = datetime.now(UTC)
    due = (now + timedelta(seconds=80)).replace(second=0, microsecond=0)
    if due.date() != now.date():
        pytest.skip("too close to midnight UTC for a run later today")
    server = PostgresServer()  # its own server: the restart must not disturb other tests
    try:
        create_database(server, "restarted")
        cli = Cli(tmp_path, server.url("restarted"))
        cli("init")
        cli("import", str(SMALL))
        outbox = tmp_path / "outbox"
        config = _config(
            cli, "serve.toml", due.strftime("%H:%M"), "UTC", f'[mail]\noutbox_dir = "{outbox}"\n'
        )
        running = Running(config)
        try:
            running.wait_for("started: solwatch serve on")
            server.stop()
            time.sleep(2)
            server.start()
            running.wait_for("lost the connection to the database")
            running.wait_for("reconnected to the database: this scheduler holds the lock again")
            running.wait_for("run-finished: daily run for", timeout=120)
            assert list(outbox.glob("*.eml"))
        finally:
            code = running.stop()
        assert code == 0, running.lines
        assert not any("Traceback" in line for line in running.lines), running.lines
    finally:
        server.cleanup()
