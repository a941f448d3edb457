"""Writing export files: whole or not at all, UTF-8 with a byte-order mark for spreadsheets."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import date, datetime
from pathlib import Path
from typing import Any

from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from sqlmodel import Session

from solwatch.core.alerts import Thresholds
from solwatch.reports.case_lines import write_case_lines, write_cear_lines
from solwatch.reports.cear import (
    NO_CENTER,
    SUMMARY_FIELDS,
    CenterSummary,
    month_bounds,
)
from solwatch.reports.rows import FORMULA_STARTS, NUMERIC_FIELDS, write_csv
from solwatch.reports.stats import CENTER_ORDER
from solwatch.store.cases import waivers_signed_between
from solwatch.store.extract import Row, RowError


def write_bytes_file(path: Path, data: bytes) -> Path:
    """Write `data` through a `.partial` twin, so a reader never sees half a file."""
    partial = path.with_name(path.name + ".partial")
    partial.write_bytes(data)
    partial.replace(path)
    return path


def write_csv_file(
    path: Path, fields: Sequence[str], rows: Iterable[Mapping[str, Any]]
) -> tuple[Path, int]:
    """Write a CSV file through a `.partial` twin, so a reader never sees half a file."""
    partial = path.with_name(path.name + ".partial")
    with partial.open("w", encoding="utf-8-sig", newline="") as handle:
        count = write_csv(handle, fields, rows)
    partial.replace(path)
    return path, count


def finish_cear_files(
    folder: Path,
    month: str,
    as_of: date,
    summaries: Mapping[str, CenterSummary],
    *,
    waivers_in_month: Mapping[str | None, int],
    xlsx: bool = False,
) -> tuple[list[tuple[Path, int]], dict[str, CenterSummary]]:
    """Each Center's `cear-MONTH-<center>.csv.partial`, written whole, takes its name (so
    the files appear together), then the summary, and the workbooks when `xlsx`."""
    order = sorted(summaries, key=lambda key: CENTER_ORDER.get(key, len(CENTER_ORDER)))
    written = []
    for key in order:
        summaries[key].waivers_signed_in_month = waivers_in_month.get(
            None if key == NO_CENTER else key, 0
        )
        path = folder / f"cear-{month}-{key}.csv"
        path.with_name(path.name + ".partial").replace(path)
        written.append((path, summaries[key].open))
        if xlsx:
            workbook = write_xlsx_file(path, path.with_suffix(".xlsx"), as_of)
            written.append((workbook, summaries[key].open))
    rows = [summaries[key].summary_row(key) for key in order]
    summary = write_csv_file(folder / f"cear-{month}-summary.csv", SUMMARY_FIELDS, rows)
    written.append(summary)
    if xlsx:
        workbook = write_xlsx_file(summary[0], summary[0].with_suffix(".xlsx"), as_of)
        written.append((workbook, summary[1]))
    return written, {key: summaries[key] for key in order}


def write_rejects(path: Path, rejected: Iterable[tuple[RowError, Row]]) -> None:
    """The rows an import skipped, with the file, line, column and reason of each, as CSV."""
    with path.open("w", encoding="utf-8-sig", newline="") as handle:
        write_csv(
            handle,
            ("file", "line", "column", "reason", "row"),
            (
                {
                    "file": error.path,
                    "line": error.line,
                    "column": error.column,
                    "reason": error.reason,
                    "row": ",".join(row.cells),
                }
                for error, row in rejected
            ),
        )


def export_cear(
    folder: Path,
    month: str,
    as_of: date,
    thresholds: Thresholds,
    *,
    session: Session,
    offices: Mapping[str, str],
    centers: Sequence[str | None] = (),
    xlsx: bool = False,
) -> tuple[list[tuple[Path, int]], dict[str, CenterSummary]]:
    """The CEAR files of `month` in `folder`, from the store's open cases assessed on `as_of`
    (only those of `centers` when given), computed by the database (`reports/case_lines`);
    see finish_cear_files."""
    first, last = month_bounds(month)
    summaries = write_cear_lines(
        folder, month, as_of, thresholds, session=session, offices=offices, centers=centers
    )
    return finish_cear_files(
        folder,
        month,
        as_of,
        summaries,
        waivers_in_month=waivers_signed_between(first, last, session=session),
        xlsx=xlsx,
    )


def export_cases(
    path: Path,
    today: date,
    thresholds: Thresholds,
    *,
    session: Session,
    offices: Mapping[str, str],
) -> int:
    """`export cases` into `path` (through a `.partial` twin): every case as of `today`,
    computed by the database (`reports/case_lines`); returns how many."""
    partial = path.with_name(path.name + ".partial")
    with partial.open("w", encoding="utf-8-sig", newline="") as handle:
        count = write_case_lines(handle, today, thresholds, session=session, offices=offices)
    partial.replace(path)
    return count


DATE_FIELDS = frozenset(
    {
        "limitation_date",
        "fallback_limitation_date",
        "file_by_date",
        "recorded_sol_date",
        "last_action_date",
    }
)


def write_xlsx_file(source: Path, target: Path, stamp: date) -> Path:
    """A typed workbook from a CSV solwatch wrote: codes and names as text cells (so `0901`
    keeps its zero and nothing is read as a formula), dates as dates, numbers as numbers.

    Its document and zip timestamps are `stamp`, so the same data gives the same bytes."""
    import csv

    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet(source.stem[:31])
    with source.open(encoding="utf-8-sig", newline="") as handle:
        reader = csv.reader(handle)
        header = next(reader)
        sheet.append(header)
        kinds = [_cell_kind(name) for name in header]
        for cells in reader:
            sheet.append(
                [_typed(sheet, kind, text) for kind, text in zip(kinds, cells, strict=True)]
            )
    midnight = datetime(stamp.year, stamp.month, stamp.day)  # noqa: DTZ001  (a document date)
    workbook.properties.created = workbook.properties.modified = midnight
    partial = target.with_name(target.name + ".partial")
    workbook.save(partial)
    _pin_zip_times(partial, midnight)
    partial.replace(target)
    return target


def _pin_zip_times(path: Path, when: datetime) -> None:
    """Rewrite a workbook with every zip entry, and its "modified" property, dated `when`:
    both carry the clock time at saving."""
    import re
    import zipfile

    with zipfile.ZipFile(path) as source:
        entries = [(info.filename, source.read(info)) for info in source.infolist()]
    modified = when.strftime("%Y-%m-%dT%H:%M:%SZ").encode()
    entries = [
        (
            name,
            re.sub(
                rb"(<dcterms:modified[^>]*>)[^<]*(</dcterms:modified>)",
                rb"\g<1>" + modified + rb"\g<2>",
                data,
            )
            if name == "docProps/core.xml"
            else data,
        )
        for name, data in entries
    ]
    stamp = (when.year, when.month, when.day, 0, 0, 0)
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as target:
        for name, data in entries:
            target.writestr(
                zipfile.ZipInfo(name, date_time=stamp), data, compress_type=zipfile.ZIP_DEFLATED
            )


SUMMARY_NUMBERS = frozenset(SUMMARY_FIELDS) - {"center"} | {"days_since_action"}
DAY, NUMBER, DOLLARS, TEXT = "day", "number", "dollars", "text"


def _cell_kind(name: str) -> str:
    if name in DATE_FIELDS:
        return DAY
    if name.endswith(("_amount", "_uncollected")):
        return DOLLARS
    if name in NUMERIC_FIELDS or name in SUMMARY_NUMBERS:
        return NUMBER
    return TEXT


def _typed(sheet: Any, kind: str, text: str) -> Any:
    """One cell's value: plain Python values where openpyxl types them right by itself (most
    cells, and the fast path), a cell object only for dollars (two decimals shown) and for
    text a spreadsheet could take for a formula, which is pinned as text."""
    if text == "":
        return None
    if kind == DAY:
        return date.fromisoformat(text)
    if kind == NUMBER:
        return int(text)
    if kind == DOLLARS:
        cell = WriteOnlyCell(sheet, value=float(text))
        cell.number_format = "0.00"
        return cell
    if _neutralized(text):
        text = text[1:]
    if text.startswith(FORMULA_STARTS):
        cell = WriteOnlyCell(sheet, value=text)
        cell.data_type = "s"
        return cell
    return text


def _neutralized(text: str) -> bool:
    """A cell the CSV writer prefixed with an apostrophe; a text cell needs no such guard."""
    return text.startswith("'") and text[1:2] in FORMULA_STARTS
