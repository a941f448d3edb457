"""A stored case assessed on a given day: where its limit stands and which alerts it raises.

Pure: the store hands in a `CaseRecord` (its materialized, day-independent summary) and the
clocks when only they can tell; nothing here reads a database or the clock.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from solwatch.core.alerts import (
    AlertKind,
    Standing,
    Thresholds,
    classify,
    days_since_action,
    stand,
    stand_from_summary,
)
from solwatch.core.limitations import Limitation, has_prepenalty_notice


@dataclass(frozen=True, slots=True)
class CaseRecord:
    """A stored case with its materialized limitation summary (independent of any day).

    Slotted: a record has more fields than Python shares the keys of instance dicts for, and
    the streamed reads hold thousands at a time."""

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
    # The triage verdict the case gets once its limit has passed (core/triage), and why.
    triage: str | None = None
    triage_reason: str | None = None
    # A correction staff recorded (`solwatch resolve`) that the extract does not show yet.
    resolved_status: str | None = None
    resolved_date: date | None = None

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

    @property
    def verdict(self) -> str | None:
        """The triage verdict of a case past its limit while coded open; None otherwise."""
        return self.record.triage if AlertKind.EXPIRED in self.alerts else None


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
        resolved=record.resolved_status is not None,
    )
    return Assessment(record, today, standing, fallback, alerts, days_idle)


def urgency(assessment: Assessment) -> tuple[int, int, str]:
    """Most urgent first: no computable date (it may already have run), then fewest days left."""
    days = assessment.standing.days_remaining
    return (0 if days is None else 1, days or 0, assessment.record.case_number)
