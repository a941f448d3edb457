"""Report rows: a stored case assessed on a given day, as the fields of interface.md §3."""

from __future__ import annotations

import csv
from collections.abc import Iterable, Mapping, Sequence
from datetime import date
from typing import IO, Any

from solwatch.core.assessment import Assessment
from solwatch.core.dates import file_by_date
from solwatch.core.money import dollars
from solwatch.core.steps import Step

# A fraud case's negligence alternative: days left on it, and the flags raised only on it.
FALLBACK_FIELDS = ("fallback_days_remaining", "fallback_flags")
# A case past its limit while coded open: its triage verdict and the facts it rests on; and
# staff's correction in force (`solwatch resolve`), which the source record must be given too.
TRIAGE_FIELDS = ("triage", "triage_reason", "resolved_status", "resolved_date")
CASE_FIELDS = (
    "case_number",
    "case_type",
    "statute",
    "culpability",
    "status",
    "center",
    "port_code",
    "fpf_office",
    "importer_name",
    "importer_number",
    "rule",
    "limitation_date",
    "fallback_limitation_date",
    "file_by_date",
    "days_remaining",
    "recorded_sol_date",
    "entries_total",
    "entries_expired",
    "waivers",
    "alerts",
    "assessed_amount",
    "collected_amount",
    "uncollected_amount",
    # solwatch's own additions, after the contract's columns
    "entries_expired_loss_amount",
    "missing_field",
    *FALLBACK_FIELDS,
    *TRIAGE_FIELDS,
)
NUMERIC_FIELDS = frozenset(
    {
        "days_remaining",
        "fallback_days_remaining",
        "entries_total",
        "entries_expired",
        "waivers",
        "assessed_amount",
        "collected_amount",
        "uncollected_amount",
        "entries_expired_loss_amount",
        "days_since_action",
    }
)


def _iso(day: date | None) -> str | None:
    return day.isoformat() if day else None


def case_row(assessment: Assessment, offices: Mapping[str, str]) -> dict[str, Any]:
    """The case object of interface.md §3 (JSON values: strings, ints, lists, None)."""
    record, standing = assessment.record, assessment.standing
    limit = standing.limitation_date
    return {
        "case_number": record.case_number,
        "case_type": record.case_type,
        "statute": record.statute,
        "culpability": record.culpability,
        "status": record.status,
        "center": record.center,
        "port_code": record.port_code,
        "fpf_office": offices.get(record.port_code or ""),
        "importer_name": record.importer_name,
        "importer_number": record.importer_number,
        "rule": record.rule,
        "limitation_date": _iso(limit),
        "fallback_limitation_date": _iso(
            assessment.fallback.limitation_date if assessment.fallback else None
        ),
        "file_by_date": _iso(file_by_date(limit) if limit else None),
        "days_remaining": standing.days_remaining,
        "recorded_sol_date": _iso(record.sol_date),
        "entries_total": record.entries_total,
        "entries_expired": standing.entries_expired,
        "waivers": record.waivers_total,
        "alerts": [alert.value for alert in assessment.alerts],
        "assessed_amount": dollars(record.assessed_cents),
        "collected_amount": dollars(record.collected_cents),
        "uncollected_amount": dollars(record.uncollected_cents),
        "entries_expired_loss_amount": dollars(standing.expired_loss_cents),
        "missing_field": record.missing_field,
        "fallback_days_remaining": (
            assessment.fallback.days_remaining if assessment.fallback else None
        ),
        "fallback_flags": sorted(record.fallback_flags),
        "triage": assessment.verdict,
        "triage_reason": record.triage_reason if assessment.verdict else None,
        "resolved_status": record.resolved_status,
        "resolved_date": _iso(record.resolved_date),
    }


def step_rows(steps: Iterable[Step]) -> list[dict[str, Any]]:
    """The `explanation` of `show --format json`: each step's text, source and running date."""
    return [
        {"text": s.text, "source": s.source, "date": s.result.isoformat() if s.result else None}
        for s in steps
    ]


FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def safe_cell(name: str, value: Any) -> str:
    """A CSV cell no spreadsheet will run as a formula (OWASP CSV injection guidance).

    Text that starts with a formula character gets a leading apostrophe; the numbers solwatch
    itself writes (negative day counts among them) are left as numbers.
    """
    if value is None:
        return ""
    if isinstance(value, list):
        value = ";".join(value)
    text = str(value)
    if name not in NUMERIC_FIELDS and text.startswith(FORMULA_STARTS):
        return "'" + text
    return text


class CsvRows:
    """RFC 4180 CSV (CRLF line ends, minimal quoting), header first, every cell formula-safe."""

    def __init__(self, stream: IO[str], fields: Sequence[str]) -> None:
        self.fields = fields
        self.writer = csv.writer(stream, lineterminator="\r\n")
        self.writer.writerow(fields)
        self.count = 0

    def write(self, row: Mapping[str, Any]) -> None:
        self.writer.writerow([safe_cell(name, row.get(name)) for name in self.fields])
        self.count += 1


def write_csv(stream: IO[str], fields: Sequence[str], rows: Iterable[Mapping[str, Any]]) -> int:
    """Write a whole CSV; returns the number of rows."""
    out = CsvRows(stream, fields)
    for row in rows:
        out.write(row)
    return out.count


def write_json_list(stream: IO[str], rows: Iterable[Mapping[str, Any]]) -> None:
    """A JSON array with one object per line: valid JSON, readable, and written with the C
    encoder (an indented dump of a hundred thousand cases is several times slower)."""
    import json

    stream.write("[")
    separator = "\n"
    for row in rows:
        stream.write(separator + json.dumps(row, ensure_ascii=False))
        separator = ",\n"
    stream.write("\n]\n")
