"""The limitation rules of domain.md §3, one named case per edge."""

from __future__ import annotations

from datetime import date

import pytest

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

D = date


def penalty(**fields: object) -> CaseFacts:
    base: dict[str, object] = {
        "case_number": "T-1",
        "statute": "1592",
        "culpability": Culpability.NEGLIGENCE,
    }
    base.update(fields)
    return CaseFacts(**base)  # type: ignore[arg-type]


RULE_CASES = [
    pytest.param(
        penalty(violation_date=D(2021, 3, 4)),
        Rule.VIOLATION,
        D(2026, 3, 4),
        id="negligence-five-years-from-violation",
    ),
    pytest.param(
        penalty(violation_date=D(2020, 2, 29)),
        Rule.VIOLATION,
        D(2025, 2, 28),
        id="leap-day-anniversary",
    ),
    pytest.param(
        penalty(culpability=Culpability.GROSS_NEGLIGENCE, violation_date=D(2021, 3, 4)),
        Rule.VIOLATION,
        D(2026, 3, 4),
        id="gross-negligence-from-violation",
    ),
    pytest.param(
        penalty(culpability=None, violation_date=D(2021, 3, 4)),
        Rule.VIOLATION,
        D(2026, 3, 4),
        id="blank-culpability-from-violation",
    ),
    pytest.param(
        penalty(statute="1593a", violation_date=D(2021, 3, 4)),
        Rule.VIOLATION,
        D(2026, 3, 4),
        id="1593a-from-violation",
    ),
    pytest.param(
        penalty(
            culpability=Culpability.FRAUD,
            violation_date=D(2018, 1, 10),
            discovery_date=D(2022, 6, 1),
        ),
        Rule.FRAUD,
        D(2027, 6, 1),
        id="fraud-from-discovery",
    ),
    pytest.param(
        penalty(
            statute="1595a",
            culpability=None,
            violation_date=D(2019, 1, 1),
            discovery_date=D(2021, 5, 5),
        ),
        Rule.DISCOVERY,
        D(2026, 5, 5),
        id="other-statute-from-discovery",
    ),
    pytest.param(
        CaseFacts(
            "F",
            CaseType.FORFEITURE,
            "1595a",
            discovery_date=D(2021, 1, 1),
            property_discovery_date=D(2022, 1, 1),
        ),
        Rule.FORFEITURE,
        D(2026, 1, 1),
        id="forfeiture-five-year-branch-wins",
    ),
    pytest.param(
        CaseFacts(
            "F",
            CaseType.FORFEITURE,
            "1595a",
            discovery_date=D(2021, 1, 1),
            property_discovery_date=D(2025, 3, 1),
        ),
        Rule.FORFEITURE,
        D(2027, 3, 1),
        id="forfeiture-two-year-branch-wins",
    ),
    pytest.param(
        CaseFacts("F", CaseType.FORFEITURE, "1595a", discovery_date=D(2021, 1, 1)),
        Rule.FORFEITURE,
        D(2026, 1, 1),
        id="forfeiture-without-property-date",
    ),
    pytest.param(
        CaseFacts("L", CaseType.LIQUIDATED_DAMAGES, violation_date=D(2019, 4, 1)),
        Rule.CONTRACT,
        D(2025, 4, 1),
        id="liquidated-damages-six-years",
    ),
    pytest.param(
        CaseFacts(
            "L",
            CaseType.LIQUIDATED_DAMAGES,
            violation_date=D(2019, 4, 1),
            events=(Event(D(2022, 8, 15), EventKind.ACKNOWLEDGMENT),),
        ),
        Rule.CONTRACT,
        D(2028, 8, 15),
        id="liquidated-damages-restarted-by-acknowledgment",
    ),
    pytest.param(
        CaseFacts(
            "L",
            CaseType.LIQUIDATED_DAMAGES,
            violation_date=D(2019, 4, 1),
            events=(
                Event(D(2021, 1, 1), EventKind.PARTIAL_PAYMENT),
                Event(D(2023, 1, 1), EventKind.PARTIAL_PAYMENT),
            ),
        ),
        Rule.CONTRACT,
        D(2029, 1, 1),
        id="liquidated-damages-each-payment-restarts",
    ),
    pytest.param(
        CaseFacts(
            "L",
            CaseType.LIQUIDATED_DAMAGES,
            violation_date=D(2019, 4, 1),
            tolling=(TollingPeriod(D(2020, 1, 1), D(2020, 12, 31)),),
        ),
        Rule.CONTRACT,
        D(2025, 4, 1),
        id="liquidated-damages-not-tolled",
    ),
]


@pytest.mark.parametrize(("facts", "rule", "expected"), RULE_CASES)
def test_it_computes_the_limitation_date(facts: CaseFacts, rule: Rule, expected: date) -> None:
    """Each rule of domain.md §3 gives its date from its own starting point."""
    limitation = compute_limitation(facts)
    assert limitation.rule is rule
    assert limitation.missing is None
    assert limitation.first_date == expected


@pytest.mark.parametrize(
    ("facts", "missing"),
    [
        pytest.param(penalty(), "violation_date", id="missing-violation-date"),
        pytest.param(
            penalty(culpability=Culpability.FRAUD, violation_date=D(2020, 1, 1)),
            "discovery_date",
            id="fraud-missing-discovery-date",
        ),
        pytest.param(
            penalty(statute="1595a", violation_date=D(2020, 1, 1)),
            "discovery_date",
            id="missing-discovery-date",
        ),
        pytest.param(
            penalty(statute=None, violation_date=D(2020, 1, 1)), "statute", id="missing-statute"
        ),
        pytest.param(
            CaseFacts("F", CaseType.FORFEITURE, property_discovery_date=D(2022, 1, 1)),
            "discovery_date",
            id="forfeiture-missing-discovery-date",
        ),
        pytest.param(
            CaseFacts("L", CaseType.LIQUIDATED_DAMAGES),
            "violation_date",
            id="liquidated-damages-missing-breach",
        ),
    ],
)
def test_it_names_the_missing_field(facts: CaseFacts, missing: str) -> None:
    """No date is invented: the case is uncomputable and says which field is blank."""
    limitation = compute_limitation(facts)
    assert limitation.missing == missing
    assert limitation.clocks == ()
    assert missing in limitation.steps[-1].text


def test_it_gives_fraud_cases_a_violation_fallback() -> None:
    """A fraud case also shows the negligence date that remains if fraud is not proven."""
    limitation = compute_limitation(
        penalty(
            culpability=Culpability.FRAUD,
            violation_date=D(2018, 1, 10),
            discovery_date=D(2022, 6, 1),
        )
    )
    assert limitation.fallback is not None
    assert limitation.fallback.rule is Rule.VIOLATION
    assert limitation.fallback.first_date == D(2023, 1, 10)


def bond(*events: Event) -> CaseFacts:
    return CaseFacts("L", CaseType.LIQUIDATED_DAMAGES, violation_date=D(2015, 1, 1), events=events)


ACKNOWLEDGMENT_CASES = [
    pytest.param(
        bond(Event(D(2020, 12, 31), EventKind.PARTIAL_PAYMENT)),
        D(2026, 12, 31),
        set(),
        id="payment-day-before-limit-restarts",
    ),
    pytest.param(
        bond(Event(D(2021, 1, 1), EventKind.ACKNOWLEDGMENT)),
        D(2027, 1, 1),
        set(),
        id="acknowledgment-on-limit-day-restarts",
    ),
    pytest.param(
        bond(Event(D(2021, 1, 2), EventKind.ACKNOWLEDGMENT)),
        D(2021, 1, 1),
        {"late-acknowledgment"},
        id="acknowledgment-day-after-limit-not-counted",
    ),
    pytest.param(
        bond(Event(D(2022, 1, 1), EventKind.PARTIAL_PAYMENT)),
        D(2021, 1, 1),
        {"late-acknowledgment"},
        id="payment-a-year-after-limit-not-counted",
    ),
    pytest.param(
        bond(
            Event(D(2020, 6, 1), EventKind.PARTIAL_PAYMENT),
            Event(D(2026, 6, 2), EventKind.PARTIAL_PAYMENT),
        ),
        D(2026, 6, 1),
        {"late-acknowledgment"},
        id="second-payment-after-restarted-limit",
    ),
]


@pytest.mark.parametrize(
    "kind",
    [
        *(k for k in EventKind if k not in (EventKind.PARTIAL_PAYMENT, EventKind.ACKNOWLEDGMENT)),
        "docket review",
    ],
)
def test_only_a_payment_or_acknowledgment_restarts_the_six_years(kind: str) -> None:
    """Any other event, the triage facts and kinds solwatch does not know included, leaves the
    §2415 clock where the breach put it, and raises nothing."""
    limitation = compute_limitation(bond(Event(D(2020, 6, 1), kind)))
    assert (limitation.first_date, limitation.flags) == (D(2021, 1, 1), frozenset())
    late = compute_limitation(bond(Event(D(2022, 6, 1), kind)))
    assert late.flags == frozenset()


@pytest.mark.parametrize(("facts", "expected", "flags"), ACKNOWLEDGMENT_CASES)
def test_it_flags_an_acknowledgment_after_the_six_years(
    facts: CaseFacts, expected: date, flags: set[str]
) -> None:
    """A payment or acknowledgment while the claim is alive restarts it; one after the six
    years is not counted and raises late-acknowledgment (never late-waiver) for counsel."""
    limitation = compute_limitation(facts)
    assert limitation.first_date == expected
    assert limitation.flags == flags


def test_a_late_acknowledgment_is_explained_as_unsettled() -> None:
    """The step says revival is unsettled, cites Glens Falls, and never cites Hitachi."""
    limitation = compute_limitation(bond(Event(D(2022, 1, 1), EventKind.PARTIAL_PAYMENT)))
    [step] = [s for s in limitation.clocks[0].steps if "not counted" in s.text]
    assert "unsettled" in step.text
    assert "new-promise rule" in step.text
    assert "counsel" in step.text
    assert step.source == (
        "28 U.S.C. §2415(a); U.S. v. Glens Falls Ins., 546 F. Supp. 643 (N.D.N.Y. 1982)"
    )
    sources = [s.source for s in (*limitation.steps, *limitation.clocks[0].steps)]
    assert not any("Hitachi" in source for source in sources)


WAIVER_CASES = [
    pytest.param(
        (Waiver(D(2025, 1, 1)),),
        D(2027, 1, 1),
        {"waiver-incomplete"},
        id="no-end-no-term-two-years-from-signing",
    ),
    pytest.param(
        (Waiver(D(2025, 3, 4), term_years=2),),
        D(2027, 3, 4),
        set(),
        id="term-runs-from-signing-not-from-limit",
    ),
    pytest.param(
        (Waiver(D(2023, 3, 3), term_years=3),),
        D(2026, 3, 4),
        set(),
        id="term-ends-day-before-limit",
    ),
    pytest.param(
        (Waiver(D(2023, 3, 4), term_years=3),),
        D(2026, 3, 4),
        set(),
        id="term-ends-on-limit-day",
    ),
    pytest.param(
        (Waiver(D(2023, 3, 5), term_years=3),),
        D(2026, 3, 5),
        set(),
        id="term-ends-day-after-limit",
    ),
    pytest.param(
        (Waiver(D(2026, 3, 4), term_years=1),),
        D(2027, 3, 4),
        set(),
        id="waiver-signed-on-the-limit-day",
    ),
    pytest.param(
        (Waiver(D(2026, 3, 5), term_years=1),),
        D(2026, 3, 4),
        {"late-waiver"},
        id="waiver-signed-day-after-limit",
    ),
    pytest.param(
        (Waiver(D(2026, 3, 5)),),
        D(2026, 3, 4),
        {"late-waiver", "waiver-incomplete"},
        id="late-waiver-without-terms-is-also-incomplete",
    ),
    pytest.param(
        (Waiver(D(2026, 3, 5), expires=D(2028, 1, 1), revives=True),),
        D(2028, 1, 1),
        set(),
        id="late-waiver-reviewed-as-reviving",
    ),
    pytest.param(
        (
            Waiver(D(2025, 6, 1), term_years=2),
            Waiver(D(2027, 5, 1), term_years=2),
            Waiver(D(2029, 5, 1), expires=D(2031, 1, 31)),
        ),
        D(2031, 1, 31),
        set(),
        id="chained-waivers",
    ),
    pytest.param(
        (Waiver(D(2027, 5, 1), term_years=2), Waiver(D(2025, 6, 1), term_years=2)),
        D(2029, 5, 1),
        set(),
        id="waivers-applied-in-signed-order",
    ),
    pytest.param(
        (Waiver(D(2024, 1, 1), expires=D(2025, 12, 31)),),
        D(2026, 3, 4),
        set(),
        id="stated-end-earlier-than-running-limit",
    ),
    pytest.param(
        (Waiver(D(2024, 1, 1), expires=D(2027, 9, 30)),),
        D(2027, 9, 30),
        set(),
        id="stated-end-date",
    ),
    pytest.param(
        (Waiver(D(2024, 1, 1), term_years=3, revoked=D(2024, 5, 1)),),
        D(2026, 3, 4),
        {"revoked-waiver"},
        id="revoked-waiver-ignored",
    ),
    pytest.param(
        (Waiver(D(2025, 6, 1), term_years=2), Waiver(D(2027, 6, 2), term_years=2)),
        D(2027, 6, 1),
        {"late-waiver"},
        id="second-waiver-after-first-ran",
    ),
]


@pytest.mark.parametrize(("waivers", "expected", "flags"), WAIVER_CASES)
def test_it_applies_waivers_in_signed_order(
    waivers: tuple[Waiver, ...], expected: date, flags: set[str]
) -> None:
    """Waivers extend the running limit to the end of their terms, counted from signing; late
    and revoked ones are not applied but flagged, and a waiver without terms is data to fix."""
    limitation = compute_limitation(penalty(violation_date=D(2021, 3, 4), waivers=waivers))
    assert limitation.first_date == expected
    assert limitation.flags == flags


def test_a_one_year_waiver_is_in_effect_on_its_anniversary() -> None:
    """Guldman: a waiver for one year commencing 5 Feb 2002 was still in effect on 5 Feb 2003."""
    limitation = compute_limitation(
        penalty(violation_date=D(1997, 6, 1), waivers=(Waiver(D(2002, 2, 5), term_years=1),))
    )
    assert limitation.first_date == D(2003, 2, 5)
    [step] = [s for s in limitation.clocks[0].steps if s.text.startswith("Waiver")]
    assert "commencing with the date of execution" in step.text
    assert "United States v. Guldman, 343 F. Supp. 2d 1219 (CIT 2004)" in step.source
    assert "takes effect without CBP's acceptance" in step.text
    assert "Ford Motor Co., 497 F.3d 1331" in step.source


def test_an_incomplete_waiver_is_flagged_even_when_the_case_is_uncomputable() -> None:
    """A waiver without terms is data to fix whatever the clocks can say."""
    limitation = compute_limitation(penalty(waivers=(Waiver(D(2025, 1, 1)),)))
    assert limitation.missing == "violation_date"
    assert limitation.flags == {"waiver-incomplete"}


TOLLING_CASES = [
    pytest.param(
        (TollingPeriod(D(2022, 1, 1), D(2022, 1, 10)),), D(2026, 3, 14), id="ten-days-of-absence"
    ),
    pytest.param(
        (
            TollingPeriod(D(2022, 1, 1), D(2022, 1, 10)),
            TollingPeriod(D(2022, 1, 5), D(2022, 1, 20)),
        ),
        D(2026, 3, 24),
        id="overlapping-periods-counted-once",
    ),
    pytest.param(
        (TollingPeriod(D(2020, 1, 1), D(2021, 3, 4)),),
        D(2026, 3, 4),
        id="period-before-clock-start-ignored",
    ),
    pytest.param(
        (TollingPeriod(D(2020, 12, 1), D(2021, 3, 14)),),
        D(2026, 3, 14),
        id="period-straddling-clock-start",
    ),
    pytest.param(
        (
            TollingPeriod(D(2026, 3, 1), D(2026, 3, 10)),
            TollingPeriod(D(2026, 3, 12), D(2026, 3, 20)),
        ),
        D(2026, 3, 23),
        id="tolling-pulls-in-second-period",
    ),
    pytest.param(
        (TollingPeriod(D(2026, 4, 1), D(2026, 6, 1)),),
        D(2026, 3, 4),
        id="period-after-deadline-ignored",
    ),
    pytest.param(
        (TollingPeriod(D(2026, 3, 4), D(2026, 3, 4)),), D(2026, 3, 5), id="one-day-on-the-deadline"
    ),
]


@pytest.mark.parametrize(("periods", "expected"), TOLLING_CASES)
def test_it_does_not_count_absence_or_concealment(
    periods: tuple[TollingPeriod, ...], expected: date
) -> None:
    """Days of the union of periods inside the running period extend it, until stable."""
    limitation = compute_limitation(penalty(violation_date=D(2021, 3, 4), tolling=periods))
    assert limitation.first_date == expected


def forfeiture(discovered: date, property_found: date, *tolling: TollingPeriod) -> CaseFacts:
    return CaseFacts(
        "F",
        CaseType.FORFEITURE,
        "1595a",
        discovery_date=discovered,
        property_discovery_date=property_found,
        tolling=tolling,
    )


FORFEITURE_TOLLING_CASES = [
    pytest.param(
        forfeiture(D(2015, 1, 1), D(2019, 6, 1), TollingPeriod(D(2020, 6, 1), D(2020, 12, 1))),
        D(2021, 6, 1),
        id="concealment-inside-two-year-branch-not-tolled",
    ),
    pytest.param(
        forfeiture(D(2018, 1, 1), D(2019, 6, 1), TollingPeriod(D(2020, 6, 1), D(2020, 12, 1))),
        D(2023, 7, 4),
        id="concealment-inside-five-year-branch-tolled",
    ),
    pytest.param(
        forfeiture(D(2016, 5, 31), D(2019, 6, 1)),
        D(2021, 6, 1),
        id="two-year-branch-later-by-one-day",
    ),
    pytest.param(
        forfeiture(D(2016, 5, 31), D(2019, 6, 1), TollingPeriod(D(2020, 1, 1), D(2020, 1, 1))),
        D(2021, 6, 1),
        id="one-day-tolled-five-year-branch-ties",
    ),
    pytest.param(
        forfeiture(D(2016, 5, 31), D(2019, 6, 1), TollingPeriod(D(2020, 1, 1), D(2020, 1, 2))),
        D(2021, 6, 2),
        id="two-days-tolled-five-year-branch-wins",
    ),
]


@pytest.mark.parametrize(("facts", "expected"), FORFEITURE_TOLLING_CASES)
def test_it_tolls_only_the_five_year_forfeiture_branch(facts: CaseFacts, expected: date) -> None:
    """Absence and concealment extend the 5-year period, never the 2-year property branch."""
    limitation = compute_limitation(facts)
    assert limitation.first_date == expected
    said = any("is not tolled" in step.text for step in limitation.clocks[0].steps)
    assert said is bool(facts.tolling)


def test_it_tolls_before_applying_a_waiver() -> None:
    """Neither a waiver's term (it runs from signing) nor its stated end date is tolled."""
    tolled = (TollingPeriod(D(2022, 1, 1), D(2022, 1, 10)),)
    by_term = compute_limitation(
        penalty(
            violation_date=D(2021, 3, 4),
            tolling=tolled,
            waivers=(Waiver(D(2026, 3, 1), term_years=2),),
        )
    )
    stated = compute_limitation(
        penalty(
            violation_date=D(2021, 3, 4),
            tolling=tolled,
            waivers=(Waiver(D(2025, 1, 1), D(2027, 1, 1)),),
        )
    )
    assert by_term.first_date == D(2028, 3, 1)
    assert stated.first_date == D(2027, 1, 1)


def test_it_runs_one_clock_per_entry() -> None:
    """Each entry of a negligence case is its own violation with its own clock (Liu, 2023)."""
    limitation = compute_limitation(
        penalty(
            violation_date=D(2020, 1, 1),
            entries=(Entry("B", D(2021, 7, 1), 500), Entry("A", D(2020, 2, 29), 100)),
            waivers=(Waiver(D(2025, 6, 1), term_years=2),),
        )
    )
    assert [(c.label, c.limit) for c in limitation.clocks] == [
        ("entry A", D(2025, 2, 28)),  # the waiver came after this entry's limit: late for it
        ("entry B", D(2027, 6, 1)),
    ]
    assert limitation.flags == {"late-waiver"}
    assert (limitation.first_date, limitation.last_date) == (D(2025, 2, 28), D(2027, 6, 1))


def two_entries(*waivers: Waiver) -> CaseFacts:
    """Entry A runs to 2025-02-01, entry B to 2026-06-01."""
    return penalty(
        violation_date=D(2020, 2, 1),
        entries=(Entry("A", D(2020, 2, 1), 100), Entry("B", D(2021, 6, 1), 200)),
        waivers=waivers,
    )


ENTRY_WAIVER_CASES = [
    pytest.param(
        two_entries(Waiver(D(2025, 6, 1), term_years=2, entries=("B",))),
        (D(2025, 2, 1), D(2027, 6, 1)),
        set(),
        id="waiver-naming-b-extends-b-only-and-is-not-late-for-a",
    ),
    pytest.param(
        two_entries(Waiver(D(2025, 6, 1), term_years=2)),
        (D(2025, 2, 1), D(2027, 6, 1)),
        {"late-waiver"},
        id="waiver-for-every-entry-is-late-for-a",
    ),
    pytest.param(
        two_entries(Waiver(D(2025, 6, 1), term_years=2, entries=("A",))),
        (D(2025, 2, 1), D(2026, 6, 1)),
        {"late-waiver"},
        id="waiver-naming-a-is-late-for-a-and-leaves-b",
    ),
    pytest.param(
        two_entries(Waiver(D(2025, 2, 1), term_years=2, entries=("A",))),
        (D(2027, 2, 1), D(2026, 6, 1)),
        set(),
        id="waiver-naming-a-signed-on-its-limit-day",
    ),
    pytest.param(
        two_entries(Waiver(D(2025, 2, 2), term_years=2, entries=("A",))),
        (D(2025, 2, 1), D(2026, 6, 1)),
        {"late-waiver"},
        id="waiver-naming-a-signed-day-after-its-limit",
    ),
    pytest.param(
        two_entries(Waiver(D(2025, 6, 1), D(2027, 12, 31), revives=True, entries=("A", "B"))),
        (D(2027, 12, 31), D(2027, 12, 31)),
        set(),
        id="waiver-naming-both-reviewed-as-reviving",
    ),
    pytest.param(
        two_entries(Waiver(D(2025, 6, 1), term_years=2, revoked=D(2025, 7, 1), entries=("B",))),
        (D(2025, 2, 1), D(2026, 6, 1)),
        {"revoked-waiver"},
        id="revoked-waiver-flagged-on-the-entry-it-names",
    ),
]


@pytest.mark.parametrize(("facts", "limits", "flags"), ENTRY_WAIVER_CASES)
def test_a_waiver_reaches_only_the_entries_it_names(
    facts: CaseFacts, limits: tuple[date, date], flags: set[str]
) -> None:
    """A waiver naming entries extends only their clocks, and is late only for a named entry
    whose clock had already run (Hitachi turned on a waiver that named its 42 entries)."""
    limitation = compute_limitation(facts)
    assert tuple(clock.limit for clock in limitation.clocks) == limits
    assert limitation.flags == flags


@pytest.mark.parametrize(
    ("named", "expected"),
    [
        pytest.param(("A",), D(2027, 6, 1), id="waiver-naming-some-entries-not-applied"),
        pytest.param(("A", "B"), D(2029, 6, 1), id="waiver-naming-every-entry-applied"),
        pytest.param((), D(2029, 6, 1), id="waiver-naming-none-covers-all"),
    ],
)
def test_a_case_wide_clock_takes_only_waivers_that_cover_every_entry(
    named: tuple[str, ...], expected: date
) -> None:
    """The fraud clock runs for every entry at once: a waiver naming only some of them does
    not move it (the entries left out keep the earlier date), and the explanation says so."""
    limitation = compute_limitation(
        penalty(
            culpability=Culpability.FRAUD,
            violation_date=D(2020, 2, 1),
            discovery_date=D(2022, 6, 1),
            entries=(Entry("A", D(2020, 2, 1), 100), Entry("B", D(2021, 6, 1), 200)),
            waivers=(Waiver(D(2026, 6, 1), term_years=3, entries=named),),
        )
    )
    assert limitation.first_date == expected
    said = any("names only entry A" in s.text for s in limitation.clocks[0].steps)
    assert said is (named == ("A",))


def test_a_waiver_naming_entries_does_not_reach_a_case_without_any() -> None:
    """Entries named on a case with none on file: not applied (the import refuses it too)."""
    limitation = compute_limitation(
        penalty(violation_date=D(2021, 3, 4), waivers=(Waiver(D(2025, 6, 1), entries=("X",)),))
    )
    assert limitation.first_date == D(2026, 3, 4)
    assert "has no entries on file" in limitation.clocks[0].steps[-1].text


@pytest.mark.parametrize(
    ("signed", "flags", "fallback_flags"),
    [
        pytest.param(D(2023, 1, 10), "", "", id="waiver-in-time-for-both-clocks"),
        pytest.param(D(2023, 1, 11), "", "late-waiver", id="waiver-late-for-the-fallback-only"),
        pytest.param(D(2027, 6, 2), "late-waiver", "", id="waiver-late-for-both-clocks"),
    ],
)
def test_waiver_flags_of_the_fallback_alone_stay_with_it(
    signed: date, flags: str, fallback_flags: str
) -> None:
    """A waiver late only for the negligence alternative (limit 2023-01-10) is the fallback's
    flag, not the fraud case's own; late for the fraud clock (2027-06-01) too, it is the case's."""
    from solwatch.core.limitations import summarize

    facts = penalty(
        culpability=Culpability.FRAUD,
        violation_date=D(2018, 1, 10),
        discovery_date=D(2022, 6, 1),
        waivers=(Waiver(signed, term_years=1),),
    )
    summary = summarize(facts, compute_limitation(facts))
    assert (summary.flags, summary.fallback_flags) == (flags, fallback_flags)
