"""Tolling under 19 U.S.C. §1621(2): absence from the United States and concealment or absence
of the property are not counted toward the five years."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, timedelta

from solwatch.core.facts import TollingPeriod
from solwatch.core.steps import SRC_1621_2, Step


def merge_periods(periods: Sequence[TollingPeriod]) -> list[tuple[date, date]]:
    """The union of closed date ranges, as sorted disjoint closed ranges."""
    merged: list[tuple[date, date]] = []
    for period in sorted(periods, key=lambda p: (p.start, p.end)):
        if merged and period.start <= merged[-1][1] + timedelta(days=1):
            start, end = merged[-1]
            merged[-1] = (start, max(end, period.end))
        else:
            merged.append((period.start, period.end))
    return merged


def _days_inside(ranges: Sequence[tuple[date, date]], after: date, through: date) -> int:
    """Days of `ranges` that fall after `after` and on or before `through`."""
    total = 0
    for start, end in ranges:
        first = max(start, after + timedelta(days=1))
        last = min(end, through)
        if first <= last:
            total += (last - first).days + 1
    return total


def apply_tolling(
    clock_start: date, deadline: date, periods: Sequence[TollingPeriod]
) -> tuple[date, list[Step]]:
    """Extend `deadline` by the days of `periods` inside the running period, until stable.

    Days added can reach into a later period, whose days then count too; the loop ends because
    the deadline only ever moves later and the periods are finite.
    """
    ranges = merge_periods(periods)
    if not ranges:
        return deadline, []
    running = deadline
    while True:
        days = _days_inside(ranges, clock_start, running)
        extended = deadline + timedelta(days=days)
        if extended == running:
            break
        running = extended
    if running == deadline:
        return deadline, [
            Step(
                f"Tolling periods on file fall outside the running period "
                f"({clock_start.isoformat()} to {deadline.isoformat()}): nothing added.",
                SRC_1621_2,
                deadline,
            )
        ]
    days = (running - deadline).days
    spans = ", ".join(f"{start.isoformat()} to {end.isoformat()}" for start, end in ranges)
    return running, [
        Step(
            f"Absence or concealment ({spans}) is not counted: {days} day(s) fall inside the "
            f"running period, so {deadline.isoformat()} moves to {running.isoformat()}.",
            SRC_1621_2,
            running,
        )
    ]
