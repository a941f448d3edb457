"""Report rows: a stored case assessed on a given day, as the fields of interface.md §3."""

from __future__ import annotations

import csv
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from typing import IO, Any

from solwatch.alerts import (
    AlertKind,
    Standing,
    Thresholds,
    classify,
    days_since_action,
    stand,
    stand_from_summary,
)
from solwatch.dates import file_by_date
from solwatch.limitations import Limitation, has_prepenalty_notice

# A fraud case's negligence alternative: days left on it, and the flags raised only on it.
FALLBACK_FIELDS = ("fallback_days_remaining", "fallback_flags")
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


@dataclass(frozen=True)
class CaseRecord:
    """A stored case with its materialized limitation summary (independent of any day)."""

    case_number: str
    case_type: str
    statute: str | None
    culpability: str | None
    status: str
    is_open: bool
    center: str | None
    port_code: str | None
    importer_name: str | None
    importer_number: str | None
    violation_date: date | None
    discovery_date: date | None
    initiated_date: date | None
    last_action_date: date | None
    sol_date: date | None
    assessed_cents: int | None
    collected_cents: int | None
    rule: str | None
    limitation_date: date | None
    last_limitation_date: date | None
    fallback_date: date | None
    last_fallback_date: date | None
    missing_field: str | None
    flags: frozenset[str]
    entries_total: int
    entries_loss_cents: int
    waivers_total: int
    fallback_flags: frozenset[str] = frozenset()

    @property
    def uncollected_cents(self) -> int | None:
        """Assessed less collected, never below zero; None when nothing was assessed."""
        if self.assessed_cents is None:
            return None
        return max(0, self.assessed_cents - (self.collected_cents or 0))

    def needs_clocks(self, today: date) -> bool:
        """Whether only the per-entry clocks can say where the case stands on `today`."""
        return any(
            stand_from_summary(first, last, today, entries_total=0, entries_loss_cents=0) is None
            for first, last in (
                (self.limitation_date, self.last_limitation_date),
                (self.fallback_date, self.last_fallback_date),
            )
        )


@dataclass(frozen=True)
class Assessment:
    """A case on one day: where its limit stands and which alerts it raises."""

    record: CaseRecord
    today: date
    standing: Standing
    fallback: Standing | None
    alerts: tuple[AlertKind, ...]
    days_idle: int | None


def _standing_of(limitation: Limitation, today: date, record: CaseRecord) -> Standing:
    clocks = [(clock.limit, clock.loss_cents) for clock in limitation.clocks]
    return stand(
        clocks,
        today,
        per_entry=bool(limitation.entry_clocks),
        entries_total=record.entries_total,
        entries_loss_cents=record.entries_loss_cents,
    )


def assess(
    record: CaseRecord,
    today: date,
    thresholds: Thresholds,
    limitation: Limitation | None = None,
) -> Assessment:
    """Assess `record` on `today`. `limitation` is needed when `record.needs_clocks(today)`."""
    standing = stand_from_summary(
        record.limitation_date,
        record.last_limitation_date,
        today,
        entries_total=record.entries_total,
        entries_loss_cents=record.entries_loss_cents,
    )
    fallback: Standing | None = None
    if record.fallback_date is not None:
        fallback = stand_from_summary(
            record.fallback_date,
            record.last_fallback_date,
            today,
            entries_total=0,
            entries_loss_cents=0,
        )
    if standing is None or (record.fallback_date is not None and fallback is None):
        if limitation is None:
            raise ValueError(f"{record.case_number}: per-entry clocks are needed on {today}")
        if standing is None:
            standing = _standing_of(limitation, today, record)
        if fallback is None and limitation.fallback is not None:
            fallback = _standing_of(limitation.fallback, today, record)
    days_idle = days_since_action(record.last_action_date, record.initiated_date, today)
    alerts = classify(
        is_open=record.is_open,
        standing=standing,
        missing=record.missing_field,
        recorded_sol=record.sol_date,
        flags=record.flags,
        days_idle=days_idle,
        thresholds=thresholds,
        prepenalty=has_prepenalty_notice(record.case_type, record.statute),
        fallback=fallback,
    )
    return Assessment(record, today, standing, fallback, alerts, days_idle)


def urgency(assessment: Assessment) -> tuple[int, int, str]:
    """Most urgent first: no computable date (it may already have run), then fewest days left."""
    days = assessment.standing.days_remaining
    return (0 if days is None else 1, days or 0, assessment.record.case_number)


def dollars(cents: int | None) -> str | None:
    if cents is None:
        return None
    sign = "-" if cents < 0 else ""
    whole, part = divmod(abs(cents), 100)
    return f"{sign}{whole}.{part:02d}"


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
    }


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
