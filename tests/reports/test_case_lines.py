"""The exports computed by the database write the same bytes as assessing each case in Python."""

from __future__ import annotations

import io
from datetime import UTC, date, datetime
from pathlib import Path

import pytest
from sqlalchemy import Engine
from sqlmodel import Session, func, select

from solwatch.core.alerts import Thresholds
from solwatch.reports.case_lines import write_case_lines
from solwatch.reports.cear import CEAR_FIELDS, CenterSummary, cear_row, file_key
from solwatch.reports.exports import export_cear, finish_cear_files
from solwatch.reports.rows import CASE_FIELDS, CsvRows, case_row, write_csv
from solwatch.store.assessments import assess_cases, iter_open
from solwatch.store.cases import Case, make_engine
from solwatch.store.extract import extract_files
from solwatch.store.importer import import_extracts
from solwatch.store.schema import upgrade
from tests.extracts import OFFICES, write_rich_extract

TODAY = date(2026, 11, 24)
DAYS = [
    pytest.param(TODAY, id="import-day"),
    pytest.param(date(2026, 12, 31), id="month-end"),
    pytest.param(date(2025, 10, 20), id="a-year-before"),
    pytest.param(date(2028, 2, 29), id="leap-day"),
    pytest.param(date(2031, 7, 1), id="years-after"),
]
THRESHOLDS = [
    pytest.param(Thresholds(), id="default-thresholds"),
    pytest.param(
        Thresholds(
            ladder=(400, 100, 10),
            request_waiver_days=500,
            prepenalty_short_days=100,
            cear_referral_days=30,
        ),
        id="other-thresholds",
    ),
]


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> Engine:
    folder = tmp_path_factory.mktemp("generated")
    write_rich_extract(folder / "extract", today=TODAY)
    engine = make_engine(f"sqlite:///{folder / 'cases.db'}")
    upgrade(engine)
    with Session(engine) as session:
        report, _ = import_extracts(
            extract_files([folder / "extract"]),
            session=session,
            as_of=TODAY,
            now=datetime(2026, 11, 24, 12, 0, tzinfo=UTC),
        )
    assert report.committed, report.errors[:3]
    return engine


def python_cases(session: Session, today: date, thresholds: Thresholds) -> str:
    """`export cases` the case-at-a-time way: each case assessed, as `case_row`."""
    out = io.StringIO(newline="")
    write_csv(
        out,
        CASE_FIELDS,
        (case_row(a, OFFICES) for a in assess_cases(today, thresholds, session=session)),
    )
    return out.getvalue()


def python_cear(
    folder: Path, session: Session, today: date, thresholds: Thresholds
) -> dict[str, CenterSummary]:
    """The CEAR files the case-at-a-time way: the open cases most urgent first, each as
    `cear_row` into its Center's file, counted by `CenterSummary.add`."""
    folder.mkdir()
    handles, writers, summaries = {}, {}, {}
    for assessment in iter_open(today, thresholds, session=session):
        key = file_key(assessment.record.center)
        if key not in writers:
            handles[key] = (folder / f"cear-{today:%Y-%m}-{key}.csv.partial").open(
                "w", encoding="utf-8-sig", newline=""
            )
            writers[key] = CsvRows(handles[key], CEAR_FIELDS)
            summaries[key] = CenterSummary()
        writers[key].write(cear_row(assessment, OFFICES))
        summaries[key].add(assessment)
    for handle in handles.values():
        handle.close()
    _, found = finish_cear_files(folder, f"{today:%Y-%m}", today, summaries, waivers_in_month={})
    return found


@pytest.mark.parametrize("thresholds", THRESHOLDS)
@pytest.mark.parametrize("today", DAYS)
def test_export_cases_is_the_same_bytes(store: Engine, today: date, thresholds: Thresholds) -> None:
    """Every case's line, on days before, at and after the import, is what case_row writes."""
    with Session(store) as session:
        expected = python_cases(session, today, thresholds)
        out = io.StringIO(newline="")
        count = write_case_lines(out, today, thresholds, session=session, offices=OFFICES)
        cases = session.exec(select(func.count()).select_from(Case)).one()
    assert count == cases
    assert out.getvalue() == expected


@pytest.mark.parametrize("thresholds", THRESHOLDS)
@pytest.mark.parametrize("today", DAYS)
def test_export_cear_is_the_same_bytes(
    store: Engine, today: date, thresholds: Thresholds, tmp_path: Path
) -> None:
    """Each Center's file, the summary file and the summaries the monthly mail reads are
    what the case-at-a-time path writes."""
    month = f"{today:%Y-%m}"
    with Session(store) as session:
        expected = python_cear(tmp_path / "python", session, today, thresholds)
        written, found = export_cear(
            tmp_path / "sql", month, today, thresholds, session=session, offices=OFFICES
        )
    names = sorted(path.name for path in (tmp_path / "python").iterdir())
    assert names == sorted(path.name for path, _ in written)
    for name in names:
        if "summary" not in name:
            python_file = (tmp_path / "python" / name).read_bytes()
            assert (tmp_path / "sql" / name).read_bytes() == python_file, name
    for summary in expected.values():
        summary.waivers_signed_in_month = 0
    for summary in found.values():
        summary.waivers_signed_in_month = 0
    assert found == expected
    assert list(found) == list(expected)


def test_the_generated_store_has_cases_whose_entry_clocks_straddle_the_day(store: Engine) -> None:
    """The comparison reaches the cases only Python can assess, on the import day."""
    with Session(store) as session:
        straddling = session.exec(
            select(func.count()).where(
                Case.limitation_date < TODAY,  # type: ignore[operator]
                Case.last_limitation_date >= TODAY,  # type: ignore[operator]
            )
        ).one()
        fallback = session.exec(
            select(func.count()).where(
                Case.fallback_date < TODAY,  # type: ignore[operator]
                Case.last_fallback_date >= TODAY,  # type: ignore[operator]
            )
        ).one()
    assert straddling >= 5
    assert fallback >= 1


@pytest.mark.parametrize(
    "center", [pytest.param("CEE007", id="one-center"), pytest.param(None, id="no-center")]
)
def test_export_cear_of_one_center_writes_only_its_file(
    store: Engine, center: str | None, tmp_path: Path
) -> None:
    """--center keeps one Center's cases, the same as the whole export's file for it."""
    with Session(store) as session:
        export_cear(
            tmp_path / "all", "2026-11", TODAY, Thresholds(), session=session, offices=OFFICES
        )
        written, _ = export_cear(
            tmp_path / "one",
            "2026-11",
            TODAY,
            Thresholds(),
            session=session,
            offices=OFFICES,
            centers=(center,),
        )
    name = f"cear-2026-11-{center or 'unassigned'}.csv"
    assert [path.name for path, _ in written] == [name, "cear-2026-11-summary.csv"]
    assert (tmp_path / "one" / name).read_bytes() == (tmp_path / "all" / name).read_bytes()
