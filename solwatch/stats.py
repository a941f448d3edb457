"""Per-Center totals for `solwatch stats` (pure: assessments in, rows out)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, fields
from typing import Any

from solwatch.alerts import AlertKind
from solwatch.centers import CENTERS, SPECIAL
from solwatch.reports import Assessment, dollars

CENTER_ORDER = {code: index for index, code in enumerate([*CENTERS, *SPECIAL])}


@dataclass
class CenterTotals:
    open: int = 0
    expired: int = 0
    expired_uncollected_cents: int = 0
    blank_sol: int = 0
    due_90: int = 0
    due_365: int = 0

    def add(self, assessment: Assessment) -> None:
        if not assessment.record.is_open:
            return
        self.open += 1
        alerts = assessment.alerts
        if AlertKind.EXPIRED in alerts:
            self.expired += 1
            self.expired_uncollected_cents += assessment.record.uncollected_cents or 0
        if AlertKind.BLANK_SOL in alerts:
            self.blank_sol += 1
        days = assessment.standing.days_remaining
        if days is not None and 0 <= days <= 365:
            self.due_365 += 1
            if days <= 90:
                self.due_90 += 1

    def as_dict(self) -> dict[str, Any]:
        values: dict[str, Any] = {f.name: getattr(self, f.name) for f in fields(self)}
        values["expired_uncollected"] = dollars(values.pop("expired_uncollected_cents"))
        return {key: values[key] for key in STAT_KEYS}


STAT_KEYS = ("open", "expired", "expired_uncollected", "blank_sol", "due_90", "due_365")


def tally(assessments: Iterable[Assessment]) -> tuple[dict[str | None, CenterTotals], CenterTotals]:
    """Totals per Center (None for cases with no Center) and overall, open cases only."""
    centers: dict[str | None, CenterTotals] = {}
    total = CenterTotals()
    for assessment in assessments:
        if not assessment.record.is_open:
            continue
        centers.setdefault(assessment.record.center, CenterTotals()).add(assessment)
        total.add(assessment)
    ordered = dict(
        sorted(centers.items(), key=lambda item: CENTER_ORDER.get(item[0] or "", len(CENTER_ORDER)))
    )
    return ordered, total
