"""The rules without explanations (`core/summary`) agree with the explained ones on every
generated case."""

from __future__ import annotations

from datetime import date, timedelta

from hypothesis import given, settings
from hypothesis import strategies as st

from solwatch.core.dates import add_years
from solwatch.core.facts import (
    CaseFacts,
    CaseType,
    Culpability,
    Entry,
    Event,
    EventKind,
    TollingPeriod,
    Waiver,
)
from solwatch.core.limitations import Limitation, compute_limitation, summarize
from solwatch.core.summary import Clocks, clocks_of, summary_values

days = st.dates(min_value=date(2005, 1, 1), max_value=date(2030, 12, 31))
# Leap days and month ends, where anniversaries clip.
edges = st.sampled_from(
    [date(2008, 2, 29), date(2012, 2, 29), date(2019, 12, 31), date(2021, 3, 1)]
)
any_day = days | edges
ENTRY_NUMBERS = ("E1", "E2", "E3", "E4")


def near(bases: list[date], years: int) -> st.SearchStrategy[date]:
    """A day on or next to an anniversary of one of `bases`: where a waiver or an event
    meets the running limit."""
    if not bases:
        return any_day
    return st.builds(
        lambda base, delta: add_years(base, years) + timedelta(days=delta),
        st.sampled_from(bases),
        st.integers(-1, 1),
    )


@st.composite
def waivers(draw: st.DrawFn, bases: list[date]) -> Waiver:
    signed = draw(any_day | near(bases, 5) | near(bases, 2))
    stated = draw(st.none() | st.integers(0, 2500).map(lambda n: signed + timedelta(days=n)))
    return Waiver(
        signed,
        stated,
        None if stated else draw(st.none() | st.integers(1, 20)),
        draw(st.none() | st.integers(0, 400).map(lambda n: signed + timedelta(days=n))),
        revives=draw(st.booleans()),
        entries=tuple(draw(st.lists(st.sampled_from(ENTRY_NUMBERS), max_size=3, unique=True))),
    )


@st.composite
def periods(draw: st.DrawFn) -> TollingPeriod:
    start = draw(any_day)
    return TollingPeriod(start, start + timedelta(days=draw(st.integers(0, 900))))


@st.composite
def cases(draw: st.DrawFn) -> CaseFacts:
    numbers = draw(st.lists(st.sampled_from(ENTRY_NUMBERS), max_size=4, unique=True))
    entries = tuple(Entry(number, draw(any_day), draw(st.integers(0, 10**9))) for number in numbers)
    violation = draw(st.none() | any_day)
    discovery = draw(st.none() | any_day)
    bases = [d for d in (violation, discovery) if d] + [e.entry_date for e in entries]
    return CaseFacts(
        "P",
        case_type=draw(st.sampled_from(CaseType)),
        statute=draw(st.sampled_from([None, "1592", "1593a", "1595a", "1641"])),
        culpability=draw(st.sampled_from([None, *Culpability])),
        violation_date=violation,
        discovery_date=discovery,
        property_discovery_date=draw(st.none() | any_day),
        entries=entries,
        waivers=tuple(draw(st.lists(waivers(bases), max_size=4))),
        tolling=tuple(draw(st.lists(periods(), max_size=3))),
        events=tuple(
            Event(
                draw(any_day | near(bases, 6) | near(bases, 12)),
                # Every kind solwatch reads, and one it keeps without reading.
                draw(st.sampled_from([*EventKind, "hearing_held"])),
            )
            for _ in range(draw(st.integers(0, 3)))
        ),
    )


def as_clocks(limitation: Limitation) -> Clocks:
    """What `clocks_of` keeps of an explained limitation."""
    fallback = limitation.fallback
    return Clocks(
        limitation.rule,
        tuple((clock.limit, clock.loss_cents) for clock in limitation.clocks),
        bool(limitation.entry_clocks),
        limitation.flags,
        limitation.missing,
        None if fallback is None else as_clocks(fallback),
    )


@settings(max_examples=600)
@given(cases())
def test_the_fast_summary_is_the_explained_one(facts: CaseFacts) -> None:
    """summary_values gives every field summarize gives, for every rule and input."""
    explained = summarize(facts, compute_limitation(facts))
    assert summary_values(facts) == tuple(explained.__dict__.values())


@settings(max_examples=600)
@given(cases())
def test_the_fast_clocks_are_the_explained_ones(facts: CaseFacts) -> None:
    """clocks_of gives every clock's date and loss, in order, and every flag."""
    assert clocks_of(facts) == as_clocks(compute_limitation(facts))
