"""`solwatch serve`: schedule, catch-up after downtime, one scheduler per database."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest
from freezegun import freeze_time
from sqlalchemy import Engine

from solwatch.notify.scheduler import (
    SchedulerBusy,
    acquire,
    daily_trigger,
    heartbeat,
    owed_day,
    release,
)
from solwatch.store.schema import upgrade
from tests.conftest import Cli, opened

SMALL = Path(__file__).parent.parent / "data" / "small"
NY = "America/New_York"


@pytest.mark.parametrize(
    ("instant", "done", "owed"),
    [
        pytest.param("2026-11-24 10:59:59", set(), None, id="before-six-new-york-winter"),
        pytest.param("2026-11-24 11:00:00", set(), date(2026, 11, 24), id="six-new-york"),
        pytest.param("2026-11-24 23:00:00", {date(2026, 11, 24)}, None, id="already-ran"),
        pytest.param(
            "2026-11-25 04:59:00", set(), date(2026, 11, 24), id="utc-next-day-is-local-evening"
        ),
        pytest.param("2026-03-08 09:59:00", set(), None, id="dst-day-before-six-edt"),
        pytest.param("2026-03-08 10:00:00", set(), date(2026, 3, 8), id="dst-day-six-edt"),
        pytest.param("2026-11-01 10:30:00", set(), None, id="fall-back-day-before-six-est"),
        pytest.param("2026-11-01 11:00:00", set(), date(2026, 11, 1), id="fall-back-day-six-est"),
    ],
)
def test_it_knows_when_todays_run_is_owed(instant: str, done: set[date], owed: date | None) -> None:
    """After downtime, the run for today is owed once 06:00 local has passed."""
    with freeze_time(instant, tz_offset=0):
        assert owed_day(datetime.now(UTC), "06:00", NY, done) == owed


def test_the_trigger_follows_local_time_across_daylight_saving() -> None:
    """06:00 New York is 11:00 UTC in winter and 10:00 UTC from the spring-forward day."""
    trigger = daily_trigger("06:00", NY)
    fires = []
    moment = datetime(2026, 3, 6, 12, 0, tzinfo=UTC)
    for _ in range(3):
        moment = trigger.get_next_fire_time(None, moment)
        fires.append(moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M"))
        moment += timedelta(minutes=1)
    assert fires == ["2026-03-07 11:00", "2026-03-08 10:00", "2026-03-09 10:00"]


def test_one_scheduler_per_database(database_url: str) -> None:
    """A second holder is refused; a dead holder's stale lock is taken over."""
    with opened(database_url) as engine:
        _lock_cycle(engine)


def _lock_cycle(engine: Engine) -> None:
    upgrade(engine)
    start = datetime(2026, 11, 24, 12, 0, tzinfo=UTC)
    acquire(engine, "first", start)
    with pytest.raises(SchedulerBusy, match="first, last seen 2026-11-24 12:00:00"):
        acquire(engine, "second", start + timedelta(seconds=90))
    assert heartbeat(engine, "first", start + timedelta(seconds=60))
    acquire(engine, "second", start + timedelta(minutes=3, seconds=1))
    assert not heartbeat(engine, "first", start + timedelta(minutes=4))
    release(engine, "second")
    acquire(engine, "third", start + timedelta(minutes=5))


@pytest.mark.integration
def test_serve_catches_up_refuses_a_twin_and_stops_on_sigterm(
    tmp_path: Path, database_url: str
) -> None:
    """A started scheduler runs the owed day at once; a second one exits 2; SIGTERM stops it."""
    cli = Cli(tmp_path, database_url)
    cli.config.write_text(
        cli.config.read_text() + '[schedule]\ntimezone = "UTC"\ndaily_at = "00:00"\n'
        f'[mail]\noutbox_dir = "{tmp_path / "outbox"}"\n'
    )
    cli("init")
    cli("import", str(SMALL))
    command = [str(Path(sys.executable).parent / "solwatch"), "--config", str(cli.config), "serve"]
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    first = subprocess.Popen(command, stderr=subprocess.PIPE, text=True, env=env)
    try:
        deadline = time.monotonic() + 30
        while not list((tmp_path / "outbox").glob("*.eml")) and time.monotonic() < deadline:
            time.sleep(0.2)
        assert list((tmp_path / "outbox").glob("*.eml")), "the owed run did not happen"
        second = subprocess.run(command, capture_output=True, text=True, timeout=30, env=env)
        assert second.returncode == 2
        assert "another solwatch serve is running on this database" in second.stderr
    finally:
        first.send_signal(signal.SIGTERM)
        _, errors = first.communicate(timeout=30)
    assert first.returncode == 0, errors
    assert "today's daily run is owed" in errors
    assert "SIGTERM: stopping after the current run" in errors
    with opened(database_url) as engine:
        acquire(engine, "after", datetime.now(UTC))
