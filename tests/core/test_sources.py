"""The sources an explanation cites: each case or rule only for what it decided."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from solwatch.core.alerts import stand
from solwatch.core.explain import explain
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
from solwatch.core.limitations import Rule, compute_limitation
from solwatch.core.steps import Step

D = date
ANNIVERSARY = "FRCP 6(a)(1); Wood-Ivey Systems v. United States, 4 F.3d 961 (Fed. Cir. 1993)"
GULDMAN = (
    "United States v. Guldman, 343 F. Supp. 2d 1219 (CIT 2004), aff'd (Fed. Cir. 2005) "
    "(nonprecedential)"
)


TODAY = D(2026, 11, 24)


def explained(facts: CaseFacts, today: date = TODAY) -> list[Step]:
    limitation = compute_limitation(facts)
    clocks = [(clock.limit, clock.loss_cents) for clock in limitation.clocks]
    standing = stand(clocks, today, per_entry=bool(limitation.entry_clocks))
    fallback = None
    if limitation.fallback is not None:
        fallback_clocks = [(c.limit, c.loss_cents) for c in limitation.fallback.clocks]
        fallback = stand(fallback_clocks, today, per_entry=bool(limitation.fallback.entry_clocks))
    return explain(limitation, standing, today, fallback) if clocks else list(limitation.steps)


def penalty(**fields: object) -> CaseFacts:
    base: dict[str, object] = {
        "case_number": "S",
        "statute": "1592",
        "culpability": Culpability.NEGLIGENCE,
        "violation_date": D(2022, 11, 14),
    }
    base.update(fields)
    return CaseFacts(**base)  # type: ignore[arg-type]


def bond(**fields: object) -> CaseFacts:
    return CaseFacts(
        "L",
        CaseType.LIQUIDATED_DAMAGES,
        violation_date=D(2019, 4, 1),
        **fields,  # type: ignore[arg-type]
    )


SOURCE_CASES = [
    pytest.param(penalty(), "+ 5 years =", ANNIVERSARY, id="anniversary-frcp-and-wood-ivey"),
    pytest.param(
        penalty(waivers=(Waiver(D(2025, 6, 1), term_years=3),)),
        "commencing with the date of execution",
        f"the waiver's own terms; {GULDMAN}; U.S. v. Ford Motor Co., 497 F.3d 1331 (Fed. Cir. "
        "2007): a waiver takes effect without CBP's acceptance",
        id="waiver-term-wording-guldman-in-full",
    ),
    pytest.param(
        penalty(waivers=(Waiver(D(2025, 6, 1), D(2028, 1, 1)),)),
        "states an end date",
        "the waiver's own terms; U.S. v. Ford Motor Co., 497 F.3d 1331 (Fed. Cir. 2007): a "
        "waiver takes effect without CBP's acceptance",
        id="waiver-end-date-own-terms-and-ford",
    ),
    pytest.param(
        penalty(waivers=(Waiver(D(2025, 6, 1), D(2026, 1, 1)),)),
        "limit unchanged",
        "the waiver's own terms",
        id="waiver-that-changes-nothing-own-terms-only",
    ),
    pytest.param(
        penalty(waivers=(Waiver(D(2028, 1, 1), term_years=2),)),
        "came after the limit",
        "U.S. v. Hitachi America, 172 F.3d 1319 (Fed. Cir. 1999)",
        id="late-1621-waiver-hitachi",
    ),
    pytest.param(
        penalty(waivers=(Waiver(D(2024, 1, 1), term_years=2, revoked=D(2024, 3, 1)),)),
        "is a defense the court left open",
        "U.S. v. Katana Racing, 75 F.4th 1346 (Fed. Cir. 2023)",
        id="revoked-1621-waiver-katana",
    ),
    pytest.param(
        bond(),
        "accrues, which is at the principal's breach",
        "28 U.S.C. §2415(a); U.S. v. Hanover Ins., 82 F.3d 1052 (Fed. Cir. 1996)",
        id="2415-accrual-hanover",
    ),
    pytest.param(
        bond(events=(Event(D(2022, 8, 15), EventKind.ACKNOWLEDGMENT),)),
        "starts the six years again",
        "28 U.S.C. §2415(a): on a later partial payment or written acknowledgment of the debt "
        "the right of action is deemed to accrue again",
        id="2415-restart-the-statute",
    ),
    pytest.param(
        bond(),
        "petitions for mitigation do not extend",
        "U.S. v. Cocoa Berkau, 990 F.2d 610 (Fed. Cir. 1993)",
        id="2415-mitigation-cocoa-berkau",
    ),
    pytest.param(
        bond(),
        "can only be earlier than the law's",
        "28 U.S.C. §2415(a), §2416",
        id="2415-what-is-not-modelled",
    ),
    pytest.param(
        bond(waivers=(Waiver(D(2026, 1, 1), term_years=2),)),
        "came after the limit",
        "28 U.S.C. §2415(a); the waiver's own terms",
        id="late-2415-waiver-not-hitachi",
    ),
    pytest.param(
        penalty(),
        "falls on a Sunday",
        "FRCP 6(a)(1)(C); Wood-Ivey Systems v. United States, 4 F.3d 961 (Fed. Cir. 1993); no "
        "§1621 ruling applies the roll-forward, so solwatch shows the business day before",
        id="weekend-roll-forward-not-relied-on",
    ),
]


@pytest.mark.parametrize(("facts", "words", "source"), SOURCE_CASES)
def test_each_step_cites_its_source(facts: CaseFacts, words: str, source: str) -> None:
    """The step that says `words` cites exactly `source`."""
    found = [step for step in explained(facts) if words.lower() in step.text.lower()]
    assert found, [step.text for step in explained(facts)]
    assert {step.source for step in found} == {source}


def test_the_weekend_step_says_what_the_rules_would_do() -> None:
    """The step names the roll-forward of FRCP 6(a)(1)(C) and Wood-Ivey instead of saying
    that courts may not extend a limit."""
    [step] = [s for s in explained(penalty()) if "falls on a" in s.text]
    assert "would roll a last day on a weekend or holiday forward" in step.text
    assert "no §1621 ruling says so" in step.text
    assert "courts may not" not in step.text + step.source


days = st.dates(min_value=date(2008, 1, 1), max_value=date(2026, 11, 1))


@st.composite
def any_case(draw: st.DrawFn) -> CaseFacts:
    signed = draw(st.lists(days, max_size=3, unique=True))
    waivers = tuple(
        Waiver(
            day,
            stated := draw(st.none() | st.just(day + timedelta(days=draw(st.integers(0, 900))))),
            None if stated else draw(st.none() | st.integers(1, 4)),
            draw(st.none() | st.just(day + timedelta(days=5))),
            revives=stated is not None and draw(st.booleans()),
            entries=tuple(draw(st.lists(st.sampled_from("AB"), max_size=2, unique=True))),
        )
        for day in signed
    )
    case_type = draw(st.sampled_from(list(CaseType)))
    return CaseFacts(
        "P",
        case_type,
        statute=draw(st.sampled_from(["1592", "1593a", "1595a"])),
        culpability=draw(st.sampled_from([None, Culpability.NEGLIGENCE, Culpability.FRAUD])),
        violation_date=draw(days),
        discovery_date=draw(days),
        property_discovery_date=draw(st.none() | days),
        entries=tuple(
            Entry(name, draw(days), 100)
            for name in draw(st.lists(st.sampled_from("AB"), max_size=2, unique=True))
        ),
        waivers=waivers,
        tolling=tuple(
            TollingPeriod(start, start + timedelta(days=draw(st.integers(0, 400))))
            for start in draw(st.lists(days, max_size=2))
        ),
        events=tuple(
            Event(day, draw(st.sampled_from(list(EventKind))))
            for day in draw(st.lists(days, max_size=2, unique=True))
        ),
    )


@given(any_case(), days)
def test_no_case_is_cited_beyond_what_it_decided(facts: CaseFacts, today: date) -> None:
    """Anniversaries cite FRCP 6(a)(1) and Wood-Ivey; Guldman only for a term's wording, in
    full; Ford only where a waiver takes effect without CBP's acceptance; Hitachi and Katana
    only for §1621 waivers, never for a §2415 claim."""
    contract = compute_limitation(facts).rule is Rule.CONTRACT
    for step in explained(facts, today):
        if " years = " in step.text:
            assert step.source == ANNIVERSARY
        if "Guldman" in step.source:
            assert GULDMAN in step.source
            assert "commencing with the date of execution" in step.text
        if "Ford Motor" in step.source:
            assert "takes effect without CBP's acceptance" in step.text
        if "Hitachi" in step.source or "Katana" in step.source:
            assert not contract
        if "Glens Falls" in step.source:
            assert contract
            assert "unsettled" in step.text
        assert "courts may not" not in step.text + step.source
