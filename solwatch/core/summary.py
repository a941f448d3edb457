"""The limitation rules without their explanations: a case's clocks and its `Summary`, for the
bulk paths (import, recompute, exports).

`core/limitations.compute_limitation` builds every step of a derivation, which is what `show`
explains; at a million cases the steps cost several times the arithmetic. This module follows
the same rules, in the same order, and keeps only the dates, losses, flags and the missing
field. `tests/core/test_summary.py` proves the two agree on generated cases.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, timedelta
from typing import NamedTuple

from solwatch.core.dates import add_years
from solwatch.core.facts import (
    RESTARTS_2415,
    CaseFacts,
    CaseType,
    Culpability,
    Entry,
    Event,
    TollingPeriod,
    Waiver,
)
from solwatch.core.limitations import LATE_ACKNOWLEDGMENT, VIOLATION_STATUTES, Rule
from solwatch.core.tolling import merge_periods
from solwatch.core.waivers import (
    DEFAULT_TERM_YEARS,
    LATE_WAIVER,
    REVOKED_WAIVER,
    incomplete_flags,
)

_DAY = timedelta(days=1)
_NO_FLAGS: frozenset[str] = frozenset()


class Clocks(NamedTuple):
    """A case's clocks as `(limit, loss_cents)`, whether they run per entry, the flags they
    raised and the field whose absence stops them (`core/limitations.Limitation` without its
    steps)."""

    rule: Rule | None
    limits: tuple[tuple[date, int], ...]
    per_entry: bool
    flags: frozenset[str]
    missing: str | None = None
    fallback: Clocks | None = None


def _tolled(start: date, deadline: date, periods: Sequence[TollingPeriod]) -> date:
    """`core/tolling.apply_tolling`'s date."""
    if not periods:
        return deadline
    ranges = merge_periods(periods)
    running = deadline
    after = start + _DAY
    while True:
        days = 0
        for first, last in ranges:
            first, last = max(first, after), min(last, running)
            if first <= last:
                days += (last - first).days + 1
        extended = deadline + timedelta(days=days)
        if extended == running:
            return running
        running = extended


def _waived(
    limit: date, waivers: Sequence[Waiver], clock_entries: frozenset[str]
) -> tuple[date, frozenset[str]]:
    """`core/waivers.apply_waivers`'s date and flags."""
    if not waivers:
        return limit, _NO_FLAGS
    running = limit
    flags: set[str] = set()
    for waiver in sorted(waivers, key=lambda w: w.signed) if len(waivers) > 1 else waivers:
        if waiver.entries and not (clock_entries and clock_entries <= set(waiver.entries)):
            continue
        if waiver.revoked is not None:
            flags.add(REVOKED_WAIVER)
            continue
        if waiver.signed > running:
            if waiver.revives and waiver.expires is not None:
                running = max(running, waiver.expires)
            else:
                flags.add(LATE_WAIVER)
            continue
        if waiver.expires is not None:
            end = waiver.expires
        else:
            years = waiver.term_years if waiver.term_years is not None else DEFAULT_TERM_YEARS
            end = add_years(waiver.signed, years)
        running = max(running, end)
    return running, frozenset(flags)


def _statutory(
    start: date,
    tolling: Sequence[TollingPeriod],
    waivers: Sequence[Waiver],
    clock_entries: frozenset[str],
) -> tuple[date, frozenset[str]]:
    """A five-year §1621 clock from `start`, tolled, then waived."""
    return _waived(_tolled(start, add_years(start, 5), tolling), waivers, clock_entries)


def _entry_numbers(entries: Sequence[Entry]) -> frozenset[str]:
    return frozenset(entry.number for entry in entries) if entries else _NO_FLAGS


class _Facts(NamedTuple):
    """`CaseFacts` without its case number: what the rules read."""

    case_type: CaseType
    statute: str | None
    culpability: Culpability | None
    violation_date: date | None
    discovery_date: date | None
    property_discovery_date: date | None
    entries: Sequence[Entry]
    waivers: Sequence[Waiver]
    tolling: Sequence[TollingPeriod]
    events: Sequence[Event]


def _violation(facts: _Facts) -> Clocks:
    if facts.entries:
        limits = []
        flags: frozenset[str] = _NO_FLAGS
        for entry in sorted(facts.entries, key=lambda e: (e.entry_date, e.number)):
            limit, raised = _statutory(
                entry.entry_date, facts.tolling, facts.waivers, frozenset((entry.number,))
            )
            limits.append((limit, entry.loss_cents))
            flags = flags | raised if raised else flags
        return Clocks(Rule.VIOLATION, tuple(limits), True, flags)
    if facts.violation_date is None:
        return Clocks(Rule.VIOLATION, (), False, _NO_FLAGS, "violation_date")
    limit, flags = _statutory(facts.violation_date, facts.tolling, facts.waivers, _NO_FLAGS)
    return Clocks(Rule.VIOLATION, ((limit, 0),), False, flags)


def _discovery(facts: _Facts, rule: Rule) -> Clocks:
    if facts.discovery_date is None:
        return Clocks(rule, (), False, _NO_FLAGS, "discovery_date")
    limit, flags = _statutory(
        facts.discovery_date, facts.tolling, facts.waivers, _entry_numbers(facts.entries)
    )
    return Clocks(rule, ((limit, 0),), False, flags)


def _forfeiture(facts: _Facts) -> Clocks:
    if facts.discovery_date is None:
        return Clocks(Rule.FORFEITURE, (), False, _NO_FLAGS, "discovery_date")
    start = facts.discovery_date
    limit = _tolled(start, add_years(start, 5), facts.tolling)
    if facts.property_discovery_date is not None:
        limit = max(limit, add_years(facts.property_discovery_date, 2))
    limit, flags = _waived(limit, facts.waivers, _entry_numbers(facts.entries))
    return Clocks(Rule.FORFEITURE, ((limit, 0),), False, flags)


def _contract(facts: _Facts) -> Clocks:
    if facts.violation_date is None:
        return Clocks(Rule.CONTRACT, (), False, _NO_FLAGS, "violation_date")
    accrual = facts.violation_date
    limit = add_years(accrual, 6)
    flags: set[str] = set()
    restarts = (event for event in facts.events if event.kind in RESTARTS_2415)
    for event in sorted(restarts, key=lambda e: e.event_date):
        if event.event_date < accrual:
            continue
        if event.event_date > limit:
            flags.add(LATE_ACKNOWLEDGMENT)
            continue
        accrual = event.event_date
        limit = add_years(accrual, 6)
    limit, waived = _waived(limit, facts.waivers, _entry_numbers(facts.entries))
    return Clocks(Rule.CONTRACT, ((limit, 0),), False, frozenset(flags) | waived)


def clocks_of(facts: CaseFacts) -> Clocks:
    """The clocks `core/limitations.compute_limitation` computes, without its steps."""
    return _clocks_with_flags(_facts_of(facts))


def _facts_of(facts: CaseFacts) -> _Facts:
    return _Facts(
        facts.case_type,
        facts.statute,
        facts.culpability,
        facts.violation_date,
        facts.discovery_date,
        facts.property_discovery_date,
        facts.entries,
        facts.waivers,
        facts.tolling,
        facts.events,
    )


def _clocks_with_flags(facts: _Facts) -> Clocks:
    clocks = _clocks(facts)
    incomplete = incomplete_flags(facts.waivers) if facts.waivers else _NO_FLAGS
    return clocks._replace(flags=clocks.flags | incomplete) if incomplete else clocks


def _clocks(facts: _Facts) -> Clocks:
    case_type = facts.case_type
    if case_type is CaseType.LIQUIDATED_DAMAGES:
        return _contract(facts)
    if case_type is CaseType.FORFEITURE:
        return _forfeiture(facts)
    if facts.statute is None:
        return Clocks(None, (), False, _NO_FLAGS, "statute")
    if facts.statute in VIOLATION_STATUTES:
        if facts.culpability is Culpability.FRAUD:
            return _discovery(facts, Rule.FRAUD)._replace(fallback=_violation(facts))
        return _violation(facts)
    return _discovery(facts, Rule.DISCOVERY)


SummaryValues = tuple[
    str | None, date | None, date | None, date | None, date | None, str | None, str, int, int, str
]


def summary_values(facts: CaseFacts) -> SummaryValues:
    """The fields of `core/limitations.summarize(facts, compute_limitation(facts))`, in order,
    as a plain tuple (a million frozen dataclasses cost more than the arithmetic)."""
    return summary_of(*_facts_of(facts))


def summary_of(
    case_type: CaseType,
    statute: str | None,
    culpability: Culpability | None,
    violation_date: date | None,
    discovery_date: date | None,
    property_discovery_date: date | None,
    entries: Sequence[Entry] = (),
    waivers: Sequence[Waiver] = (),
    tolling: Sequence[TollingPeriod] = (),
    events: Sequence[Event] = (),
) -> SummaryValues:
    """`summary_values` of the facts given one by one, as the bulk import reads them."""
    clocks = _clocks_with_flags(
        _Facts(
            case_type,
            statute,
            culpability,
            violation_date,
            discovery_date,
            property_discovery_date,
            entries,
            waivers,
            tolling,
            events,
        )
    )
    limits = clocks.limits
    first = last = None
    if limits:
        first = min(limit for limit, _ in limits) if len(limits) > 1 else limits[0][0]
        last = max(limit for limit, _ in limits) if len(limits) > 1 else first
    fallback_first = fallback_last = None
    fallback_flags = ""
    fallback = clocks.fallback
    if fallback is not None:
        if fallback.limits:
            fallback_first = min(limit for limit, _ in fallback.limits)
            fallback_last = max(limit for limit, _ in fallback.limits)
        # Waiver flags raised only on the fallback's clocks are reported with the fallback.
        fallback_flags = ";".join(sorted(fallback.flags - clocks.flags))
    return (
        clocks.rule.value if clocks.rule else None,
        first,
        last,
        fallback_first,
        fallback_last,
        clocks.missing,
        ";".join(sorted(clocks.flags)) if clocks.flags else "",
        len(entries),
        sum(e.loss_cents for e in entries) if entries else 0,
        fallback_flags,
    )
