"""The bulk load into an empty store stores what the case-at-a-time import stores, and gives
way to it whenever there is anything to report."""

from __future__ import annotations

import csv
import shutil
from collections.abc import Callable, Iterator
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine
from sqlmodel import Session

from solwatch.core.limitations import compute_limitation, summarize
from solwatch.core.summary import summary_values
from solwatch.demo import write_sample
from solwatch.store import importer
from solwatch.store.cases import load_facts, make_engine
from solwatch.store.extract import extract_files
from solwatch.store.importer import import_extracts
from solwatch.store.schema import upgrade
from tests.conftest import fresh_database_url
from tests.extracts import write_rich_extract

TODAY = date(2026, 11, 24)
NOW = datetime(2026, 11, 24, 12, 30, tzinfo=UTC)
TABLES = ("cases", "entries", "waivers", "tolling", "events", "history", "import_runs")


@pytest.fixture(scope="module")
def extract(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("extract")
    write_rich_extract(folder, today=TODAY, count=900)
    return folder


@pytest.fixture
def stores(
    backend: str, tmp_path: Path, request: pytest.FixtureRequest
) -> Iterator[Callable[[str], Engine]]:
    """New, empty stores on the test's backend, by name (each a file or a database)."""
    made: list[tuple[Engine, Iterator[str]]] = []

    def make(name: str) -> Engine:
        folder = tmp_path / name
        folder.mkdir()
        urls = fresh_database_url(backend, folder, request)
        engine = make_engine(next(urls))
        upgrade(engine)
        made.append((engine, urls))
        return engine

    yield make
    for engine, urls in made:
        engine.dispose()
        next(urls, None)


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
            session,
            importer._Options(
                as_of=TODAY,
                now=NOW,
                columns={},
                status_map={},
                dry_run=options.get("dry_run", False),
            ),
            skip_invalid=options.get("skip_invalid", False),
            keep_rejects=None,
        )


def contents(engine: Engine) -> dict[str, list[tuple[Any, ...]]]:
    """Every row of every table by id, and the indexes. Import runs are numbered in order: on
    PostgreSQL a rolled-back attempt uses up a sequence number, as any rollback does."""
    with engine.connect() as connection:
        runs = connection.exec_driver_sql("SELECT id FROM import_runs ORDER BY id").scalars()
        number = {run: place for place, run in enumerate(runs, 1)}
        found = {}
        for table in TABLES:
            result = connection.exec_driver_sql(f"SELECT * FROM {table} ORDER BY id")
            names = list(result.keys())
            runs_at = [
                place
                for place, name in enumerate(names)
                if name in ("created_import_id", "import_id")
                or (table, name) == ("import_runs", "id")
            ]
            rows = []
            for row in result:
                values = list(row)
                for place in runs_at:
                    values[place] = number.get(values[place], values[place])
                rows.append(tuple(values))
            found[table] = rows
        indexes = (
            "SELECT name, sql FROM sqlite_master WHERE type = 'index' ORDER BY name"
            if engine.dialect.name == "sqlite"
            else "SELECT indexname, indexdef FROM pg_indexes WHERE schemaname = current_schema() "
            "ORDER BY indexname"
        )
        found["indexes"] = [tuple(row) for row in connection.exec_driver_sql(indexes)]
    return found


@pytest.fixture
def no_fallback(monkeypatch: pytest.MonkeyPatch) -> None:
    """The case-at-a-time path must not run."""

    def refuse(*_: Any, **__: Any) -> Any:
        raise AssertionError("the bulk path gave way")

    monkeypatch.setattr(importer, "_import_case_by_case", refuse)


def test_a_bulk_load_stores_what_the_case_at_a_time_import_stores(
    extract: Path, stores: Callable[[str], Engine], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Every row of every table, its id, computed fields and history, and the indexes."""
    slow = stores("slow")
    slow_report, _ = case_by_case(slow, extract)
    fast = stores("fast")
    with monkeypatch.context() as patch:
        patch.setattr(importer, "_import_case_by_case", None)
        fast_report, rejects = run_import(fast, extract)
    assert fast_report.committed
    assert not rejects
    assert fast_report.files == slow_report.files
    assert fast_report.computed == slow_report.computed > 900
    expected, found = contents(slow), contents(fast)
    for table in (*TABLES, "indexes"):
        assert found[table] == expected[table], table


def test_the_fast_rules_agree_with_the_explained_ones_on_every_generated_case(
    extract: Path, stores: Callable[[str], Engine]
) -> None:
    """The summary without explanations is the one `show` derives, for each stored case."""
    engine = stores("store")
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
    tmp_path: Path, stores: Callable[[str], Engine], no_fallback: None
) -> None:
    """All files read and counted; the store is left as it was."""
    write_sample(tmp_path / "extract", today=TODAY, count=300)
    engine = stores("store")
    before = contents(engine)
    report, _ = run_import(engine, tmp_path / "extract", dry_run=True)
    assert not report.committed
    assert not report.errors
    assert [f.new for f in report.files] == [f.rows for f in report.files]
    assert contents(engine) == before


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
    stores: Callable[[str], Engine],
    file: str,
    change: Callable[[list[list[str]]], None],
    skip_invalid: bool,
) -> None:
    """The same errors, rejected rows and stored rows, whether refused or skipped."""
    bad = broken(extract, tmp_path, file, change)
    slow = stores("slow")
    slow_report, slow_rejects = case_by_case(slow, bad, skip_invalid=skip_invalid)
    fast = stores("fast")
    fast_report, fast_rejects = run_import(fast, bad, skip_invalid=skip_invalid)
    assert slow_report.errors
    assert [str(e) for e in fast_report.errors] == [str(e) for e in slow_report.errors]
    assert fast_report.files == slow_report.files
    assert fast_rejects == slow_rejects
    assert fast_report.committed == slow_report.committed == skip_invalid
    assert contents(fast) == contents(slow)


def test_an_unreadable_file_is_reported_as_before(
    extract: Path, tmp_path: Path, stores: Callable[[str], Engine]
) -> None:
    """A byte that is not UTF-8, found after the children were read, stops the import with
    its line."""
    bad = tmp_path / "bad"
    shutil.copytree(extract, bad)
    with (bad / "cases.csv").open("ab") as handle:
        handle.write(b"X-1,penalty,1592,,OPEN,,,caf\xe9,,,,,,,,,\r\n")
    slow = stores("slow")
    slow_report, _ = case_by_case(slow, bad)
    fast = stores("fast")
    fast_report, _ = run_import(fast, bad)
    assert [str(e) for e in fast_report.errors] == [str(e) for e in slow_report.errors]
    assert "(encoding)" in str(fast_report.errors[-1])
    assert not fast_report.committed


def test_a_store_with_cases_is_imported_case_by_case(
    extract: Path, tmp_path: Path, stores: Callable[[str], Engine]
) -> None:
    """A second import compares with what is stored and keeps its history; a new case and new
    child rows get the ids that follow the bulk load's, which follow those a refused import
    used up (on PostgreSQL a rollback does not give sequence values back)."""
    engine = stores("store")
    refused, _ = run_import(engine, broken(extract, tmp_path, "cases.csv", _bad_date))
    assert refused.errors
    assert not refused.committed
    report, _ = run_import(engine, extract)
    assert report.committed
    with Session(engine) as session:
        from solwatch.store import bulk

        assert not bulk.applies(extract_files([extract]), session=session)
    report, _ = run_import(engine, extract)
    assert report.committed
    assert all(f.unchanged == f.rows for f in report.files)
    more = tmp_path / "more"
    shutil.copytree(extract, more)
    with (more / "cases.csv").open("a", newline="", encoding="utf-8") as handle:
        csv.writer(handle).writerow(["NEW-1", "penalty", "1592", "negligence", "OPEN"] + [""] * 12)
    with (more / "entries.csv").open("a", newline="", encoding="utf-8") as handle:
        csv.writer(handle).writerow(["NEW-1", "E-NEW", "2024-01-02", "10.00"])
    report, _ = run_import(engine, more)
    assert report.committed, report.errors[:3]
    assert [(f.kind, f.new) for f in report.files if f.new] == [("cases", 1), ("entries", 1)]
    with engine.connect() as connection:
        case_id, entry_id, entry_case = connection.exec_driver_sql(
            "SELECT c.id, e.id, e.case_id FROM cases c JOIN entries e ON e.case_id = c.id "
            "WHERE c.case_number = 'NEW-1'"
        ).one()
        ids = connection.exec_driver_sql(
            "SELECT (SELECT max(id) FROM cases WHERE case_number <> 'NEW-1'), "
            "(SELECT max(id) FROM entries WHERE case_id <> "
            "(SELECT id FROM cases WHERE case_number = 'NEW-1'))"
        ).one()
    assert (case_id, entry_id, entry_case) == (ids[0] + 1, ids[1] + 1, case_id)


@pytest.fixture
def in_worker(monkeypatch: pytest.MonkeyPatch) -> None:
    """Every cases file is read by the second process, however small."""
    monkeypatch.setattr(importer, "WORKER_BYTES", 0)


def test_a_cases_file_read_by_a_second_process_stores_the_same(
    extract: Path, stores: Callable[[str], Engine], in_worker: None
) -> None:
    """The reader process hands over every row, in order: the same stored rows."""
    slow = stores("slow")
    case_by_case(slow, extract)
    fast = stores("fast")
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
    assert contents(fast) == contents(slow)


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
    stores: Callable[[str], Engine],
    in_worker: None,
    file: str,
    change: Callable[[list[list[str]]], None],
) -> None:
    """The reader stops at the row; the case-at-a-time import reports every problem."""
    bad = broken(extract, tmp_path, file, change)
    slow = stores("slow")
    slow_report, _ = case_by_case(slow, bad)
    fast = stores("fast")
    fast_report, _ = run_import(fast, bad)
    assert slow_report.errors
    assert [str(e) for e in fast_report.errors] == [str(e) for e in slow_report.errors]
