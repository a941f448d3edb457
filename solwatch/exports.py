"""Writing export files: whole or not at all, UTF-8 with a byte-order mark for spreadsheets."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import IO, Any

from solwatch.cear import (
    CEAR_FIELDS,
    NO_CENTER,
    SUMMARY_FIELDS,
    CenterSummary,
    cear_row,
    file_key,
)
from solwatch.reports import Assessment, CsvRows, write_csv
from solwatch.stats import CENTER_ORDER


def write_csv_file(
    path: Path, fields: Sequence[str], rows: Iterable[Mapping[str, Any]]
) -> tuple[Path, int]:
    """Write a CSV file through a `.partial` twin, so a reader never sees half a file."""
    partial = path.with_name(path.name + ".partial")
    with partial.open("w", encoding="utf-8-sig", newline="") as handle:
        count = write_csv(handle, fields, rows)
    partial.replace(path)
    return path, count


def write_cear_files(
    folder: Path,
    month: str,
    assessments: Iterable[Assessment],
    *,
    offices: Mapping[str, str],
    waivers_in_month: Mapping[str | None, int],
) -> tuple[list[tuple[Path, int]], dict[str, CenterSummary]]:
    """`cear-MONTH-<center>.csv` per Center with open cases and `cear-MONTH-summary.csv`.

    `assessments` come most urgent first; each open case goes straight to its Center's file,
    so memory holds counts, not cases. Files appear whole or not at all.
    """
    folder.mkdir(parents=True, exist_ok=True)
    handles: dict[str, IO[str]] = {}
    writers: dict[str, CsvRows] = {}
    summaries: dict[str, CenterSummary] = {}
    try:
        for assessment in assessments:
            if not assessment.record.is_open:
                continue
            key = file_key(assessment.record.center)
            if key not in writers:
                partial = folder / f"cear-{month}-{key}.csv.partial"
                handles[key] = partial.open("w", encoding="utf-8-sig", newline="")
                writers[key] = CsvRows(handles[key], CEAR_FIELDS)
                summaries[key] = CenterSummary()
            writers[key].write(cear_row(assessment, offices))
            summaries[key].add(assessment)
    finally:
        for handle in handles.values():
            handle.close()
    order = sorted(summaries, key=lambda key: CENTER_ORDER.get(key, len(CENTER_ORDER)))
    written = []
    for key in order:
        summaries[key].waivers_signed_in_month = waivers_in_month.get(
            None if key == NO_CENTER else key, 0
        )
        path = folder / f"cear-{month}-{key}.csv"
        path.with_name(path.name + ".partial").replace(path)
        written.append((path, writers[key].count))
    rows = [summaries[key].summary_row(key) for key in order]
    written.append(write_csv_file(folder / f"cear-{month}-summary.csv", SUMMARY_FIELDS, rows))
    return written, {key: summaries[key] for key in order}
