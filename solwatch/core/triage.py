"""Telling a lost case from a mis-coded one: the triage of an open case past its limit.

OIG-22-34 counted 152 penalty cases coded open past their limit; OIG-24-49 found that 144 of
them had in fact been closed, settled, sent to litigation or to Treasury offset, and only 8
had expired. The verdict reads the facts an extract carries about the case's end:

- `likely-miscoded` (probably a stale status: correct the source record) when a `suit_filed`
  event is dated on or before the limit (the limit was met), when `settled`, `paid_in_full`,
  `closed` or `treasury_offset` is recorded, or when collected is at least assessed (and
  something was assessed);
- `unknown` when the data cannot say: the case has no event of any kind on file and no
  assessed amount (blank or zero), so nothing could show how it ended;
- `likely-lost` (lost unless counsel finds otherwise) otherwise.

The limit a suit is measured against is the case's earliest limit (for a case with several
entries, the first entry clock to run out): a suit filed later left that entry time-barred.
Pure and independent of the day: it is the verdict a case gets once its limit has passed.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from enum import StrEnum

from solwatch.core.facts import KNOWN_EVENT_KINDS, Event, EventKind, Status
from solwatch.core.money import dollars
from solwatch.core.steps import SRC_1621, SRC_EVENTS, SRC_OIG_24_49, Step


class Verdict(StrEnum):
    LIKELY_MISCODED = "likely-miscoded"
    LIKELY_LOST = "likely-lost"
    UNKNOWN = "unknown"


# Events that say the case ended otherwise than by running out, in the order they are listed.
CLOSING_KINDS: tuple[str, ...] = (
    EventKind.SETTLED,
    EventKind.PAID_IN_FULL,
    EventKind.CLOSED,
    EventKind.TREASURY_OFFSET,
)


@dataclass(frozen=True)
class Triage:
    """A verdict, the facts it rests on (one short phrase each), and its explanation: one step
    per fact read, each with its source, ending with the verdict."""

    verdict: Verdict
    reasons: tuple[str, ...]
    steps: tuple[Step, ...]

    @property
    def reason(self) -> str:
        return "; ".join(self.reasons)


def _words(kind: str) -> str:
    return kind.replace("_", " ")


def _event_step(event: Event, limit: date, explain: bool) -> tuple[Step | None, str | None]:
    """The step for one event (None unless `explain`), and the reason it gives for
    `likely-miscoded`, if any."""
    kind = event.kind
    if kind == EventKind.SUIT_FILED:
        met = event.event_date <= limit
        when, last = event.event_date.isoformat(), limit.isoformat()
        reason = f"suit filed {when}, on or before the limit {last}" if met else None
        if not explain:
            return None, reason
        if met:
            text = (
                f"Suit filed on {when}, on or before the limit {last}: the limit was met, so the "
                f"open status is probably stale (it should read SUIT_FILED)."
            )
        else:
            text = f"Suit filed on {when}, after the limit {last}: too late to meet it."
        return Step(text, SRC_1621), reason
    if kind in CLOSING_KINDS:
        when = event.event_date.isoformat()
        reason = f"{kind} recorded {when}"
        if not explain:
            return None, reason
        return Step(
            f"{_words(kind).capitalize()} on {when}: the case ended, so the open status is "
            f"probably stale.",
            SRC_OIG_24_49,
        ), reason
    if not explain:
        return None, None
    when = event.event_date.isoformat()
    if kind in KNOWN_EVENT_KINDS:
        text = f"{_words(kind).capitalize()} on {when}: not a closing fact."
    else:
        text = f'Event "{kind}" on {when}: a kind solwatch does not read.'
    return Step(text, SRC_EVENTS), None


def _amount_step(
    assessed: int | None, collected: int | None, explain: bool
) -> tuple[Step | None, str | None]:
    """The step for the amounts (None unless `explain`), and the reason they give for
    `likely-miscoded`, if any."""
    paid = collected or 0
    if not assessed or paid < assessed:
        if not explain:
            return None, None
        if not assessed:
            text = "No amount assessed is recorded: the amounts cannot show whether it was paid."
        else:
            text = (
                f"Collected ${dollars(paid)} of ${dollars(assessed)} assessed: "
                f"${dollars(assessed - paid)} uncollected."
            )
        return Step(text, SRC_OIG_24_49), None
    reason = f"collected ${dollars(paid)} of ${dollars(assessed)} assessed"
    if not explain:
        return None, reason
    return Step(
        f"Collected ${dollars(paid)} of ${dollars(assessed)} assessed: paid, so the open status "
        f"is probably stale.",
        SRC_OIG_24_49,
    ), reason


VERDICT_STEPS = {
    Verdict.LIKELY_MISCODED: Step(
        "Verdict: likely-miscoded, probably a stale status: correct the source record, and "
        "record the finding with `solwatch resolve`.",
        SRC_OIG_24_49,
    ),
    Verdict.UNKNOWN: Step(
        "Verdict: unknown: with no event on file and no amount assessed, nothing can tell a "
        "closed case from a lost one; check the case file.",
        SRC_OIG_24_49,
    ),
    Verdict.LIKELY_LOST: Step(
        "Verdict: likely-lost: no suit on or before the limit, nothing recorded that ended the "
        "case, and it is not paid: lost unless counsel finds otherwise.",
        SRC_1621,
    ),
}


def triage(
    events: Sequence[Event],
    assessed_cents: int | None,
    collected_cents: int | None,
    limit: date,
    *,
    explain: bool = True,
) -> Triage:
    """The verdict on a case whose (earliest) limit `limit` has passed while it is coded open.

    Without `explain` the steps are left out (the store materializes the verdict and its
    reasons for every case); the verdict and reasons are the same either way."""
    steps: list[Step] = []
    reasons: list[str] = []
    facts = [
        *(
            _event_step(e, limit, explain)
            for e in sorted(events, key=lambda e: (e.event_date, e.kind))
        ),
        _amount_step(assessed_cents, collected_cents, explain),
    ]
    for step, reason in facts:
        if step is not None:
            steps.append(step)
        if reason:
            reasons.append(reason)
    if reasons:
        verdict = Verdict.LIKELY_MISCODED
    elif not events and not assessed_cents:
        verdict = Verdict.UNKNOWN
        reasons = ["no events on file and no amount assessed"]
    else:
        verdict = Verdict.LIKELY_LOST
        late = [e.event_date.isoformat() for e in events if e.kind == EventKind.SUIT_FILED]
        reasons = [
            f"suit filed {', '.join(sorted(late))}, after the limit {limit.isoformat()}"
            if late
            else "no suit filed",
            "no closing event",
            f"${dollars(assessed_cents - (collected_cents or 0))} uncollected"
            if assessed_cents
            else "no amount assessed",
        ]
    if explain:
        steps.append(VERDICT_STEPS[verdict])
    return Triage(verdict, tuple(reasons), tuple(steps))


def verdict_of(
    events: Sequence[Event],
    assessed_cents: int | None,
    collected_cents: int | None,
    limit: date,
) -> tuple[str, str]:
    """`triage(..., explain=False)` as the stored (verdict, reason): the same rules, quicker
    for the most common case, one with no events on file (the bulk import computes a million)."""
    if events:
        found = triage(events, assessed_cents, collected_cents, limit, explain=False)
        return found.verdict.value, found.reason
    paid = collected_cents or 0
    if not assessed_cents:
        return Verdict.UNKNOWN.value, "no events on file and no amount assessed"
    if paid >= assessed_cents:
        return (
            Verdict.LIKELY_MISCODED.value,
            f"collected ${dollars(paid)} of ${dollars(assessed_cents)} assessed",
        )
    return (
        Verdict.LIKELY_LOST.value,
        f"no suit filed; no closing event; ${dollars(assessed_cents - paid)} uncollected",
    )


# What a later extract says about a correction staff recorded (`solwatch resolve`).
PENDING, CONFIRMED, CONFLICT = "pending", "confirmed", "conflict"
# The statuses a correction can record: the two that end the watch.
CORRECTED = (Status.CLOSED, Status.SUIT_FILED)
# The event that dates each status a correction can record.
DATED_BY = {Status.SUIT_FILED: EventKind.SUIT_FILED, Status.CLOSED: EventKind.CLOSED}


@dataclass(frozen=True)
class Reconciled:
    """`outcome` is PENDING (the extract still codes the case open), CONFIRMED (it now says
    what staff recorded) or CONFLICT (it says something else); `reason` says what."""

    outcome: str
    reason: str


def reconcile(
    resolved: Status, resolved_on: date, extract_status: Status, events: Sequence[Event]
) -> Reconciled:
    """Compare staff's recorded correction (`resolved` on `resolved_on`) with what the extract
    now says. A status other than the one recorded, or an event that dates the recorded status
    on other days only, is a conflict: never settled silently either way."""
    kind = DATED_BY[resolved]
    dated = sorted({e.event_date for e in events if e.kind == kind})
    if dated and resolved_on not in dated:
        days = ", ".join(day.isoformat() for day in dated)
        return Reconciled(
            CONFLICT,
            f"the extract records {kind} on {days}; the correction says {resolved.value} on "
            f"{resolved_on.isoformat()}",
        )
    if extract_status.is_open:
        return Reconciled(
            PENDING, f"the extract still codes it {extract_status.value}: correct the source"
        )
    if extract_status is resolved:
        return Reconciled(CONFIRMED, f"the extract now codes it {resolved.value}, as recorded")
    return Reconciled(
        CONFLICT,
        f"the extract now codes it {extract_status.value}; the correction says "
        f"{resolved.value} on {resolved_on.isoformat()}",
    )
