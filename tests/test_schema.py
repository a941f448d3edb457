"""`solwatch init` creates the schema and upgrades an older one in place."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from alembic import command

from solwatch.schema import _alembic, is_current
from solwatch.store import make_engine
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


def test_the_migrations_build_what_the_models_declare(tmp_path: Path) -> None:
    """Upgrading to the newest revision leaves no difference from the SQLModel tables."""
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext
    from sqlmodel import SQLModel

    from solwatch.schema import upgrade

    engine = make_engine(f"sqlite:///{tmp_path / 'cases.db'}")
    upgrade(engine)
    with engine.connect() as connection:
        assert compare_metadata(MigrationContext.configure(connection), SQLModel.metadata) == []


def test_waivers_stored_before_entries_were_named_cover_every_entry(tmp_path: Path) -> None:
    """A waiver row from before the `entries` column keeps covering all of its case's entries."""
    cli = Cli(tmp_path)
    engine = make_engine(f"sqlite:///{tmp_path / 'cases.db'}")
    config = _alembic(engine)
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.upgrade(config, "0003")
        connection.exec_driver_sql(
            "INSERT INTO cases (id, case_number, case_type, statute, culpability, status, "
            "is_open, violation_date, sol_date, flags, attention, entries_total, "
            "entries_loss_cents, waivers_total) VALUES (1, 'OLD-1', 'penalty', '1592', "
            "'negligence', 'OPEN', 1, '2021-03-04', '2026-03-04', '', 0, 0, 0, 0)"
        )
        connection.exec_driver_sql(
            "INSERT INTO entries (case_id, entry_number, entry_date, loss_cents) VALUES "
            "(1, 'A', '2021-03-04', 0), (1, 'B', '2021-09-30', 0)"
        )
        connection.exec_driver_sql(
            "INSERT INTO waivers (case_id, signed_date, term_years, revives) "
            "VALUES (1, '2025-06-01', 2, 0)"
        )
    cli("init")
    with sqlite3.connect(tmp_path / "cases.db") as connection:
        assert connection.execute("select entries from waivers").fetchall() == [(None,)]
        assert connection.execute(
            "select limitation_date, last_limitation_date from cases"
        ).fetchall() == [("2027-06-01", "2027-06-01")]
