"""`solwatch init` creates the schema and upgrades an older one in place."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from alembic import command
from sqlalchemy.engine import Connection

from solwatch.store.cases import make_engine
from solwatch.store.schema import _alembic, is_current
from tests.conftest import Cli


@contextmanager
def database_at(tmp_path: Path, revision: str) -> Iterator[Connection]:
    """`cases.db` left at an older schema revision, open for writing rows the old way."""
    engine = make_engine(f"sqlite:///{tmp_path / 'cases.db'}")
    config = _alembic(engine)
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.upgrade(config, revision)
        yield connection


def test_init_upgrades_an_older_database(tmp_path: Path) -> None:
    """A database left at the first revision is brought up to date; its rows stay."""
    cli = Cli(tmp_path)
    engine = make_engine(f"sqlite:///{tmp_path / 'cases.db'}")
    with database_at(tmp_path, "0001") as connection:
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

    from solwatch.store.schema import upgrade

    engine = make_engine(f"sqlite:///{tmp_path / 'cases.db'}")
    upgrade(engine)
    with engine.connect() as connection:
        assert compare_metadata(MigrationContext.configure(connection), SQLModel.metadata) == []


def test_waivers_stored_before_entries_were_named_cover_every_entry(tmp_path: Path) -> None:
    """A waiver row from before the `entries` column keeps covering all of its case's entries."""
    cli = Cli(tmp_path)
    with database_at(tmp_path, "0003") as connection:
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


OLD_CASES = [
    # case number, type, statute, culpability, dates, limitation and flags stored by rules 1
    ("F-1", "forfeiture", "1595a", None, "2015-01-01", "2019-06-01", None, "2021-12-02", ""),
    ("W-1", "penalty", "1592", "negligence", None, None, "2021-03-04", "2028-03-04", ""),
    (
        "L-1",
        "liquidated_damages",
        "1623",
        None,
        None,
        None,
        "2015-01-01",
        "2021-01-01",
        "late-waiver",
    ),
    ("N-1", "penalty", "1592", "negligence", None, None, "2021-03-04", "2026-03-04", ""),
]


def test_init_brings_stored_cases_up_to_new_rules_and_says_why(tmp_path: Path) -> None:
    """Cases computed under rules version 1 are recomputed by `init`; each changed date or flag
    is kept in the history as "rules changed"; a second `recompute` changes nothing, and one
    that corrects a stored date says "recomputed"."""
    cli = Cli(tmp_path)
    with database_at(tmp_path, "0003") as connection:
        for n, (*facts, limit, flags) in enumerate(OLD_CASES, 1):
            connection.exec_driver_sql(
                "INSERT INTO cases (id, case_number, case_type, statute, culpability, status, "
                "is_open, discovery_date, property_discovery_date, violation_date, sol_date, "
                "rule, limitation_date, last_limitation_date, flags, attention, entries_total, "
                "entries_loss_cents, waivers_total, rules_version) VALUES "
                "(?, ?, ?, ?, ?, 'OPEN', 1, ?, ?, ?, ?, 'old', ?, ?, ?, 0, 0, 0, 0, 1)",
                (n, *facts, limit, limit, limit, flags),
            )
        connection.exec_driver_sql(
            "INSERT INTO tolling (case_id, start_date, end_date) VALUES (1, '2020-06-01', '2020-12-01')"
        )
        connection.exec_driver_sql(
            "INSERT INTO waivers (case_id, signed_date, term_years, revives) "
            "VALUES (2, '2025-03-04', 2, 0)"
        )
        connection.exec_driver_sql(
            "INSERT INTO events (case_id, event_date, kind) VALUES (3, '2022-01-01', 'partial_payment')"
        )
    assert "(4 cases recomputed)" in cli("init").output
    history = "select c.case_number, field, old_value, new_value, source from history h join cases c on c.id = h.case_id order by h.id"
    why = "rules changed (version 1 to 2)"
    with sqlite3.connect(tmp_path / "cases.db") as connection:
        assert connection.execute(history).fetchall() == [
            ("F-1", "limitation_date", "2021-12-02", "2021-06-01", why),
            ("F-1", "last_limitation_date", "2021-12-02", "2021-06-01", why),
            ("W-1", "limitation_date", "2028-03-04", "2027-03-04", why),
            ("W-1", "last_limitation_date", "2028-03-04", "2027-03-04", why),
            ("L-1", "flags", "late-waiver", "late-acknowledgment", why),
        ]
    assert "Recomputed 4 cases." in cli("recompute").output
    with sqlite3.connect(tmp_path / "cases.db") as connection:
        assert len(connection.execute(history).fetchall()) == 5
        connection.execute("update cases set limitation_date = '2030-01-01' where id = 4")
    cli("recompute")
    with sqlite3.connect(tmp_path / "cases.db") as connection:
        assert connection.execute(history).fetchall()[5:] == [
            ("N-1", "limitation_date", "2030-01-01", "2026-03-04", "recomputed")
        ]


def test_the_head_revision_is_alembics(tmp_path: Path) -> None:
    """The quick reading of the revision files finds the head alembic finds."""
    from alembic.script import ScriptDirectory

    from solwatch.store.schema import head_revisions

    engine = make_engine(f"sqlite:///{tmp_path / 'cases.db'}")
    assert head_revisions() == set(ScriptDirectory.from_config(_alembic(engine)).get_heads())
