"""The limitation engine: which rule applies to a case, and when suit must be commenced.

Pure functions over `CaseFacts`; every date carries the steps that produced it, so the
explanation a user reads is the computation itself.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import date
from enum import StrEnum

from solwatch.core.dates import add_years
from solwatch.core.facts import (
    RESTARTS_2415,
    CaseFacts,
    CaseType,
    Culpability,
    TollingPeriod,
    Waiver,
)
from solwatch.core.steps import (
    SRC_1621,
    SRC_1621_1,
    SRC_1621_2,
    SRC_2415,
    SRC_2415_2416,
    SRC_ANNIVERSARY,
    SRC_BERKAU,
    SRC_GLENS_FALLS,
    SRC_HANOVER,
    SRC_LIU,
    Step,
)
from solwatch.core.tolling import apply_tolling
from solwatch.core.waivers import apply_waivers, incomplete_flags

VIOLATION_STATUTES = frozenset({"1592", "1593a"})


def has_prepenalty_notice(case_type: str, statute: str | None) -> bool:
    """Whether a case is a §1592 or §1593a penalty, whose prepenalty notice gives 30 days to
    respond (19 CFR 162.77a, 162.78): not a forfeiture, liquidated damages or another statute."""
    return case_type == CaseType.PENALTY.value and statute in VIOLATION_STATUTES


class Rule(StrEnum):
    VIOLATION = "1621-violation"
    FRAUD = "1621-fraud"
    DISCOVERY = "1621-discovery"
    FORFEITURE = "1621-forfeiture"
    CONTRACT = "2415-contract"


@dataclass(frozen=True)
class Clock:
    """One running limitation period: the whole case, or one entry of a multi-entry case."""

    label: str
    start: date
    limit: date
    loss_cents: int
    steps: tuple[Step, ...]
    is_entry: bool = False


@dataclass(frozen=True)
class Limitation:
    """The outcome for one case. `clocks` is empty when a needed input is missing."""

    rule: Rule | None
    clocks: tuple[Clock, ...]
    steps: tuple[Step, ...]
    flags: frozenset[str]
    missing: str | None = None
    fallback: Limitation | None = None

    @property
    def first_date(self) -> date | None:
        return min((c.limit for c in self.clocks), default=None)

    @property
    def last_date(self) -> date | None:
        return max((c.limit for c in self.clocks), default=None)

    @property
    def entry_clocks(self) -> tuple[Clock, ...]:
        return tuple(c for c in self.clocks if c.is_entry)


def select_rule(facts: CaseFacts) -> tuple[Rule | None, Step]:
    """The rule for a case (domain.md §3), with the step that says why."""
    if facts.case_type is CaseType.LIQUIDATED_DAMAGES:
        return Rule.CONTRACT, Step(
            "Liquidated damages on a customs bond are a contract claim: six years after the "
            "right of action accrues, which is at the principal's breach.",
            SRC_HANOVER,
        )
    if facts.case_type is CaseType.FORFEITURE:
        return Rule.FORFEITURE, Step(
            "Forfeiture: five years after discovery of the offense (tolled for absence or "
            "concealment), or two years after the property's involvement was discovered "
            "(never tolled), whichever is later.",
            SRC_1621,
        )
    if facts.statute is None:
        return None, Step(
            "statute is blank: no rule can be chosen and no limitation date computed until "
            "the statute violated is recorded.",
            SRC_1621,
        )
    if facts.statute in VIOLATION_STATUTES:
        if facts.culpability is Culpability.FRAUD:
            return Rule.FRAUD, Step(
                f"Penalty under 19 U.S.C. §{facts.statute} alleging fraud: five years after "
                f"discovery of the fraud.",
                SRC_1621_1,
            )
        culpability = (facts.culpability or "blank culpability").replace("_", " ")
        return Rule.VIOLATION, Step(
            f"Penalty under 19 U.S.C. §{facts.statute} ({culpability}): five years after the "
            f"date of the violation, each entry being a separate violation.",
            SRC_LIU,
        )
    return Rule.DISCOVERY, Step(
        f"Penalty under 19 U.S.C. §{facts.statute}: five years after the offense was discovered.",
        SRC_1621,
    )


def _anniversary_step(what: str, start: date, years: int) -> tuple[date, Step]:
    limit = add_years(start, years)
    return limit, Step(
        f"{what} {start.isoformat()} + {years} years = {limit.isoformat()}, the last day "
        f"suit may be commenced.",
        SRC_ANNIVERSARY,
        limit,
    )


def _statutory_clock(
    label: str,
    what: str,
    start: date,
    tolling: Sequence[TollingPeriod],
    waivers: Sequence[Waiver],
    clock_entries: frozenset[str],
    *,
    loss_cents: int = 0,
    is_entry: bool = False,
) -> tuple[Clock, frozenset[str]]:
    """A five-year §1621 clock from `start` for `clock_entries`, tolled, then extended by the
    waivers that reach it."""
    limit, first = _anniversary_step(what, start, 5)
    limit, tolled = apply_tolling(start, limit, tolling)
    limit, waived, flags = apply_waivers(limit, waivers, clock_entries=clock_entries)
    clock = Clock(label, start, limit, loss_cents, (first, *tolled, *waived), is_entry)
    return clock, flags


def _entry_numbers(facts: CaseFacts) -> frozenset[str]:
    """The entries a case-wide clock runs for: all of the case's."""
    return frozenset(entry.number for entry in facts.entries)


def _missing(rule: Rule | None, field: str, steps: list[Step]) -> Limitation:
    steps.append(
        Step(
            f"{field} is blank: no limitation date can be computed until it is recorded.", SRC_1621
        )
    )
    return Limitation(rule, (), tuple(steps), frozenset(), missing=field)


def _violation(facts: CaseFacts, steps: list[Step], rule: Rule) -> Limitation:
    if facts.entries:
        clocks: list[Clock] = []
        flags: set[str] = set()
        for entry in sorted(facts.entries, key=lambda e: (e.entry_date, e.number)):
            clock, clock_flags = _statutory_clock(
                f"entry {entry.number}",
                "Dated",
                entry.entry_date,
                facts.tolling,
                facts.waivers,
                frozenset({entry.number}),
                loss_cents=entry.loss_cents,
                is_entry=True,
            )
            clocks.append(clock)
            flags |= clock_flags
        return Limitation(rule, tuple(clocks), tuple(steps), frozenset(flags))
    if facts.violation_date is None:
        return _missing(rule, "violation_date", steps)
    clock, clock_flags = _statutory_clock(
        "case",
        "Violation date",
        facts.violation_date,
        facts.tolling,
        facts.waivers,
        _entry_numbers(facts),
    )
    return Limitation(rule, (clock,), tuple(steps), clock_flags)


def _discovery(facts: CaseFacts, steps: list[Step], rule: Rule) -> Limitation:
    if facts.discovery_date is None:
        return _missing(rule, "discovery_date", steps)
    what = "Fraud discovered" if rule is Rule.FRAUD else "Offense discovered"
    clock, flags = _statutory_clock(
        "case", what, facts.discovery_date, facts.tolling, facts.waivers, _entry_numbers(facts)
    )
    return Limitation(rule, (clock,), tuple(steps), flags)


def _forfeiture(facts: CaseFacts, steps: list[Step]) -> Limitation:
    if facts.discovery_date is None:
        return _missing(Rule.FORFEITURE, "discovery_date", steps)
    start = facts.discovery_date
    five, five_step = _anniversary_step("Offense discovered", start, 5)
    five, five_tolled = apply_tolling(start, five, facts.tolling)
    branch_steps = [five_step, *five_tolled]
    limit = five
    if facts.property_discovery_date is None:
        branch_steps.append(
            Step(
                "property_discovery_date is blank, so the two-year branch cannot be weighed; "
                "the five-year date stands (the law's date can only be the same or later).",
                SRC_1621,
                five,
            )
        )
    else:
        two_start = facts.property_discovery_date
        two, two_step = _anniversary_step("Property's involvement discovered", two_start, 2)
        branch_steps.append(two_step)
        if facts.tolling:
            branch_steps.append(
                Step(
                    f"The two-year date {two.isoformat()} is not tolled: absence and "
                    f"concealment are kept out of the 5-year period only.",
                    SRC_1621_2,
                    two,
                )
            )
        if two > five:
            start, limit = two_start, two
        branch_steps.append(
            Step(
                f"The later of {five.isoformat()} and {two.isoformat()} is {limit.isoformat()}.",
                SRC_1621,
                limit,
            )
        )
    limit, waived, flags = apply_waivers(limit, facts.waivers, clock_entries=_entry_numbers(facts))
    clock = Clock("case", start, limit, 0, (*branch_steps, *waived))
    return Limitation(Rule.FORFEITURE, (clock,), tuple(steps), flags)


LATE_ACKNOWLEDGMENT = "late-acknowledgment"
# What the §2415 clock leaves out, said on every contract case. Both omissions can only make
# the law's date later than the one shown, never earlier.
CONTRACT_NOTES = (
    Step(
        "Voluntary petitions for mitigation do not extend the six years.",
        SRC_BERKAU,
    ),
    Step(
        "Not modelled: the alternative of one year after a final decision in administrative "
        "proceedings, and the periods 28 U.S.C. §2416 excludes. Either can only make the law's "
        "date later, so the date shown can only be earlier than the law's, never later.",
        SRC_2415_2416,
    ),
)


def _contract(facts: CaseFacts, steps: list[Step]) -> Limitation:
    if facts.violation_date is None:
        return _missing(Rule.CONTRACT, "violation_date", steps)
    steps = [*steps, *CONTRACT_NOTES]
    accrual = facts.violation_date
    limit, first = _anniversary_step("Breach", accrual, 6)
    clock_steps = [first]
    flags: set[str] = set()
    restarts = (event for event in facts.events if event.kind in RESTARTS_2415)
    for event in sorted(restarts, key=lambda e: e.event_date):
        kind = event.kind.replace("_", " ")
        when = event.event_date.isoformat()
        if event.event_date < accrual:
            continue
        if event.event_date > limit:
            flags.add(LATE_ACKNOWLEDGMENT)
            clock_steps.append(
                Step(
                    f"A {kind} on {when} came after the six years had run on "
                    f"{limit.isoformat()}: not counted. Whether one made after the limit "
                    f"revives the claim is unsettled: the statute sets no timing limit, and "
                    f"U.S. v. Glens Falls Ins. reads it as the common-law new-promise rule. "
                    f"A question for counsel.",
                    SRC_GLENS_FALLS,
                    limit,
                )
            )
            continue
        accrual = event.event_date
        limit = add_years(accrual, 6)
        clock_steps.append(
            Step(
                f"A {kind} on {when} starts the six years again: {limit.isoformat()}.",
                SRC_2415,
                limit,
            )
        )
    limit, waived, waiver_flags = apply_waivers(
        limit, facts.waivers, clock_entries=_entry_numbers(facts), contract=True
    )
    clock = Clock("case", accrual, limit, 0, (*clock_steps, *waived))
    return Limitation(Rule.CONTRACT, (clock,), tuple(steps), frozenset(flags | waiver_flags))


def compute_limitation(facts: CaseFacts) -> Limitation:
    """Every clock of a case under its rule; for fraud, also the negligence fallback.

    The fallback (`1621-violation` from the violation or entry dates) is what remains if fraud
    is not proven: it is shown and raises its own, quieter alerts, but never replaces the
    fraud date. Its flags stay on the fallback (`Limitation.fallback.flags`).
    """
    limitation = _compute(facts)
    # Data to fix whatever the clocks made of the waiver: the case's own alert.
    incomplete = incomplete_flags(facts.waivers)
    return replace(limitation, flags=limitation.flags | incomplete) if incomplete else limitation


def _compute(facts: CaseFacts) -> Limitation:
    rule, chosen = select_rule(facts)
    steps = [chosen]
    if rule is None:
        return Limitation(None, (), tuple(steps), frozenset(), missing="statute")
    if rule is Rule.VIOLATION:
        return _violation(facts, steps, rule)
    if rule is Rule.FORFEITURE:
        return _forfeiture(facts, steps)
    if rule is Rule.CONTRACT:
        return _contract(facts, steps)
    limitation = _discovery(facts, steps, rule)
    if rule is Rule.FRAUD:
        fallback_step = Step(
            "If fraud is not proven, the negligence period runs from the violation instead.",
            SRC_1621_1,
        )
        fallback = _violation(facts, [fallback_step], Rule.VIOLATION)
        return replace(limitation, fallback=fallback)
    return limitation


@dataclass(frozen=True)
class Summary:
    """What the case store materializes of a `Limitation`: all of it independent of today."""

    rule: str | None
    first_date: date | None
    last_date: date | None
    fallback_first_date: date | None
    fallback_last_date: date | None
    missing: str | None
    flags: str
    entries_total: int
    entries_loss_cents: int
    fallback_flags: str = ""


def summarize(facts: CaseFacts, limitation: Limitation) -> Summary:
    fallback = limitation.fallback
    return Summary(
        rule=limitation.rule.value if limitation.rule else None,
        first_date=limitation.first_date,
        last_date=limitation.last_date,
        fallback_first_date=fallback.first_date if fallback else None,
        fallback_last_date=fallback.last_date if fallback else None,
        missing=limitation.missing,
        flags=";".join(sorted(limitation.flags)),
        entries_total=len(facts.entries),
        entries_loss_cents=sum(e.loss_cents for e in facts.entries),
        # Waiver flags raised only on the fallback's clocks are reported with the fallback.
        fallback_flags=";".join(sorted(fallback.flags - limitation.flags)) if fallback else "",
    )
