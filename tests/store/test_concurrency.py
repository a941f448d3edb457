"""Two imports at once on one store, on SQLite and on PostgreSQL, in real processes: they never
interleave, and the second says that it waits."""

from __future__ import annotations

import csv
import itertools
import sqlite3
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from sqlalchemy import text

from solwatch.demo import write_sample
from solwatch.store.locks import IMPORT_LOCK
from tests.conftest import AS_OF, Cli, opened

pytestmark = pytest.mark.integration
SMALL = Path(__file__).parent.parent / "data" / "small"


def _version(source: Path, target: Path, importer: str | None, first: int | None = None) -> Path:
    """cases.csv from `source`, its first `first` rows, every importer name set to `importer`."""
    with source.open(encoding="utf-8", newline="") as handle:
        header, *rows = list(csv.reader(handle))
    column = header.index("importer_name")
    target.parent.mkdir(parents=True, exist_ok=True)
    with target.open("w", encoding="utf-8", newline="") as handle:
        out = csv.writer(handle)
        out.writerow(header)
        for row in rows[:first]:
            if importer is not None:
                row[column] = importer
            out.writerow(row)
    return target


def test_two_imports_at_once_keep_the_history_chain(cli: Cli, tmp_path: Path) -> None:
    """Two imports started together both succeed, one after the other: each changed value's
    history runs A→C→D (or A→D→C), never A→C and A→D, and no new case collides."""
    write_sample(tmp_path / "sample", today=AS_OF, count=1200)
    source = tmp_path / "sample" / "cases.csv"
    cli(
        "import",
        str(_version(source, tmp_path / "a" / "cases.csv", None, 600)),
        "--as-of",
        "2026-11-24",
    )
    original = dict(cli.rows("select case_number, importer_name from cases"))
    runs = [
        cli.start(
            "import",
            str(_version(source, tmp_path / v / "cases.csv", f"Version {v}")),
            "--as-of",
            "2026-11-24",
        )
        for v in ("C", "D")
    ]
    for run in runs:
        _, errors = run.communicate(timeout=300)
        assert run.returncode == 0, errors
        assert "Traceback" not in errors
    history: dict[str, list[tuple[str | None, str | None]]] = {}
    for number, old, new in cli.rows(
        "select c.case_number, h.old_value, h.new_value from history h "
        "join cases c on c.id = h.case_id where h.field = 'importer_name' order by h.id"
    ):
        history.setdefault(number, []).append((old, new))
    stored = dict(cli.rows("select case_number, importer_name from cases"))
    assert len(stored) == 1200
    for number, value in stored.items():
        chain = history[number]
        first = original.get(number)
        expected_length = 2 if first is not None else 1
        assert len(chain) == expected_length, (number, chain)
        if first is not None:
            assert chain[0][0] == first
        for (_, new), (old, _) in itertools.pairwise(chain):
            assert old == new, (number, chain)
        assert chain[-1][1] == value


@contextmanager
def _holding_the_import_lock(backend: str, url: str, folder: Path) -> Iterator[None]:
    """Hold the store's import lock from outside, as a running import would."""
    if backend == "sqlite":
        connection = sqlite3.connect(folder / "cases.db", isolation_level=None)
        connection.execute("BEGIN IMMEDIATE")
        try:
            yield
        finally:
            connection.execute("ROLLBACK")
            connection.close()
        return
    with opened(url) as engine, engine.connect() as connection:
        connection.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": IMPORT_LOCK})
        yield
        connection.rollback()


def test_a_second_import_says_it_waits_then_runs(cli: Cli, backend: str, tmp_path: Path) -> None:
    """While another import holds the store, an import says it is waiting, and runs once the
    other has finished."""
    with _holding_the_import_lock(backend, cli.url, tmp_path):
        run = cli.start("import", str(SMALL), "--as-of", "2026-11-24")
        assert run.stderr is not None
        line = run.stderr.readline()
        assert line == (
            "solwatch: another import is writing to the store: waiting up to 15 minutes for it "
            "to finish\n"
        )
        time.sleep(0.5)
        assert run.poll() is None, "the import did not wait"
    output, errors = run.communicate(timeout=60)
    assert run.returncode == 0, errors
    assert "Imported; limitation dates computed for 5 cases." in output
