"""`solwatch init` creates the schema and upgrades an older one in place."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from alembic import command

from solwatch.store.cases import make_engine
from solwatch.store.schema import _alembic, is_current
from tests.conftest import Cli


def test_init_upgrades_an_older_database(tmp_path: Path) -> None:
    """A database left at the first revision is brought up to date; its rows stay."""
    cli = Cli(tmp_path)
    engine = make_engine(f"sqlite:///{tmp_path / 'cases.db'}")
    config = _alembic(engine)
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.upgrade(config, "0001")
        connection.exec_driver_sql(
            "INSERT INTO cases (case_number, case_type, status, is_open, flags, attention, "
            "entries_total, entries_loss_cents, waivers_total) "
            "VALUES ('OLD-1', 'penalty', 'OPEN', 1, '', 0, 0, 0, 0)"
        )
    assert not is_current(engine)
    assert "run `solwatch init` first" in cli("at-risk", code=2).stderr
    assert "1 cases recomputed" in cli("init").output
    assert is_current(engine)
    with sqlite3.connect(tmp_path / "cases.db") as connection:
        assert connection.execute("select case_number, missing_field from cases").fetchall() == [
            ("OLD-1", "statute")
        ]
        tables = {
            row[0]
            for row in connection.execute("select name from sqlite_master where type = 'table'")
        }
    assert {"notices", "acks", "scheduler_lock"} <= tables
