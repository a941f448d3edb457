"""The triage verdict of an open case past its limit, one named case per boundary, and what a
later extract says about a status correction staff recorded."""

from __future__ import annotations

from dataclasses import replace
from datetime import date

import pytest

from solwatch.core.facts import Event, Status
from solwatch.core.triage import (
    CONFIRMED,
    CONFLICT,
    PENDING,
    Verdict,
    reconcile,
    triage,
    verdict_of,
)

D = date
LIMIT = D(2024, 6, 14)
DOLLARS = 100  # cents


def event(day: date, kind: str) -> Event:
    return Event(day, kind)


VERDICTS = [
    pytest.param(
        [event(D(2024, 6, 13), "suit_filed")],
        500 * DOLLARS,
        0,
        Verdict.LIKELY_MISCODED,
        ["suit filed 2024-06-13, on or before the limit 2024-06-14"],
        id="suit-the-day-before-the-limit-met-it",
    ),
    pytest.param(
        [event(LIMIT, "suit_filed")],
        500 * DOLLARS,
        0,
        Verdict.LIKELY_MISCODED,
        ["suit filed 2024-06-14, on or before the limit 2024-06-14"],
        id="suit-on-the-limit-day-met-it",
    ),
    pytest.param(
        [event(D(2024, 6, 15), "suit_filed")],
        500 * DOLLARS,
        0,
        Verdict.LIKELY_LOST,
        [
            "suit filed 2024-06-15, after the limit 2024-06-14",
            "no closing event",
            "$500.00 uncollected",
        ],
        id="suit-the-day-after-the-limit-is-not-met",
    ),
    *(
        pytest.param(
            [event(D(2025, 1, 2), kind)],
            500 * DOLLARS,
            0,
            Verdict.LIKELY_MISCODED,
            [f"{kind} recorded 2025-01-02"],
            id=f"{kind.replace('_', '-')}-recorded",
        )
        for kind in ("settled", "paid_in_full", "closed", "treasury_offset")
    ),
    pytest.param(
        [event(D(2019, 1, 2), "closed")],
        500 * DOLLARS,
        0,
        Verdict.LIKELY_MISCODED,
        ["closed recorded 2019-01-02"],
        id="closed-long-before-the-limit-still-ended-it",
    ),
    pytest.param(
        [],
        500 * DOLLARS,
        500 * DOLLARS,
        Verdict.LIKELY_MISCODED,
        ["collected $500.00 of $500.00 assessed"],
        id="collected-equals-assessed",
    ),
    pytest.param(
        [],
        500 * DOLLARS,
        500 * DOLLARS + 1,
        Verdict.LIKELY_MISCODED,
        ["collected $500.01 of $500.00 assessed"],
        id="collected-a-cent-above-assessed",
    ),
    pytest.param(
        [],
        500 * DOLLARS,
        500 * DOLLARS - 1,
        Verdict.LIKELY_LOST,
        ["no suit filed", "no closing event", "$0.01 uncollected"],
        id="collected-one-cent-below-assessed",
    ),
    pytest.param(
        [],
        500 * DOLLARS,
        None,
        Verdict.LIKELY_LOST,
        ["no suit filed", "no closing event", "$500.00 uncollected"],
        id="blank-collected-is-nothing-collected",
    ),
    *(
        pytest.param(
            [event(D(2023, 3, 1), kind)],
            500 * DOLLARS,
            0,
            Verdict.LIKELY_LOST,
            ["no suit filed", "no closing event", "$500.00 uncollected"],
            id=f"{kind.replace('_', '-')}-is-not-a-closing-fact",
        )
        for kind in (
            "referred_to_counsel",
            "petition_decided",
            "partial_payment",
            "acknowledgment",
            "docket review",
        )
    ),
    pytest.param(
        [],
        None,
        None,
        Verdict.UNKNOWN,
        ["no events on file and no amount assessed"],
        id="no-events-no-amounts-cannot-say",
    ),
    pytest.param(
        [],
        0,
        0,
        Verdict.UNKNOWN,
        ["no events on file and no amount assessed"],
        id="zero-assessed-is-no-amount-not-paid",
    ),
    pytest.param(
        [],
        None,
        700 * DOLLARS,
        Verdict.UNKNOWN,
        ["no events on file and no amount assessed"],
        id="collected-without-assessed-cannot-say",
    ),
    pytest.param(
        [event(D(2023, 3, 1), "referred_to_counsel")],
        None,
        None,
        Verdict.LIKELY_LOST,
        ["no suit filed", "no closing event", "no amount assessed"],
        id="events-without-a-closing-fact-and-no-amounts",
    ),
    pytest.param(
        [],
        1 * DOLLARS,
        0,
        Verdict.LIKELY_LOST,
        ["no suit filed", "no closing event", "$1.00 uncollected"],
        id="amounts-without-events-can-say-lost",
    ),
    pytest.param(
        [event(D(2025, 1, 2), "settled"), event(D(2024, 1, 5), "suit_filed")],
        500 * DOLLARS,
        500 * DOLLARS,
        Verdict.LIKELY_MISCODED,
        [
            "suit filed 2024-01-05, on or before the limit 2024-06-14",
            "settled recorded 2025-01-02",
            "collected $500.00 of $500.00 assessed",
        ],
        id="every-fact-is-listed-in-date-order",
    ),
]


@pytest.mark.parametrize(("events", "assessed", "collected", "verdict", "reasons"), VERDICTS)
def test_the_verdict_and_the_facts_it_rests_on(
    events: list[Event],
    assessed: int | None,
    collected: int | None,
    verdict: Verdict,
    reasons: list[str],
) -> None:
    """Each verdict at its boundary, with the facts it rests on; the same without the
    explanation (as the store materializes it)."""
    found = triage(events, assessed, collected, LIMIT)
    assert (found.verdict, list(found.reasons)) == (verdict, reasons)
    assert found.reason == "; ".join(reasons)
    assert triage(events, assessed, collected, LIMIT, explain=False) == replace(found, steps=())
    assert verdict_of(events, assessed, collected, LIMIT) == (verdict.value, found.reason)


def test_the_explanation_has_a_sourced_step_per_fact_and_ends_with_the_verdict() -> None:
    """One step per event and one for the amounts, each citing where it comes from: §1621 for
    a suit's timing, OIG-24-49 for what ends a case, the extract for facts no rule reads."""
    found = triage(
        [
            event(D(2024, 6, 15), "suit_filed"),
            event(D(2023, 2, 1), "docket review"),
            event(D(2022, 1, 3), "settled"),
        ],
        500 * DOLLARS,
        0,
        LIMIT,
    )
    texts = [step.text for step in found.steps]
    assert texts[:4] == [
        "Settled on 2022-01-03: the case ended, so the open status is probably stale.",
        'Event "docket review" on 2023-02-01: a kind solwatch does not read.',
        "Suit filed on 2024-06-15, after the limit 2024-06-14: too late to meet it.",
        "Collected $0.00 of $500.00 assessed: $500.00 uncollected.",
    ]
    assert texts[4].startswith("Verdict: likely-miscoded")
    sources = [step.source for step in found.steps]
    assert sources[0].startswith("DHS OIG-24-49")
    assert sources[1] == "the extract's events.csv"
    assert sources[2] == "19 U.S.C. §1621"
    assert all(step.source for step in found.steps)


@pytest.mark.parametrize(
    ("verdict_events", "assessed", "ending"),
    [
        pytest.param([], 100, "lost unless counsel finds otherwise.", id="lost"),
        pytest.param([], None, "check the case file.", id="unknown"),
    ],
)
def test_the_last_step_says_what_the_verdict_means(
    verdict_events: list[Event], assessed: int | None, ending: str
) -> None:
    """The explanation ends by saying what to do with the verdict."""
    assert triage(verdict_events, assessed, 0, LIMIT).steps[-1].text.endswith(ending)


RECONCILED = [
    pytest.param(Status.CLOSED, Status.OPEN, [], PENDING, id="still-open-is-pending"),
    pytest.param(Status.SUIT_FILED, Status.REFERRED, [], PENDING, id="still-referred-is-pending"),
    pytest.param(Status.CLOSED, Status.CLOSED, [], CONFIRMED, id="now-closed-confirms"),
    pytest.param(Status.SUIT_FILED, Status.SUIT_FILED, [], CONFIRMED, id="now-in-suit-confirms"),
    pytest.param(Status.CLOSED, Status.SUIT_FILED, [], CONFLICT, id="in-suit-not-closed"),
    pytest.param(Status.SUIT_FILED, Status.CLOSED, [], CONFLICT, id="closed-not-in-suit"),
    pytest.param(
        Status.SUIT_FILED,
        Status.SUIT_FILED,
        [event(D(2024, 3, 2), "suit_filed")],
        CONFLICT,
        id="suit-on-another-day",
    ),
    pytest.param(
        Status.SUIT_FILED,
        Status.OPEN,
        [event(D(2024, 3, 2), "suit_filed")],
        CONFLICT,
        id="open-with-a-suit-on-another-day",
    ),
    pytest.param(
        Status.SUIT_FILED,
        Status.SUIT_FILED,
        [event(D(2024, 3, 1), "suit_filed"), event(D(2024, 5, 1), "suit_filed")],
        CONFIRMED,
        id="a-suit-on-the-day-recorded-confirms",
    ),
    pytest.param(
        Status.CLOSED,
        Status.CLOSED,
        [event(D(2024, 3, 9), "settled")],
        CONFIRMED,
        id="a-settlement-does-not-date-a-closing",
    ),
]


@pytest.mark.parametrize(("resolved", "status", "events", "outcome"), RECONCILED)
def test_a_later_extract_confirms_or_contradicts_a_correction(
    resolved: Status, status: Status, events: list[Event], outcome: str
) -> None:
    """A correction recorded for 2024-03-01 against what the extract now says."""
    assert reconcile(resolved, D(2024, 3, 1), status, events).outcome == outcome


def test_a_conflict_says_what_each_side_says() -> None:
    """The reason names the extract's status or dates and the correction's."""
    assert reconcile(Status.CLOSED, D(2024, 3, 1), Status.SUIT_FILED, []).reason == (
        "the extract now codes it SUIT_FILED; the correction says CLOSED on 2024-03-01"
    )
    assert reconcile(
        Status.SUIT_FILED, D(2024, 3, 1), Status.OPEN, [event(D(2024, 3, 2), "suit_filed")]
    ).reason == (
        "the extract records suit_filed on 2024-03-02; the correction says SUIT_FILED on 2024-03-01"
    )
