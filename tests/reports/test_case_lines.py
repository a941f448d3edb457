"""The exports computed by the database write the same bytes as assessing each case in Python."""

from __future__ import annotations

import io
from collections.abc import Iterator
from datetime import UTC, date, datetime
from pathlib import Path
from typing import IO

import pytest
from sqlalchemy import Engine
from sqlmodel import Session, col, func, select

from solwatch.core.alerts import Thresholds
from solwatch.core.facts import Status
from solwatch.reports.case_lines import write_case_lines
from solwatch.reports.cear import (
    CEAR_FIELDS,
    NO_CENTER,
    SUMMARY_FIELDS,
    CenterSummary,
    FpfOffice,
    cear_row,
    file_key,
    month_bounds,
)
from solwatch.reports.exports import CearFiles, export_cear
from solwatch.reports.rows import CASE_FIELDS, CsvRows, case_row, write_csv
from solwatch.reports.stats import CENTER_ORDER
from solwatch.store.assessments import assess_cases, iter_by_urgency
from solwatch.store.cases import Case, make_engine, waivers_signed_between
from solwatch.store.extract import extract_files
from solwatch.store.importer import import_extracts
from solwatch.store.resolutions import resolve
from solwatch.store.schema import upgrade
from tests.conftest import BACKENDS, fresh_database_url
from tests.extracts import OFFICES, write_rich_extract

TODAY = date(2026, 11, 24)
NOW = datetime(2026, 11, 24, 12, 0, tzinfo=UTC)
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
# Two FP&F offices: one with two ports, one with a port that no case has.
FPF = (
    FpfOffice("Los Angeles FP&F", "los-angeles-fp-f", ("2704", "2709"), ("la@example.gov",)),
    FpfOffice("New York FP&F", "new-york-fp-f", ("1001", "9999"), ("ny@example.gov",)),
)


@pytest.fixture(scope="module", params=BACKENDS)
def store(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Engine]:
    """The generated extract imported into a new store on each backend, with two cases staff
    resolved while the extract still codes them open."""
    folder = tmp_path_factory.mktemp("generated")
    write_rich_extract(folder / "extract", today=TODAY)
    urls = fresh_database_url(request.param, folder, request)
    engine = make_engine(next(urls))
    upgrade(engine)
    with Session(engine) as session:
        report, _ = import_extracts(
            extract_files([folder / "extract"]), session=session, as_of=TODAY, now=NOW
        )
        assert report.committed, report.errors[:3]
        open_cases = session.exec(
            select(Case.case_number).where(Case.is_open).order_by(Case.id)  # type: ignore[arg-type]
        ).all()
        for number in open_cases[5:7]:
            resolve(
                number,
                Status.CLOSED,
                TODAY,
                "paid, per the ledger",
                "tester",
                today=TODAY,
                now=NOW,
                session=session,
            )
    yield engine
    engine.dispose()
    next(urls, None)


def python_cases(session: Session, today: date, thresholds: Thresholds) -> str:
    """`export cases` the case-at-a-time way: each case assessed, as `case_row`."""
    out = io.StringIO(newline="")
    write_csv(
        out,
        CASE_FIELDS,
        (case_row(a, OFFICES) for a in assess_cases(today, thresholds, session=session)),
    )
    return out.getvalue()


def python_cear(folder: Path, session: Session, today: date, thresholds: Thresholds) -> CearFiles:
    """The CEAR files the case-at-a-time way: the open cases most urgent first, each as
    `cear_row` into its Center's file and its FP&F office's, counted by `CenterSummary.add`."""
    folder.mkdir()
    month = f"{today:%Y-%m}"
    handles: dict[str, IO[str]] = {}
    writers: dict[str, CsvRows] = {}
    summaries: dict[str, CenterSummary] = {}

    def start(name: str) -> None:
        handles[name] = (folder / f"{name}.csv").open("w", encoding="utf-8-sig", newline="")
        writers[name] = CsvRows(handles[name], CEAR_FIELDS)
        summaries[name] = CenterSummary()

    for office in FPF:  # written even when it has no case
        start(f"fpf-{month}-{office.key}")
    office_of_port = {port: office.key for office in FPF for port in office.ports}
    opened = [col(Case.is_open).is_(True)]
    for assessment in iter_by_urgency(today, thresholds, session=session, where=opened):
        row = cear_row(assessment, OFFICES)
        names = [f"cear-{month}-{file_key(assessment.record.center)}"]
        office = office_of_port.get(assessment.record.port_code or "")
        if office is not None:
            names.append(f"fpf-{month}-{office}")
        for name in names:
            if name not in writers:
                start(name)
            writers[name].write(row)
            summaries[name].add(assessment)
    for handle in handles.values():
        handle.close()
    centers = {
        name.removeprefix(f"cear-{month}-"): summary
        for name, summary in summaries.items()
        if name.startswith("cear-")
    }
    order = sorted(centers, key=lambda key: CENTER_ORDER.get(key, len(CENTER_ORDER)))
    first, last = month_bounds(month)
    signed = waivers_signed_between(first, last, session=session)
    for key in order:
        centers[key].waivers_signed_in_month = signed.get(None if key == NO_CENTER else key, 0)
    rows = [centers[key].summary_row(key) for key in order]
    with (folder / f"cear-{month}-summary.csv").open("w", encoding="utf-8-sig", newline="") as f:
        write_csv(f, SUMMARY_FIELDS, rows)
    return CearFiles(
        [],
        {key: centers[key] for key in order},
        {office.key: summaries[f"fpf-{month}-{office.key}"] for office in FPF},
    )


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
    """Each Center's file, the summary file, each FP&F office's report, and the summaries the
    monthly mails read are what the case-at-a-time path writes."""
    month = f"{today:%Y-%m}"
    with Session(store) as session:
        expected = python_cear(tmp_path / "python", session, today, thresholds)
        found = export_cear(
            tmp_path / "sql", month, today, thresholds, session=session, offices=OFFICES, fpf=FPF
        )
    names = sorted(path.name for path in (tmp_path / "python").iterdir())
    assert names == sorted(path.name for path, _ in found.written)
    assert sorted(path.name for path in (tmp_path / "sql").iterdir()) == names
    for name in names:
        python_file = (tmp_path / "python" / name).read_bytes()
        assert (tmp_path / "sql" / name).read_bytes() == python_file, name
    assert found.centers == expected.centers
    assert list(found.centers) == list(expected.centers)
    assert found.offices == expected.offices
    counts = dict(found.written)
    for key, summary in found.centers.items():
        assert counts[tmp_path / "sql" / f"cear-{month}-{key}.csv"] == len(summary.case_numbers)


def test_the_generated_store_reaches_every_verdict_and_a_pending_correction(store: Engine) -> None:
    """The comparison meets each triage verdict among expired open cases, and the cases staff
    resolved, on the import day."""
    with Session(store) as session:
        found = export_cear(
            Path("verdicts"), "2026-11", TODAY, Thresholds(), session=session, offices=OFFICES
        )
    verdicts = CenterSummary().triage
    for summary in found.centers.values():
        for name in ("likely_lost", "likely_miscoded", "unknown", "status_correction_pending"):
            setattr(verdicts, name, getattr(verdicts, name) + getattr(summary.triage, name))
    assert verdicts.likely_lost > 0
    assert verdicts.likely_miscoded > 0
    assert verdicts.unknown > 0
    assert verdicts.status_correction_pending == 2


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
        written = export_cear(
            tmp_path / "one",
            "2026-11",
            TODAY,
            Thresholds(),
            session=session,
            offices=OFFICES,
            centers=(center,),
        )
    name = f"cear-2026-11-{center or 'unassigned'}.csv"
    assert [path.name for path, _ in written.written] == [name, "cear-2026-11-summary.csv"]
    assert (tmp_path / "one" / name).read_bytes() == (tmp_path / "all" / name).read_bytes()
