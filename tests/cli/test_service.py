"""`solwatch status` for monitoring and `solwatch notices` for the audit, on real stores."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import update
from sqlmodel import Session

from solwatch.notify.ledger import SENT, Notice, NoticeItem, SchedulerLock, last_sent
from solwatch.notify.scheduler import AdvisoryLock, store_lock
from solwatch.store.cases import make_engine
from solwatch.store.schema import head_revisions, upgrade
from tests.conftest import Cli, opened
from tests.notify.test_mail import configure, free_port

SMALL = Path(__file__).parent.parent / "data" / "small"
AS_OF = ("--as-of", "2026-11-24")


@pytest.fixture
def small(cli: Cli, tmp_path: Path) -> Cli:
    """The small extract, its digests written to the outbox by one daily run."""
    cli.config.write_text(
        cli.config.read_text() + f'[mail]\noutbox_dir = "{tmp_path / "outbox"}"\n'
    )
    cli("import", str(SMALL), *AS_OF)
    cli("run-daily", *AS_OF)
    return cli


@pytest.fixture
def up_to_date(small: Cli) -> Cli:
    """Today's daily run and last month's package done, as a running scheduler keeps them,
    so nothing is owed whatever the clock says."""
    small("run-daily")
    small("run-monthly")
    return small


def status(cli: Cli, *args: str, code: int = 0) -> dict[str, Any]:
    document: dict[str, Any] = json.loads(
        cli("status", "--format", "json", *args, code=code).output
    )
    return document


def test_status_of_a_healthy_store_shows_each_part(small: Cli) -> None:
    """Exit 0; the schema, the last run with its counts, the next runs, no scheduler (cron is
    fine), nothing owed, and the last import's files and rows."""
    found = status(small)
    assert found["healthy"] is True
    assert found["problems"] == []
    [head] = head_revisions()
    assert found["store"]["schema_revision"] == head
    assert found["store"]["schema_current"] is True
    assert found["store"]["url"].split("/")[-1] == small.url.split("/")[-1]
    daily = found["runs"]["daily"]
    assert (daily["day"], daily["result"], daily["error"]) == ("2026-11-24", "finished", None)
    counts = (daily["digests"], daily["recorded"], daily["sent"], daily["undelivered"])
    assert counts == (5, 6, 6, 0)
    assert found["runs"]["monthly"] is None
    assert set(found["next_runs"]) == {"daily", "monthly"}
    assert found["next_runs"]["daily"]["next_at"].endswith("Z")
    assert found["scheduler"] == {"running": False, "expected": False}
    assert found["notices"]["undelivered"] == 0
    imported = found["last_import"]
    assert imported["as_of"] == "2026-11-24"
    assert [(Path(f["path"]).name, f["rows"]) for f in imported["files"]] == [
        ("cases.csv", 5),
        ("entries.csv", 2),
        ("waivers.csv", 2),
        ("tolling.csv", 1),
        ("events.csv", 1),
    ]
    assert imported["rows"] == 11
    text = small("status").output
    assert text.startswith("solwatch status: healthy\n")
    assert "Last import: " in text
    assert "11 rows" in text


def test_status_exits_3_while_notices_are_undelivered(cli: Cli) -> None:
    """A day whose mail could not be sent is unhealthy, and each notice is listed."""
    cli("import", str(SMALL), *AS_OF)
    configure(cli, free_port())
    cli("run-daily", *AS_OF, code=3)
    found = status(cli, code=3)
    assert found["healthy"] is False
    assert found["problems"] == ["8 notices undelivered (1 failed; days 2026-11-24)"]
    assert (found["notices"]["failed"], found["notices"]["pending"]) == (1, 7)
    assert len(found["notices"]["list"]) == 8
    assert all(n["next_attempt_at"].endswith("Z") for n in found["notices"]["list"])
    assert found["runs"]["daily"]["undelivered"] == 8
    assert "NOT HEALTHY" in cli("status", code=3).output


def _backdate_heartbeat(url: str, minutes: int) -> None:
    with opened(url) as engine, engine.begin() as connection:
        connection.execute(
            update(SchedulerLock).values(
                heartbeat_at=datetime.now(UTC) - timedelta(minutes=minutes)
            )
        )


def test_status_exits_3_on_a_stale_heartbeat(up_to_date: Cli) -> None:
    """A scheduler holding the lock with a fresh heartbeat is healthy; once its heartbeat is
    more than two minutes old (it died without releasing the lock) status exits 3."""
    with opened(up_to_date.url) as engine:
        lock = store_lock(engine, "ops-host pid 4242 (0000)", lambda: datetime.now(UTC))
        assert lock.take()
        try:
            fresh = status(up_to_date, "--expect-serve")
            assert fresh["scheduler"]["running"] is True
            assert fresh["scheduler"]["holder"] == "ops-host pid 4242 (0000)"
            assert 0 <= fresh["scheduler"]["heartbeat_age_seconds"] < 60
            _backdate_heartbeat(up_to_date.url, 3)
            stale = status(up_to_date, code=3)
        finally:
            lock.release()
    assert stale["scheduler"]["stale"] is True
    assert stale["problems"] == [
        "the scheduler (ops-host pid 4242 (0000)) has not renewed its heartbeat for 3 minutes: "
        "it stopped without releasing its lock"
    ]


@pytest.mark.parametrize("backend", ["postgresql"], indirect=True)
def test_status_on_postgresql_reads_the_advisory_lock(up_to_date: Cli) -> None:
    """On PostgreSQL status names the server process holding serve's advisory lock; a lock
    row left behind by a scheduler whose connection ended (the lock went with it) exits 3,
    fresh heartbeat or not."""
    with opened(up_to_date.url) as engine:
        lock = AdvisoryLock(engine, "ops-host pid 4242 (0000)", lambda: datetime.now(UTC))
        assert lock.take()
        try:
            held = status(up_to_date, "--expect-serve")
            assert held["scheduler"]["running"] is True
            assert isinstance(held["scheduler"]["advisory_lock_pid"], int)
            assert "advisory lock held by server process" in up_to_date("status").output
        finally:
            assert lock.connection is not None
            lock.connection.close()  # the lock ends with its connection; the row stays
    gone = status(up_to_date, code=3)
    assert gone["scheduler"]["running"] is False
    assert gone["scheduler"]["advisory_lock_pid"] is None
    assert gone["problems"] == [
        "the scheduler (ops-host pid 4242 (0000)) no longer holds the database's advisory "
        "lock: it stopped without removing its lock row"
    ]


def test_status_expecting_serve_exits_3_when_none_runs(up_to_date: Cli) -> None:
    """With --expect-serve, no scheduler holding the lock is a problem."""
    found = status(up_to_date, "--expect-serve", code=3)
    assert found["problems"] == ["no `solwatch serve` holds the scheduler lock"]


def test_status_of_a_store_not_initialized(tmp_path: Path) -> None:
    """A database without the schema is unhealthy and says to run init."""
    cli = Cli(tmp_path)
    found = status(cli, code=3)
    assert found["store"]["schema_revision"] is None
    assert found["problems"] == [
        "the store is not initialized or its schema is out of date: run `solwatch init`"
    ]


def test_status_never_shows_the_database_password(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A store that cannot be opened is a problem (exit 3), its URL shown with *** for the
    password and a secret query parameter."""
    monkeypatch.setenv(
        "SOLWATCH_DATABASE_URL",
        "postgresql://solwatch:topsecret1@127.0.0.1:9/solwatch?sslpassword=keysecret2",
    )
    cli = Cli(tmp_path)
    for fmt in ("json", "text"):
        result = cli("status", "--format", fmt, code=3)
        assert "topsecret1" not in result.output + result.stderr
        assert "keysecret2" not in result.output + result.stderr
        assert "postgresql://solwatch:***@127.0.0.1:9/solwatch?sslpassword=***" in result.output
        assert "cannot open the store" in result.output


def notices(cli: Cli, *args: str, code: int = 0) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = json.loads(
        cli("notices", "--format", "json", *args, code=code).output
    )
    return found


def test_notices_answer_were_we_told_about_a_case_and_when(small: Cli) -> None:
    """C-5 went to its Center and, having no FP&F mailbox, to the fallback: to whom, when, and
    what else each message carried."""
    found = notices(small, "--case", "C-5")
    assert [(n["audience"], n["address"], n["state"], n["day"]) for n in found] == [
        ("CEE004", "CEE-Apparel@cbp.dhs.gov", SENT, "2026-11-24"),
        ("fallback", "solwatch-unrouted@localhost", SENT, "2026-11-24"),
    ]
    apparel, fallback = found
    assert apparel["cases"] == ["C-5"]
    assert "C-5" in fallback["cases"]
    assert apparel["sent_at"].endswith("Z")
    assert apparel["subject"].startswith("CEE004 Apparel, Footwear & Textiles: 1 expired")
    assert apparel["next_attempt_at"] is None
    assert notices(small, "--case", "C-404") == []


@pytest.mark.parametrize(
    ("options", "addresses"),
    [
        pytest.param((), 6, id="everything"),
        pytest.param(("--date", "2026-11-24"), 6, id="that-day"),
        pytest.param(("--date", "2026-11-25"), 0, id="another-day"),
        pytest.param(("--from", "2026-11-20", "--to", "2026-11-24"), 6, id="range"),
        pytest.param(("--from", "2026-11-25"), 0, id="from-after"),
        pytest.param(("--to", "fpf-la@example.gov"), 1, id="to-an-address"),
        pytest.param(("--to", "FPF-LA@example.gov", "--to", "2026-11-23"), 0, id="address-and-day"),
        pytest.param(("--state", "sent"), 6, id="sent"),
        pytest.param(("--state", "failed"), 0, id="failed"),
        pytest.param(("--state", "pending"), 0, id="pending"),
    ],
)
def test_notices_filters(small: Cli, options: tuple[str, ...], addresses: int) -> None:
    """--date, --from/--to (a day), --to (an address), --state narrow the audit."""
    assert len(notices(small, *options)) == addresses


def test_notices_say_why_a_notice_failed_in_csv(cli: Cli) -> None:
    """The CSV has the audit's columns; a failed notice carries its error."""
    cli("import", str(SMALL), *AS_OF)
    configure(cli, free_port())
    cli("run-daily", *AS_OF, code=3)
    lines = (
        cli("notices", "--state", "failed", "--format", "csv").stdout_bytes.decode().split("\r\n")
    )
    assert lines[0] == (
        "id,day,job,audience,address,role,subject,state,attempts,created_at,sent_at,last_error,"
        "next_attempt_at,cases"
    )
    [failed] = [line for line in lines[1:] if line]
    assert ",failed,1," in failed
    assert "cannot reach 127.0.0.1" in failed
    untried = notices(cli, "--state", "pending")
    assert len(untried) == 7
    assert all(n["last_error"].startswith("not tried: cannot reach") for n in untried)


def test_notices_refuse_a_date_and_a_range_together(small: Cli) -> None:
    """--date with --from is bad usage."""
    assert (
        "--date cannot be combined"
        in small("notices", "--date", "2026-11-24", "--from", "2026-11-01", code=2).stderr
    )


def test_a_listed_case_does_not_count_as_news_sent(tmp_path: Path) -> None:
    """Items kept for the audit (listed, not news) do not delay an expired case's weekly
    repeat: last_sent reads only the news."""
    engine = make_engine(f"sqlite:///{tmp_path / 'ledger.db'}")
    upgrade(engine)
    when = datetime(2026, 11, 24, 11, tzinfo=UTC)
    with Session(engine) as session:
        for day, new in ((date(2026, 11, 17), True), (date(2026, 11, 20), False)):
            session.add(
                Notice(
                    day=day,
                    audience="CEE004",
                    address="a@example.gov",
                    subject="s",
                    message=b"m",
                    state=SENT,
                    created_at=when,
                    next_attempt_at=when,
                )
            )
            session.add(
                NoticeItem(day=day, audience="CEE004", case_number="C-5", reason="expired", new=new)
            )
        session.commit()
        assert last_sent(date(2026, 11, 24), session=session) == {
            ("CEE004", "C-5", "expired"): date(2026, 11, 17)
        }
