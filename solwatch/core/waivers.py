"""Waivers of the statute of limitations, applied in the order they were signed."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date

from solwatch.core.dates import add_years
from solwatch.core.facts import Waiver
from solwatch.core.steps import SRC_FORD, SRC_HITACHI, SRC_KATANA, Step

DEFAULT_TERM_YEARS = 2
LATE_WAIVER = "late-waiver"
REVOKED_WAIVER = "revoked-waiver"


def apply_waivers(
    limit: date, waivers: Sequence[Waiver]
) -> tuple[date, list[Step], frozenset[str]]:
    """The limitation date after `waivers`, the steps taken, and flags for counsel.

    A waiver binds without CBP's acceptance (Ford, 2007) and waivers chain. One signed after the
    running limit is not applied: whether it revives the claim depends on its words (Hitachi,
    1999), so it is flagged for counsel unless counsel has marked it reviving and it states an
    end date. A revoked waiver is never applied (its effect is litigated: Katana Racing, 2023).
    """
    running = limit
    steps: list[Step] = []
    flags: set[str] = set()
    for waiver in sorted(waivers, key=lambda w: w.signed):
        signed = waiver.signed.isoformat()
        if waiver.revoked is not None:
            flags.add(REVOKED_WAIVER)
            steps.append(
                Step(
                    f"Waiver signed {signed} was revoked on {waiver.revoked.isoformat()}: "
                    f"not applied; counsel should review.",
                    SRC_KATANA,
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
                        SRC_HITACHI,
                        extended,
                    )
                )
                running = extended
            else:
                flags.add(LATE_WAIVER)
                steps.append(
                    Step(
                        f"Waiver signed {signed} came after the limit of {running.isoformat()} "
                        f"had run: not applied; whether it revives the claim is for counsel.",
                        SRC_HITACHI,
                        running,
                    )
                )
            continue
        if waiver.expires is not None:
            target, how = waiver.expires, f"states an end date of {waiver.expires.isoformat()}"
        else:
            term = waiver.term_years or DEFAULT_TERM_YEARS
            target = add_years(running, term)
            how = f"extends the limit in force by {term} year(s)"
        extended = max(running, target)
        if extended == running:
            outcome = f"which is not later than {running.isoformat()}: limit unchanged"
        else:
            outcome = f"limit {running.isoformat()} becomes {extended.isoformat()}"
        steps.append(Step(f"Waiver signed {signed} {how}; {outcome}.", SRC_FORD, extended))
        running = extended
    return running, steps, frozenset(flags)
