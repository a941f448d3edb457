"""`solwatch demo` on a store that holds real data: refused unless --force, and never in the
mail ledger, so it cannot rewrite real cases by accident nor use up a real day's digests."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from solwatch.store.connection import database_url, safe_url
from tests.conftest import Cli

SMALL = Path(__file__).parent.parent / "data" / "small"
AS_OF = ("--as-of", "2026-11-24")


def rows_of(db: Path, sql: str) -> list[tuple[object, ...]]:
    with sqlite3.connect(db) as connection:
        return connection.execute(sql).fetchall()


def test_the_demo_refuses_a_store_with_real_cases(cli: Cli, tmp_path: Path) -> None:
    """On a store with imported cases the demo stops in one line, exit 2, before writing its
    sample or touching a case."""
    cli("import", str(SMALL), *AS_OF)
    before = cli.rows("select * from cases order by id")
    result = cli("demo", "--dir", str(tmp_path / "sample"), "--cases", "40", *AS_OF, code=2)
    assert result.stderr.splitlines() == [
        f"solwatch: the database {safe_url(database_url(cli.url))} holds 5 cases from 1 import that are not "
        f"the demo's sample: the demo would mix its sample with them and may replace cases "
        f"with the same number. Point it at another database (--config, or "
        f"$SOLWATCH_DATABASE_URL), or pass --force"
    ]
    assert cli.rows("select * from cases order by id") == before
    assert not (tmp_path / "sample").exists()


def test_the_demo_runs_again_on_its_own_store(tmp_path: Path) -> None:
    """A store the demo filled is its own: the demo runs on it again, without --force."""
    cli = Cli(tmp_path)
    cli("demo", "--dir", str(tmp_path / "sample"), "--cases", "40", *AS_OF)
    result = cli("demo", "--dir", str(tmp_path / "sample"), "--cases", "40", *AS_OF)
    assert "Imported into" in result.output


def test_the_demo_never_uses_up_a_real_days_digests(cli: Cli, tmp_path: Path) -> None:
    """After `demo --force` on a real store, nothing is in the ledger and nothing is in the
    configured outbox: the day's `run-daily` still records and sends every digest."""
    cli("import", str(SMALL), *AS_OF)
    result = cli("demo", "--force", "--dir", str(tmp_path / "sample"), "--cases", "40", *AS_OF)
    assert "Nothing was recorded or sent" in result.output
    assert list((tmp_path / "sample" / "outbox").glob("*.eml"))
    assert cli.rows("select count(*) from notices") == [(0,)]
    assert not (tmp_path / "outbox").exists()
    daily = cli("run-daily", *AS_OF).output
    assert "already recorded" not in daily
    recorded = cli.rows("select count(*) from notices where state = 'sent'")[0][0]
    assert isinstance(recorded, int)
    assert recorded > 0
    assert f"sent: {recorded}; failed: 0" in daily
