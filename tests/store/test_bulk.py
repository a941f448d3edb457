"""The bulk load into an empty store stores what the case-at-a-time import stores, and gives
way to it whenever there is anything to report."""

from __future__ import annotations

import csv
import shutil
import sqlite3
from collections.abc import Callable
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import pytest
from sqlmodel import Session

from solwatch.core.limitations import compute_limitation, summarize
from solwatch.core.summary import summary_values
from solwatch.demo import write_sample
from solwatch.store import importer
from solwatch.store.cases import load_facts, make_engine
from solwatch.store.extract import extract_files
from solwatch.store.importer import import_extracts
from solwatch.store.schema import upgrade
from tests.extracts import write_rich_extract

TODAY = date(2026, 11, 24)
NOW = datetime(2026, 11, 24, 12, 30, tzinfo=UTC)
TABLES = ("cases", "entries", "waivers", "tolling", "events", "history", "import_runs")


@pytest.fixture(scope="module")
def extract(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("extract")
    write_rich_extract(folder, today=TODAY, count=900)
    return folder


def store_of(folder: Path, name: str) -> tuple[Path, Any]:
    db = folder / f"{name}.db"
    engine = make_engine(f"sqlite:///{db}")
    upgrade(engine)
    return db, engine


def run_import(engine: Any, extract: Path, **options: Any) -> tuple[Any, Any]:
    with Session(engine) as session:
        return import_extracts(
            extract_files([extract]), session=session, as_of=TODAY, now=NOW, **options
        )


def case_by_case(engine: Any, extract: Path, **options: Any) -> tuple[Any, Any]:
    """The import without its bulk path, as it was before there was one."""
    with Session(engine) as session:
        return importer._import_case_by_case(
            extract_files([extract]),
            session=session,
            as_of=TODAY,
            now=NOW,
            columns=None,
            status_map=None,
            dry_run=options.get("dry_run", False),
            skip_invalid=options.get("skip_invalid", False),
            progress=None,
            computing=None,
            blank_clears=False,
            keep_rejects=None,
        )


def contents(db: Path) -> dict[str, list[tuple[Any, ...]]]:
    with sqlite3.connect(db) as connection:
        found = {t: connection.execute(f"SELECT * FROM {t} ORDER BY id").fetchall() for t in TABLES}
        found["indexes"] = connection.execute(
            "SELECT name, sql FROM sqlite_master WHERE type = 'index' ORDER BY name"
        ).fetchall()
    return found


@pytest.fixture
def no_fallback(monkeypatch: pytest.MonkeyPatch) -> None:
    """The case-at-a-time path must not run."""

    def refuse(*_: Any, **__: Any) -> Any:
        raise AssertionError("the bulk path gave way")

    monkeypatch.setattr(importer, "_import_case_by_case", refuse)


def test_a_bulk_load_stores_what_the_case_at_a_time_import_stores(
    extract: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Every row of every table, its id, computed fields and history, and the indexes."""
    slow_db, slow = store_of(tmp_path, "slow")
    slow_report, _ = case_by_case(slow, extract)
    fast_db, fast = store_of(tmp_path, "fast")
    with monkeypatch.context() as patch:
        patch.setattr(importer, "_import_case_by_case", None)
        fast_report, rejects = run_import(fast, extract)
    assert fast_report.committed
    assert not rejects
    assert fast_report.files == slow_report.files
    assert fast_report.computed == slow_report.computed > 900
    expected, found = contents(slow_db), contents(fast_db)
    for table in (*TABLES, "indexes"):
        assert found[table] == expected[table], table


def test_the_fast_rules_agree_with_the_explained_ones_on_every_generated_case(
    extract: Path, tmp_path: Path
) -> None:
    """The summary without explanations is the one `show` derives, for each stored case."""
    _, engine = store_of(tmp_path, "store")
    run_import(engine, extract)
    with Session(engine) as session:
        ids = list(range(1, 2000))
        facts = load_facts(ids, session=session)
    assert len(facts) > 900
    for one in facts.values():
        assert summary_values(one) == tuple(
            summarize(one, compute_limitation(one)).__dict__.values()
        )


def test_a_dry_run_in_bulk_reports_the_same_and_writes_nothing(
    tmp_path: Path, no_fallback: None
) -> None:
    """All files read and counted; the store is left as it was."""
    write_sample(tmp_path / "extract", today=TODAY, count=300)
    db, engine = store_of(tmp_path, "store")
    before = contents(db)
    report, _ = run_import(engine, tmp_path / "extract", dry_run=True)
    assert not report.committed
    assert not report.errors
    assert [f.new for f in report.files] == [f.rows for f in report.files]
    assert contents(db) == before


def broken(
    extract: Path, folder: Path, file: str, change: Callable[[list[list[str]]], None]
) -> Path:
    """A copy of the extract with one file's rows changed."""
    copy = folder / "broken"
    shutil.copytree(extract, copy)
    with (copy / file).open(newline="", encoding="utf-8") as handle:
        rows = list(csv.reader(handle))
    change(rows)
    with (copy / file).open("w", newline="", encoding="utf-8") as handle:
        csv.writer(handle).writerows(rows)
    return copy


def _bad_date(rows: list[list[str]]) -> None:
    rows[5][9] = "2021-02-30"


def _twice(rows: list[list[str]]) -> None:
    rows.append(rows[7])


def _orphan(rows: list[list[str]]) -> None:
    rows.append(["NO-SUCH-CASE", *rows[1][1:]])


def _unknown_entry(rows: list[list[str]]) -> None:
    rows[1][6] = "E-NOT-ON-FILE"


PROBLEMS = [
    pytest.param("cases.csv", _bad_date, id="bad-cell"),
    pytest.param("cases.csv", _twice, id="case-twice"),
    pytest.param("entries.csv", _twice, id="entry-twice"),
    pytest.param("events.csv", _orphan, id="child-of-no-case"),
    pytest.param("waivers.csv", _unknown_entry, id="waiver-names-unknown-entry"),
]


@pytest.mark.parametrize("skip_invalid", [False, True], ids=["refused", "skip-invalid"])
@pytest.mark.parametrize(("file", "change"), PROBLEMS)
def test_any_problem_is_reported_as_the_case_at_a_time_import_reports_it(
    extract: Path,
    tmp_path: Path,
    file: str,
    change: Callable[[list[list[str]]], None],
    skip_invalid: bool,
) -> None:
    """The same errors, rejected rows and stored rows, whether refused or skipped."""
    bad = broken(extract, tmp_path, file, change)
    slow_db, slow = store_of(tmp_path, "slow")
    slow_report, slow_rejects = case_by_case(slow, bad, skip_invalid=skip_invalid)
    fast_db, fast = store_of(tmp_path, "fast")
    fast_report, fast_rejects = run_import(fast, bad, skip_invalid=skip_invalid)
    assert slow_report.errors
    assert [str(e) for e in fast_report.errors] == [str(e) for e in slow_report.errors]
    assert fast_report.files == slow_report.files
    assert fast_rejects == slow_rejects
    assert fast_report.committed == slow_report.committed == skip_invalid
    assert contents(fast_db) == contents(slow_db)


def test_an_unreadable_file_is_reported_as_before(extract: Path, tmp_path: Path) -> None:
    """A byte that is not UTF-8, found after the children were read, stops the import with
    its line."""
    bad = tmp_path / "bad"
    shutil.copytree(extract, bad)
    with (bad / "cases.csv").open("ab") as handle:
        handle.write(b"X-1,penalty,1592,,OPEN,,,caf\xe9,,,,,,,,,\r\n")
    _, slow = store_of(tmp_path, "slow")
    slow_report, _ = case_by_case(slow, bad)
    _, fast = store_of(tmp_path, "fast")
    fast_report, _ = run_import(fast, bad)
    assert [str(e) for e in fast_report.errors] == [str(e) for e in slow_report.errors]
    assert "(encoding)" in str(fast_report.errors[-1])
    assert not fast_report.committed


def test_a_store_with_cases_is_imported_case_by_case(extract: Path, tmp_path: Path) -> None:
    """A second import compares with what is stored and keeps its history."""
    _, engine = store_of(tmp_path, "store")
    run_import(engine, extract)
    with Session(engine) as session:
        from solwatch.store import bulk

        assert not bulk.applies(extract_files([extract]), session=session)
    report, _ = run_import(engine, extract)
    assert report.committed
    assert all(f.unchanged == f.rows for f in report.files)


@pytest.fixture
def in_worker(monkeypatch: pytest.MonkeyPatch) -> None:
    """Every cases file is read by the second process, however small."""
    monkeypatch.setattr(importer, "WORKER_BYTES", 0)


def test_a_cases_file_read_by_a_second_process_stores_the_same(
    extract: Path, tmp_path: Path, in_worker: None
) -> None:
    """The reader process hands over every row, in order: the same stored rows."""
    slow_db, slow = store_of(tmp_path, "slow")
    case_by_case(slow, extract)
    fast_db, fast = store_of(tmp_path, "fast")
    seen: list[str] = []
    with Session(fast) as session:
        report, _ = import_extracts(
            extract_files([extract]),
            session=session,
            as_of=TODAY,
            now=NOW,
            progress=lambda label, done, total: seen.append(label),
        )
    assert report.committed
    assert "cases.csv" in seen
    assert contents(fast_db) == contents(slow_db)


@pytest.mark.parametrize(
    ("file", "change"),
    [
        pytest.param("cases.csv", _bad_date, id="bad-cell"),
        pytest.param("cases.csv", _twice, id="case-twice"),
    ],
)
def test_a_problem_found_by_the_second_process_is_reported_as_before(
    extract: Path,
    tmp_path: Path,
    in_worker: None,
    file: str,
    change: Callable[[list[list[str]]], None],
) -> None:
    """The reader stops at the row; the case-at-a-time import reports every problem."""
    bad = broken(extract, tmp_path, file, change)
    _, slow = store_of(tmp_path, "slow")
    slow_report, _ = case_by_case(slow, bad)
    _, fast = store_of(tmp_path, "fast")
    fast_report, _ = run_import(fast, bad)
    assert slow_report.errors
    assert [str(e) for e in fast_report.errors] == [str(e) for e in slow_report.errors]
