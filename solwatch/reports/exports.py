"""Writing export files: whole or not at all, UTF-8 with a byte-order mark for spreadsheets."""

from __future__ import annotations

import os
import secrets
import stat
from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import IO, Any

from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE
from sqlmodel import Session

from solwatch.core.alerts import Thresholds
from solwatch.reports.case_lines import write_case_lines, write_cear_lines, write_fpf_lines
from solwatch.reports.cear import (
    CEAR_FIELDS,
    NO_CENTER,
    SUMMARY_FIELDS,
    CenterSummary,
    FpfOffice,
    month_bounds,
)
from solwatch.reports.rows import FORMULA_STARTS, NUMERIC_FIELDS, write_csv
from solwatch.reports.stats import CENTER_ORDER
from solwatch.store.cases import waivers_signed_between
from solwatch.store.extract import REJECT_REASON, header_key
from solwatch.store.importer import Rejected


class OutputError(ValueError):
    """A place an output cannot be written to; the message names it and says why."""


def _kind_of(mode: int) -> str:
    kinds = (
        (stat.S_ISDIR, "a folder"),
        (stat.S_ISCHR, "a character device"),
        (stat.S_ISBLK, "a block device"),
        (stat.S_ISFIFO, "a named pipe"),
        (stat.S_ISSOCK, "a socket"),
    )
    return next((name for test, name in kinds if test(mode)), "not a regular file")


def output_path(path: Path) -> Path:
    """The file `path` names, symbolic links followed, if solwatch may write it: a regular
    file, or none yet in a folder that exists. OutputError otherwise: solwatch never replaces
    a folder, a device, a pipe or a socket, and never creates folders for a file."""
    target = Path(os.path.realpath(path))
    try:
        mode = target.stat().st_mode
    except FileNotFoundError:
        mode = None
    if mode is not None and not stat.S_ISREG(mode):
        raise OutputError(f"{path}: {_kind_of(mode)}, not a regular file; solwatch writes files")
    if not target.parent.is_dir():
        raise OutputError(f"{path}: there is no folder {target.parent}")
    return target


def output_folder(path: Path) -> Path:
    """`path` as a folder for output files, made if it does not exist yet (its parent must:
    as for a file, solwatch never creates a chain of folders); OutputError otherwise."""
    try:
        mode = path.stat().st_mode
    except FileNotFoundError:
        if not path.parent.is_dir():
            raise OutputError(f"{path}: there is no folder {path.parent}") from None
        path.mkdir()
        return path
    if not stat.S_ISDIR(mode):
        raise OutputError(f"{path}: {_kind_of(mode).replace('a folder', 'a file')}, not a folder")
    return path


def _create_partial(target: Path) -> tuple[Path, int]:
    """A new, empty twin of `target` in its folder, created exclusively (never an existing
    file, pipe or link of the same name), and its descriptor."""
    while True:
        partial = target.with_name(f"{target.name}.{secrets.token_hex(4)}.partial")
        try:
            return partial, os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
        except FileExistsError:
            continue


@contextmanager
def replacing(path: Path, *, binary: bool = False) -> Iterator[IO[Any]]:
    """A handle on a twin of `path` (UTF-8 text with a byte-order mark, or `binary`) that
    replaces `path` when the block completes and is removed if it fails: a reader sees the
    old file or the whole new one, and no `.partial` is left behind."""
    target = output_path(path)
    partial, descriptor = _create_partial(target)
    try:
        handle = (
            os.fdopen(descriptor, "wb")
            if binary
            else os.fdopen(descriptor, "w", encoding="utf-8-sig", newline="")
        )
        with handle:
            yield handle
        partial.replace(target)
    except BaseException:
        partial.unlink(missing_ok=True)
        raise


def write_bytes_file(path: Path, data: bytes) -> Path:
    """Write `data` whole or not at all (see replacing)."""
    with replacing(path, binary=True) as handle:
        handle.write(data)
    return path


def write_csv_file(
    path: Path, fields: Sequence[str], rows: Iterable[Mapping[str, Any]]
) -> tuple[Path, int]:
    """Write a CSV file whole or not at all (see replacing)."""
    with replacing(path) as handle:
        count = write_csv(handle, fields, rows)
    return path, count


class _GroupFiles:
    """One CSV per key (`<stem>-<key>.csv`) with the CEAR columns, each written through a
    `.partial` twin as the lines stream by (`reports/case_lines`)."""

    def __init__(self, folder: Path, stem: str) -> None:
        self.folder, self.stem = folder, stem
        self.handles: dict[str, IO[str]] = {}
        self.partials: dict[str, Path] = {}

    def path(self, key: str) -> Path:
        return self.folder / f"{self.stem}-{key}.csv"

    def open(self, key: str) -> IO[str]:
        """The handle of `key`'s file, its header written, opened on first use."""
        if key not in self.handles:
            self.partials[key], descriptor = _create_partial(output_path(self.path(key)))
            handle = os.fdopen(descriptor, "w", encoding="utf-8-sig", newline="")
            self.handles[key] = handle
            write_csv(handle, CEAR_FIELDS, ())
        return self.handles[key]

    def close(self) -> None:
        for handle in self.handles.values():
            handle.close()

    def discard(self) -> None:
        """Remove the twins not yet put in place: a failed export leaves no `.partial`."""
        for partial in self.partials.values():
            partial.unlink(missing_ok=True)

    def finish(
        self, order: Sequence[str], summaries: Mapping[str, CenterSummary], as_of: date, xlsx: bool
    ) -> list[tuple[Path, int]]:
        """Put each file (in `order`) in place, with its workbook twin when `xlsx`."""
        written = []
        for key in order:
            path, count = self.path(key), len(summaries[key].case_numbers)
            self.partials.pop(key).replace(path)
            written.append((path, count))
            if xlsx:
                written.append((write_xlsx_file(path, path.with_suffix(".xlsx"), as_of), count))
        return written


@dataclass
class CearFiles:
    """What export_cear wrote: the files with their row counts, each Center's summary
    (files in Center order), and each FP&F office's (in the order of `fpf`)."""

    written: list[tuple[Path, int]]
    centers: dict[str, CenterSummary]
    offices: dict[str, CenterSummary] = field(default_factory=dict)


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
    fpf: Sequence[FpfOffice] = (),
) -> CearFiles:
    """The CEAR files of `month` in `folder`, from the store's open cases on `as_of` (only
    those of `centers` when given): `cear-MONTH-<center>.csv` per Center with open cases and
    `cear-MONTH-summary.csv`; and for each FP&F office of `fpf` its SOL report
    `fpf-MONTH-<office>.csv` (the same columns, the open cases of its ports; written even
    when it has none). Each has a typed `.xlsx` twin when `xlsx` (slow at scale: openpyxl
    writes cell by cell).

    The lines are computed by the database (`reports/case_lines`), most urgent first, and go
    straight to their file, so memory holds counts, not cases. Files appear whole or not at
    all."""
    first, last = month_bounds(month)
    folder.mkdir(parents=True, exist_ok=True)
    files = _GroupFiles(folder, f"cear-{month}")
    reports = _GroupFiles(folder, f"fpf-{month}")
    options: dict[str, Any] = {"session": session, "offices": offices}
    try:
        try:
            summaries = write_cear_lines(files.open, as_of, thresholds, centers=centers, **options)
            by_office = {}
            if fpf:
                office_of_port = {port: office.key for office in fpf for port in office.ports}
                by_office = write_fpf_lines(
                    reports.open, as_of, thresholds, office_of_port=office_of_port, **options
                )
        finally:
            files.close()
            reports.close()
        waivers_in_month = waivers_signed_between(first, last, session=session)
        order = sorted(summaries, key=lambda key: CENTER_ORDER.get(key, len(CENTER_ORDER)))
        for key in order:
            summaries[key].waivers_signed_in_month = waivers_in_month.get(
                None if key == NO_CENTER else key, 0
            )
        written = files.finish(order, summaries, as_of, xlsx)
        rows = [summaries[key].summary_row(key) for key in order]
        summary = write_csv_file(folder / f"cear-{month}-summary.csv", SUMMARY_FIELDS, rows)
        written.append(summary)
        if xlsx:
            workbook = write_xlsx_file(summary[0], summary[0].with_suffix(".xlsx"), as_of)
            written.append((workbook, summary[1]))
        keys = [office.key for office in fpf]
        written += reports.finish(keys, by_office, as_of, xlsx)
    except BaseException:
        files.discard()
        reports.discard()
        raise
    return CearFiles(
        written,
        {key: summaries[key] for key in order},
        {key: by_office[key] for key in keys},
    )


class RejectFiles:
    """Where an import's rejected rows go, so that they can be corrected and imported again:
    each extract file's rejected rows as CSV with that file's own header plus `reason` (or
    `reject_reason`, when the header has a `reason` column), the cells as they were.

    The first file with rejected rows writes `path`; each other one a file beside it named
    after its extract (`rejects.csv`, `rejects-entries.csv`). Every one of these places is
    checked when the object is made, before anything is imported (OutputError; never an
    input file), written before the import commits, and put in place after.
    """

    def __init__(self, path: Path, inputs: Sequence[Path]) -> None:
        self.path = path
        self.siblings = {
            str(source): path.with_name(f"{path.stem}-{source.stem}{path.suffix or '.csv'}")
            for source in inputs
        }
        self.partials: list[tuple[Path, Path]] = []
        self.written: list[tuple[Path, int]] = []
        for target in (path, *self.siblings.values()):
            checked = output_path(target)
            for source in inputs:
                if _same_file(checked, source):
                    raise OutputError(f"{target}: is the input file {source}; name another file")
            partial, descriptor = _create_partial(checked)  # proves the folder writable
            os.close(descriptor)
            partial.unlink()

    def write(self, rejected: Sequence[Rejected]) -> None:
        """Write the rejected rows, grouped by the file they came from, to their places'
        twins (put in place by `commit`)."""
        groups: dict[str, list[Rejected]] = {}
        for item in rejected:
            groups.setdefault(item.path, []).append(item)
        for number, (source, items) in enumerate(groups.items()):
            place = self.path if number == 0 else self.siblings[source]
            target = output_path(place)
            try:
                partial, descriptor = _create_partial(target)
                self.partials.append((partial, target))
                with os.fdopen(descriptor, "w", encoding="utf-8-sig", newline="") as handle:
                    _write_rejected(handle, items)
            except OSError as error:
                raise OutputError(f"{place}: cannot write: {error.strerror or error}") from None
            self.written.append((place, len(items)))

    def commit(self) -> None:
        for partial, target in self.partials:
            partial.replace(target)
        self.partials = []

    def discard(self) -> None:
        for partial, _ in self.partials:
            partial.unlink(missing_ok=True)
        self.partials, self.written = [], []


def _same_file(target: Path, source: Path) -> bool:
    try:
        return os.path.samefile(target, source)
    except OSError:
        return Path(os.path.realpath(target)) == Path(os.path.realpath(source))


def _write_rejected(handle: IO[str], items: Sequence[Rejected]) -> None:
    import csv

    header = items[0].header
    keys = {header_key(title) for title in header}
    reason = REJECT_REASON[0] if header_key(REJECT_REASON[0]) not in keys else REJECT_REASON[1]
    writer = csv.writer(handle, lineterminator="\r\n")
    writer.writerow([*header, reason])
    width = len(header)
    for item in items:
        cells = item.row.cells
        padded = [*cells[:width], *[""] * (width - len(cells))]
        writer.writerow([*padded, item.reason, *cells[width:]])


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
    with replacing(path) as handle:
        return write_case_lines(handle, today, thresholds, session=session, offices=offices)


DATE_FIELDS = frozenset(
    {
        "limitation_date",
        "fallback_limitation_date",
        "file_by_date",
        "recorded_sol_date",
        "last_action_date",
        "resolved_date",
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
    partial, descriptor = _create_partial(output_path(target))
    os.close(descriptor)
    try:
        workbook.save(partial)
        _pin_zip_times(partial, midnight)
        partial.replace(target)
    except BaseException:
        partial.unlink(missing_ok=True)
        raise
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
    # A zip entry's date runs from 1980 to 2107: a month outside (an --as-of far off) is
    # stamped with the nearest date the format can hold.
    day = min(max(when.date(), date(1980, 1, 1)), date(2107, 12, 31))
    stamp = (day.year, day.month, day.day, 0, 0, 0)
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
    # A control character (from a store filled before imports refused them) cannot go into a
    # worksheet: shown as U+FFFD, the replacement character, rather than failing the workbook.
    text = ILLEGAL_CHARACTERS_RE.sub("\ufffd", text)
    if text.startswith(FORMULA_STARTS):
        cell = WriteOnlyCell(sheet, value=text)
        cell.data_type = "s"
        return cell
    return text


def _neutralized(text: str) -> bool:
    """A cell the CSV writer prefixed with an apostrophe; a text cell needs no such guard."""
    return text.startswith("'") and text[1:2] in FORMULA_STARTS
