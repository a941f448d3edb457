"""`solwatch init` creates the schema and upgrades an older one in place, on both stores."""

from __future__ import annotations

from pathlib import Path

import pytest
from alembic import command
from alembic.script import ScriptDirectory
from sqlalchemy import inspect

from solwatch.schema import _alembic, is_current
from tests.conftest import Cli, opened

OLD_CASE = (
    "INSERT INTO cases (case_number, case_type, status, is_open, flags, attention, "
    "entries_total, entries_loss_cents, waivers_total) "
    "VALUES ('OLD-1', 'penalty', 'OPEN', TRUE, '', FALSE, 0, 0, 0)"
)


def _earlier_revisions() -> list[str]:
    with opened("sqlite://") as engine:
        script = ScriptDirectory.from_config(_alembic(engine))
    head = script.get_current_head()
    return [r.revision for r in script.walk_revisions() if r.revision != head]


@pytest.mark.parametrize("revision", _earlier_revisions())
def test_init_upgrades_an_older_database(tmp_path: Path, database_url: str, revision: str) -> None:
    """A database left at any earlier revision is brought up to date; its rows stay."""
    cli = Cli(tmp_path, database_url)
    with opened(database_url) as engine:
        config = _alembic(engine)
        with engine.begin() as connection:
            config.attributes["connection"] = connection
            command.upgrade(config, revision)
            connection.exec_driver_sql(OLD_CASE)
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
