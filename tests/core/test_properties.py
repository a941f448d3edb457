"""Properties that must hold for every case, checked with generated facts."""

from __future__ import annotations

from datetime import date, timedelta

from hypothesis import given
from hypothesis import strategies as st

from solwatch.core.alerts import stand
from solwatch.core.explain import explain
from solwatch.core.facts import CaseFacts, Culpability, Entry, TollingPeriod, Waiver
from solwatch.core.limitations import compute_limitation

days = st.dates(min_value=date(2005, 1, 1), max_value=date(2026, 11, 1))


@st.composite
def periods(draw: st.DrawFn) -> TollingPeriod:
    start = draw(days)
    return TollingPeriod(start, start + timedelta(days=draw(st.integers(0, 800))))


@st.composite
def waivers(draw: st.DrawFn) -> Waiver:
    signed = draw(days)
    stated = draw(st.none() | st.integers(0, 2000).map(lambda n: signed + timedelta(days=n)))
    return Waiver(
        signed,
        stated,
        None if stated else draw(st.none() | st.integers(1, 5)),
        draw(st.none() | st.just(signed + timedelta(days=10))),
        revives=stated is not None and draw(st.booleans()),
        entries=tuple(draw(st.lists(st.sampled_from("0123"), max_size=3, unique=True))),
    )


@st.composite
def cases(draw: st.DrawFn) -> CaseFacts:
    return CaseFacts(
        "P",
        statute="1592",
        culpability=draw(st.sampled_from([None, Culpability.NEGLIGENCE, Culpability.FRAUD])),
        violation_date=draw(days),
        discovery_date=draw(days),
        entries=tuple(
            Entry(str(n), day, 100) for n, day in enumerate(draw(st.lists(days, max_size=4)))
        ),
        waivers=tuple(draw(st.lists(waivers(), max_size=3))),
        tolling=tuple(draw(st.lists(periods(), max_size=3))),
    )


@given(cases(), st.lists(waivers(), min_size=1, max_size=3))
def test_a_waiver_never_shortens_a_limit(facts: CaseFacts, extra: list[Waiver]) -> None:
    """Adding waivers can only keep or extend every clock."""
    before = compute_limitation(facts)
    after = compute_limitation(
        CaseFacts(**{**facts.__dict__, "waivers": facts.waivers + tuple(extra)})
    )
    for old, new in zip(before.clocks, after.clocks, strict=True):
        assert new.limit >= old.limit


@given(cases(), st.lists(periods(), min_size=1, max_size=3))
def test_tolling_never_moves_a_date_earlier(facts: CaseFacts, extra: list[TollingPeriod]) -> None:
    """Adding tolling periods can only keep or extend every clock."""
    before = compute_limitation(facts)
    after = compute_limitation(
        CaseFacts(**{**facts.__dict__, "tolling": facts.tolling + tuple(extra)})
    )
    for old, new in zip(before.clocks, after.clocks, strict=True):
        assert new.limit >= old.limit


@given(cases(), days)
def test_the_explanation_ends_on_the_computed_date(facts: CaseFacts, today: date) -> None:
    """The last dated step of the explanation is the date the case is assessed on."""
    limitation = compute_limitation(facts)
    clocks = [(clock.limit, clock.loss_cents) for clock in limitation.clocks]
    standing = stand(clocks, today, per_entry=bool(limitation.entry_clocks))
    steps = explain(limitation, standing, today)
    dated = [step for step in steps if step.result is not None]
    assert standing.limitation_date is not None
    assert dated[-1].result == standing.limitation_date
    assert standing.limitation_date.isoformat() in dated[-1].text
    for clock in limitation.clocks:
        assert clock.steps[-1].result == clock.limit
