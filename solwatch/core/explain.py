"""The explanation a user reads: the engine's own steps, in order, ending with the date."""

from __future__ import annotations

from datetime import date

from solwatch.core.alerts import Standing
from solwatch.core.dates import file_by_date, holiday_name, weekday_name
from solwatch.core.limitations import Limitation
from solwatch.core.steps import SRC_1621, SRC_LIU, SRC_WEEKEND, Step


def _clock_steps(limitation: Limitation, prefix: str = "") -> list[Step]:
    steps = [Step(prefix + step.text, step.source, step.result) for step in limitation.steps]
    several = len(limitation.clocks) > 1
    for clock in limitation.clocks:
        label = f"{clock.label[:1].upper()}{clock.label[1:]}: " if several else ""
        steps += [
            Step(prefix + label + step.text, step.source, step.result) for step in clock.steps
        ]
    return steps


def _as_of_step(limitation: Limitation, standing: Standing, today: date, prefix: str) -> Step:
    limit = standing.limitation_date
    assert limit is not None
    if len(limitation.clocks) > 1:
        total = len(limitation.clocks)
        if standing.entries_expired == total:
            text = (
                f"As of {today.isoformat()} all {total} entry clocks have run; the latest "
                f"limit, {limit.isoformat()}, is the case's limitation date."
            )
        else:
            text = (
                f"As of {today.isoformat()}, {standing.entries_expired} of {total} entry "
                f"clocks have run; the earliest one still running ends {limit.isoformat()}, "
                f"the case's limitation date."
            )
        return Step(prefix + text, SRC_LIU, limit)
    return Step(
        prefix + f"Limitation date: {limit.isoformat()} ({weekday_name(limit)}).", SRC_1621, limit
    )


def explain(
    limitation: Limitation,
    standing: Standing,
    today: date,
    fallback: Standing | None = None,
) -> list[Step]:
    """Every step of the derivation; the last step that carries a date carries the
    case's limitation date on `today`."""
    steps = []
    if (
        limitation.fallback is not None
        and fallback is not None
        and fallback.limitation_date is not None
    ):
        steps += _clock_steps(limitation.fallback, "Fallback: ")
        steps.append(
            Step(
                f"Fallback: {fallback.limitation_date.isoformat()} is the negligence "
                f"alternative's limit if fraud is not proven. It raises its own alerts "
                f"(fallback-due, fallback-expired) and never replaces the fraud date.",
                SRC_1621,
                None,
            )
        )
    steps += _clock_steps(limitation)
    limit = standing.limitation_date
    if limit is None:
        return steps
    steps.append(_as_of_step(limitation, standing, today, ""))
    file_by = file_by_date(limit)
    if file_by != limit:
        why = holiday_name(limit) or weekday_name(limit)
        steps.append(
            Step(
                f"{limit.isoformat()} falls on a {why}. FRCP 6(a)(1)(C) and Wood-Ivey would roll "
                f"a last day on a weekend or holiday forward to the next business day, but no "
                f"§1621 ruling says so, and solwatch never moves the limit later: file by "
                f"{file_by.isoformat()} ({weekday_name(file_by)}), the business day before.",
                SRC_WEEKEND,
            )
        )
    return steps
