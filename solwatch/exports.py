"""Writing export files: whole or not at all, UTF-8 with a byte-order mark for spreadsheets."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

from solwatch.cear import CEAR_FIELDS, SUMMARY_FIELDS, CenterSummary
from solwatch.reports import write_csv


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
    folder: Path, month: str, centers: Mapping[str, CenterSummary]
) -> list[tuple[Path, int]]:
    """`cear-MONTH-<center>.csv` per Center and `cear-MONTH-summary.csv`, in `folder`."""
    folder.mkdir(parents=True, exist_ok=True)
    written = [
        write_csv_file(folder / f"cear-{month}-{key}.csv", CEAR_FIELDS, summary.rows)
        for key, summary in centers.items()
    ]
    rows = [summary.summary_row(key) for key, summary in centers.items()]
    written.append(write_csv_file(folder / f"cear-{month}-summary.csv", SUMMARY_FIELDS, rows))
    return written
