"""Waivers of the statute of limitations, applied in the order they were signed."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import date

from solwatch.core.dates import add_years
from solwatch.core.facts import Waiver
from solwatch.core.steps import (
    SRC_2415_WAIVER,
    SRC_FORD,
    SRC_GULDMAN,
    SRC_HITACHI,
    SRC_KATANA,
    SRC_WAIVER_TERMS,
    Step,
)

DEFAULT_TERM_YEARS = 2
LATE_WAIVER = "late-waiver"
REVOKED_WAIVER = "revoked-waiver"
WAIVER_INCOMPLETE = "waiver-incomplete"


def waiver_end(waiver: Waiver) -> tuple[date, str, str]:
    """The last day a waiver extends the limit to, how to say so, and the source.

    A term runs from the day the waiver was signed ("commencing with the date of execution", as
    the Guldman waiver was worded): the conservative reading, since a waiver worded to run from
    the old limit gives a later date, which staff record as its stated end date. A waiver with
    neither an end date nor a term counts as DEFAULT_TERM_YEARS from signing.
    """
    if waiver.expires is not None:
        return (
            waiver.expires,
            f"states an end date of {waiver.expires.isoformat()}",
            SRC_WAIVER_TERMS,
        )
    if waiver.term_years is not None:
        end = add_years(waiver.signed, waiver.term_years)
        return (
            end,
            f"runs {waiver.term_years} year(s) commencing with the date of execution, to "
            f"{end.isoformat()}",
            f"{SRC_WAIVER_TERMS}; {SRC_GULDMAN}",
        )
    end = add_years(waiver.signed, DEFAULT_TERM_YEARS)
    return (
        end,
        f"states neither an end date nor a term, so it is counted as {DEFAULT_TERM_YEARS} years "
        f"from signing, to {end.isoformat()} (record its terms: {WAIVER_INCOMPLETE})",
        SRC_WAIVER_TERMS,
    )


def incomplete_flags(waivers: Iterable[Waiver]) -> frozenset[str]:
    """`waiver-incomplete` when a waiver on file states neither an end date nor a term."""
    incomplete = any(w.expires is None and w.term_years is None for w in waivers)
    return frozenset({WAIVER_INCOMPLETE}) if incomplete else frozenset()


def _named(entries: Sequence[str], shown: int = 5) -> str:
    """`entry A` or `entries A, B and 3 more`."""
    names = ", ".join(entries[:shown])
    more = f" and {len(entries) - shown} more" if len(entries) > shown else ""
    return f"{'entry' if len(entries) == 1 else 'entries'} {names}{more}"


def _not_reaching(waiver: Waiver, clock_entries: frozenset[str], running: date) -> Step:
    signed = waiver.signed.isoformat()
    named = _named(waiver.entries)
    if len(clock_entries) == 1:
        text = (
            f"Waiver signed {signed} names {named}, not this one: it does not extend "
            f"this entry's clock."
        )
    elif clock_entries:
        text = (
            f"Waiver signed {signed} names only {named}: it does not extend the case's "
            f"single clock, which runs for every entry (those it leaves out keep this date)."
        )
    else:
        text = (
            f"Waiver signed {signed} names {named}, but the case has no entries on "
            f"file: not applied."
        )
    return Step(text, SRC_WAIVER_TERMS, running)


def apply_waivers(
    limit: date,
    waivers: Sequence[Waiver],
    *,
    clock_entries: frozenset[str] = frozenset(),
    contract: bool = False,
) -> tuple[date, list[Step], frozenset[str]]:
    """The limitation date after `waivers`, the steps taken, and flags for counsel.

    A waiver takes effect without CBP's acceptance (Ford, 2007) and waivers chain; how far each
    one reaches is a matter of its own terms. One signed after the running limit is not
    applied: whether it revives the claim depends on its words (Hitachi, 1999, for §1621), so it
    is flagged for counsel unless counsel has marked it reviving and it states an end date. A
    revoked waiver is never applied: §1621 is not jurisdictional, and whether a revoked waiver
    still stands is a defense the court left open (Katana Racing, 2023). With `contract` the
    claim is a §2415 contract claim, to which those §1621 rulings do not speak.

    A waiver that names entries reaches only the clocks of those entries (`clock_entries`: the
    entry numbers the clock runs for); one that does not reach the clock is neither applied nor
    flagged, so `late-waiver` is raised only for a covered entry whose clock had already run.
    """
    late_source = SRC_2415_WAIVER if contract else SRC_HITACHI
    running = limit
    steps: list[Step] = []
    flags: set[str] = set()
    for waiver in sorted(waivers, key=lambda w: w.signed):
        if not waiver.reaches(clock_entries):
            steps.append(_not_reaching(waiver, clock_entries, running))
            continue
        signed = waiver.signed.isoformat()
        if waiver.revoked is not None:
            flags.add(REVOKED_WAIVER)
            why = (
                "whether it still stands is for counsel"
                if contract
                else "§1621 is not jurisdictional, and whether a revoked waiver still stands is "
                "a defense the court left open: counsel should review"
            )
            steps.append(
                Step(
                    f"Waiver signed {signed} was revoked on {waiver.revoked.isoformat()}: "
                    f"not applied; {why}.",
                    SRC_2415_WAIVER if contract else SRC_KATANA,
                    running,
                )
            )
            continue
        if waiver.signed > running:
            if waiver.revives and waiver.expires is not None:
                extended = max(running, waiver.expires)
                steps.append(
                    Step(
                        f"Waiver signed {signed}, after the limit of {running.isoformat()} had "
                        f"run, is applied because counsel marked it as reviving the claim: "
                        f"limit {extended.isoformat()}.",
                        late_source,
                        extended,
                    )
                )
                running = extended
            else:
                flags.add(LATE_WAIVER)
                words = (
                    "depends on its words"
                    if contract
                    else "depends on its words (in Hitachi, a waiver that named all 42 entries "
                    "covered those already time-barred)"
                )
                steps.append(
                    Step(
                        f"Waiver signed {signed} came after the limit of {running.isoformat()} "
                        f"had run: not applied; whether it revives the claim {words}: for "
                        f"counsel.",
                        late_source,
                        running,
                    )
                )
            continue
        target, how, source = waiver_end(waiver)
        extended = max(running, target)
        if extended == running:
            outcome = f"which is not later than {running.isoformat()}: limit unchanged"
        else:
            outcome = (
                f"and takes effect without CBP's acceptance: limit {running.isoformat()} "
                f"becomes {extended.isoformat()}"
            )
            source = f"{source}; {SRC_FORD}"
        steps.append(Step(f"Waiver signed {signed} {how}, {outcome}.", source, extended))
        running = extended
    return running, steps, frozenset(flags)
