"""`solwatch init` creates the schema and upgrades an older one in place, on both stores."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from alembic import command
from alembic.script import ScriptDirectory
from sqlalchemy import inspect, text
from sqlalchemy.engine import Connection

from solwatch.store.schema import _alembic, is_current
from tests.conftest import Cli, opened

OLD_CASE = (
    "INSERT INTO cases (case_number, case_type, status, is_open, flags, attention, "
    "entries_total, entries_loss_cents, waivers_total) "
    "VALUES ('OLD-1', 'penalty', 'OPEN', TRUE, '', FALSE, 0, 0, 0)"
)


@contextmanager
def database_at(url: str, revision: str) -> Iterator[Connection]:
    """The store at `url` left at an older schema revision, open for writing rows the old
    way."""
    with opened(url) as engine:
        config = _alembic(engine)
        with engine.begin() as connection:
            config.attributes["connection"] = connection
            command.upgrade(config, revision)
            yield connection


def insert(connection: Connection, table: str, **values: Any) -> None:
    """One row, its values bound (text as text, booleans as booleans) on either store."""
    names = ", ".join(values)
    connection.execute(
        text(f"INSERT INTO {table} ({names}) VALUES ({', '.join(':' + n for n in values)})"),
        values,
    )


def _earlier_revisions() -> list[str]:
    with opened("sqlite://") as engine:
        script = ScriptDirectory.from_config(_alembic(engine))
    head = script.get_current_head()
    return sorted(r.revision for r in script.walk_revisions() if r.revision != head)


@pytest.mark.parametrize("revision", _earlier_revisions())
def test_init_upgrades_an_older_database(tmp_path: Path, database_url: str, revision: str) -> None:
    """A database left at any earlier revision is brought up to date; its rows stay."""
    cli = Cli(tmp_path, database_url)
    with database_at(database_url, revision) as connection:
        connection.exec_driver_sql(OLD_CASE)
    with opened(database_url) as engine:
        assert not is_current(engine)
        assert "run `solwatch init` first" in cli("at-risk", code=2).stderr
        assert "1 cases recomputed" in cli("init").output
        assert is_current(engine)
        tables = set(inspect(engine).get_table_names())
    assert cli.rows("select case_number, missing_field from cases") == [("OLD-1", "statute")]
    assert {"notices", "acks", "scheduler_lock", "cases", "history"} <= tables


def test_init_creates_the_schema_on_an_empty_store(tmp_path: Path, database_url: str) -> None:
    """On an empty database, init creates every table at the newest revision; again, nothing."""
    cli = Cli(tmp_path, database_url)
    assert "Database ready" in cli("init").output
    with opened(database_url) as engine:
        assert is_current(engine)
    assert "recomputed" not in cli("init").output
    assert cli.rows("select count(*) from cases") == [(0,)]


def test_the_migrations_build_what_the_models_declare(database_url: str) -> None:
    """Upgrading to the newest revision leaves no difference from the SQLModel tables."""
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext
    from sqlmodel import SQLModel

    from solwatch.store.schema import upgrade

    with opened(database_url) as engine:
        upgrade(engine)
        with engine.connect() as connection:
            assert compare_metadata(MigrationContext.configure(connection), SQLModel.metadata) == []


def test_waivers_stored_before_entries_were_named_cover_every_entry(
    tmp_path: Path, database_url: str
) -> None:
    """A waiver row from before the `entries` column keeps covering all of its case's entries."""
    cli = Cli(tmp_path, database_url)
    with database_at(database_url, "0003") as connection:
        insert(
            connection,
            "cases",
            id=1,
            case_number="OLD-1",
            case_type="penalty",
            statute="1592",
            culpability="negligence",
            status="OPEN",
            is_open=True,
            violation_date="2021-03-04",
            sol_date="2026-03-04",
            flags="",
            attention=False,
            entries_total=0,
            entries_loss_cents=0,
            waivers_total=0,
        )
        for number, day in (("A", "2021-03-04"), ("B", "2021-09-30")):
            insert(
                connection, "entries", case_id=1, entry_number=number, entry_date=day, loss_cents=0
            )
        insert(
            connection, "waivers", case_id=1, signed_date="2025-06-01", term_years=2, revives=False
        )
    cli("init")
    assert cli.rows("select entries from waivers") == [(None,)]
    assert cli.rows("select limitation_date, last_limitation_date from cases") == [
        ("2027-06-01", "2027-06-01")
    ]


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


def test_init_brings_stored_cases_up_to_new_rules_and_says_why(
    tmp_path: Path, database_url: str
) -> None:
    """Cases computed under rules version 1 are recomputed by `init`; each changed date or flag
    is kept in the history as "rules changed"; a second `recompute` changes nothing, and one
    that corrects a stored date says "recomputed"."""
    cli = Cli(tmp_path, database_url)
    with database_at(database_url, "0003") as connection:
        for n, (number, kind, statute, culpability, *dates, limit, flags) in enumerate(
            OLD_CASES, 1
        ):
            discovery, property_discovery, violation = dates
            insert(
                connection,
                "cases",
                id=n,
                case_number=number,
                case_type=kind,
                statute=statute,
                culpability=culpability,
                status="OPEN",
                is_open=True,
                discovery_date=discovery,
                property_discovery_date=property_discovery,
                violation_date=violation,
                sol_date=limit,
                rule="old",
                limitation_date=limit,
                last_limitation_date=limit,
                flags=flags,
                attention=False,
                entries_total=0,
                entries_loss_cents=0,
                waivers_total=0,
                rules_version=1,
            )
        insert(connection, "tolling", case_id=1, start_date="2020-06-01", end_date="2020-12-01")
        insert(
            connection, "waivers", case_id=2, signed_date="2025-03-04", term_years=2, revives=False
        )
        insert(connection, "events", case_id=3, event_date="2022-01-01", kind="partial_payment")
    assert "(4 cases recomputed)" in cli("init").output
    history = (
        "select c.case_number, field, old_value, new_value, source from history h "
        "join cases c on c.id = h.case_id order by h.id"
    )
    why = "rules changed (version 1 to 3)"
    assert cli.rows(history) == [
        ("F-1", "limitation_date", "2021-12-02", "2021-06-01", why),
        ("F-1", "last_limitation_date", "2021-12-02", "2021-06-01", why),
        ("W-1", "limitation_date", "2028-03-04", "2027-03-04", why),
        ("W-1", "last_limitation_date", "2028-03-04", "2027-03-04", why),
        ("L-1", "flags", "late-waiver", "late-acknowledgment", why),
    ]
    assert "Recomputed 4 cases." in cli("recompute").output
    assert len(cli.rows(history)) == 5
    with opened(database_url) as engine, engine.begin() as connection:
        connection.execute(text("update cases set limitation_date = '2030-01-01' where id = 4"))
    cli("recompute")
    assert cli.rows(history)[5:] == [
        ("N-1", "limitation_date", "2030-01-01", "2026-03-04", "recomputed")
    ]


def test_init_gives_cases_stored_before_triage_their_verdict(
    tmp_path: Path, database_url: str
) -> None:
    """A database at revision 0005 gains the triage and correction columns and the
    resolutions table; `init` recomputes its cases (rules version 2) and stores each one's
    verdict, without a history row: no date or flag moved."""
    cli = Cli(tmp_path, database_url)
    with database_at(database_url, "0005") as connection:
        for n, (number, assessed, collected) in enumerate(
            (("PAID", 500, 500), ("OWED", 500, 0), ("BARE", None, None)), 1
        ):
            insert(
                connection,
                "cases",
                id=n,
                case_number=number,
                case_type="penalty",
                statute="1592",
                culpability="negligence",
                status="OPEN",
                is_open=True,
                violation_date="2020-01-10",
                sol_date="2025-01-10",
                assessed_cents=assessed,
                collected_cents=collected,
                flags="",
                fallback_flags="",
                attention=False,
                entries_total=0,
                entries_loss_cents=0,
                waivers_total=0,
                rule="1621-violation",
                limitation_date="2025-01-10",
                last_limitation_date="2025-01-10",
                rules_version=2,
            )
    assert "(3 cases recomputed)" in cli("init").output
    assert cli.rows(
        "select case_number, triage, triage_reason, resolved_status from cases order by id"
    ) == [
        ("PAID", "likely-miscoded", "collected $5.00 of $5.00 assessed", None),
        ("OWED", "likely-lost", "no suit filed; no closing event; $5.00 uncollected", None),
        ("BARE", "unknown", "no events on file and no amount assessed", None),
    ]
    assert cli.rows("select count(*) from history") == [(0,)]
    assert cli.rows("select count(*) from resolutions") == [(0,)]


def test_the_head_revision_is_alembics() -> None:
    """The quick reading of the revision files finds the one head alembic finds."""
    from solwatch.store.schema import head_revisions

    with opened("sqlite://") as engine:
        heads = set(ScriptDirectory.from_config(_alembic(engine)).get_heads())
    assert len(heads) == 1
    assert head_revisions() == heads
