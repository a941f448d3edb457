"""Per-Center totals for `solwatch stats`: the review an auditor would want (pure)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field, fields
from datetime import date, timedelta
from typing import Any

from solwatch.core.alerts import AlertKind
from solwatch.core.assessment import Assessment
from solwatch.core.centers import CENTERS, SPECIAL
from solwatch.core.dates import add_years
from solwatch.core.facts import Status
from solwatch.core.money import dollars
from solwatch.core.triage import Verdict

CENTER_ORDER = {code: index for index, code in enumerate([*CENTERS, *SPECIAL])}


@dataclass
class ExpiredByVerdict:
    """Cases past the limit while coded open, by triage verdict, with their dollars
    uncollected (a case with no stored verdict counts as `unknown`); and the cases staff
    corrected (`solwatch resolve`) that the extract still codes open."""

    likely_lost: int = 0
    likely_lost_cents: int = 0
    likely_miscoded: int = 0
    likely_miscoded_cents: int = 0
    unknown: int = 0
    unknown_cents: int = 0
    status_correction_pending: int = 0

    def add(self, assessment: Assessment) -> None:
        """Count `assessment` if it is past the limit or awaits a status correction."""
        if AlertKind.STATUS_CORRECTION_PENDING in assessment.alerts:
            self.status_correction_pending += 1
            return
        if AlertKind.EXPIRED not in assessment.alerts:
            return
        self.count_expired(assessment.verdict, 1, assessment.record.uncollected_cents or 0)

    def count_expired(self, verdict: str | None, cases: int, cents: int) -> None:
        """Count `cases` past the limit with `verdict` (None counts as `unknown`), and `cents`
        uncollected on them."""
        if verdict == Verdict.LIKELY_LOST:
            self.likely_lost += cases
            self.likely_lost_cents += cents
        elif verdict == Verdict.LIKELY_MISCODED:
            self.likely_miscoded += cases
            self.likely_miscoded_cents += cents
        else:
            self.unknown += cases
            self.unknown_cents += cents

    def as_dict(self) -> dict[str, Any]:
        return {
            "expired_likely_lost": self.likely_lost,
            "expired_likely_lost_uncollected": dollars(self.likely_lost_cents),
            "expired_likely_miscoded": self.likely_miscoded,
            "expired_likely_miscoded_uncollected": dollars(self.likely_miscoded_cents),
            "expired_unknown": self.unknown,
            "expired_unknown_uncollected": dollars(self.unknown_cents),
            "status_correction_pending": self.status_correction_pending,
        }


TRIAGE_KEYS = tuple(ExpiredByVerdict().as_dict())
STAT_KEYS = (
    "open",
    "expired",
    "expired_uncollected",
    "blank_sol",
    "due_90",
    "due_365",
    # solwatch's own additions, after the contract's keys
    "sol_later_than_law",
    "waivers_on_file",
    "lost",
    "lost_uncollected",
    "fallback_due",
    "fallback_expired",
    *TRIAGE_KEYS,
)


@dataclass
class CenterTotals:
    open: int = 0
    expired: int = 0
    expired_uncollected_cents: int = 0
    blank_sol: int = 0
    due_90: int = 0
    due_365: int = 0
    sol_later_than_law: int = 0
    waivers_on_file: int = 0
    lost: int = 0
    lost_uncollected_cents: int = 0
    fallback_due: int = 0
    fallback_expired: int = 0
    triage: ExpiredByVerdict = field(default_factory=ExpiredByVerdict)

    def add(self, assessment: Assessment, period: tuple[date, date]) -> None:
        record = assessment.record
        if not record.is_open:
            if is_lost(assessment, period):
                self.lost += 1
                self.lost_uncollected_cents += record.uncollected_cents or 0
            return
        self.triage.add(assessment)
        if AlertKind.STATUS_CORRECTION_PENDING in assessment.alerts:
            return  # staff found it closed or in suit: not open, whatever the extract says
        self.open += 1
        alerts = assessment.alerts
        if AlertKind.EXPIRED in alerts:
            self.expired += 1
            self.expired_uncollected_cents += record.uncollected_cents or 0
        self.blank_sol += AlertKind.BLANK_SOL in alerts
        self.sol_later_than_law += AlertKind.SOL_LATER_THAN_LAW in alerts
        self.fallback_due += AlertKind.FALLBACK_DUE in alerts
        self.fallback_expired += AlertKind.FALLBACK_EXPIRED in alerts
        self.waivers_on_file += record.waivers_total
        days = assessment.standing.days_remaining
        if days is not None and 0 <= days <= 365:
            self.due_365 += 1
            self.due_90 += days <= 90

    def as_dict(self) -> dict[str, Any]:
        values: dict[str, Any] = {
            f.name: getattr(self, f.name) for f in fields(self) if f.name != "triage"
        }
        values["expired_uncollected"] = dollars(values.pop("expired_uncollected_cents"))
        values["lost_uncollected"] = dollars(values.pop("lost_uncollected_cents"))
        values.update(self.triage.as_dict())
        return {key: values[key] for key in STAT_KEYS}


def is_lost(assessment: Assessment, period: tuple[date, date]) -> bool:
    """Closed without suit after its limit ran inside `period`, with money uncollected.

    The extracts carry no closing date, so "closed after the limit" is read as "closed now,
    and the limit has run": a case closed before its limit with money owed is counted too,
    which errs toward reporting a loss rather than hiding one.
    """
    record = assessment.record
    limit = assessment.standing.limitation_date
    return (
        record.status == Status.CLOSED.value
        and limit is not None
        and period[0] <= limit <= period[1]
        and limit < assessment.today
        and (record.uncollected_cents or 0) > 0
    )


def tally(
    assessments: Iterable[Assessment], period: tuple[date, date]
) -> tuple[dict[str | None, CenterTotals], CenterTotals]:
    """Totals per Center (None for cases with no Center) and overall."""
    centers: dict[str | None, CenterTotals] = {}
    total = CenterTotals()
    for assessment in assessments:
        record = assessment.record
        if not record.is_open and not is_lost(assessment, period):
            continue
        centers.setdefault(record.center, CenterTotals()).add(assessment, period)
        total.add(assessment, period)
    ordered = dict(
        sorted(centers.items(), key=lambda item: CENTER_ORDER.get(item[0] or "", len(CENTER_ORDER)))
    )
    return ordered, total


def lost_period(today: date, start: date | None, end: date | None) -> tuple[date, date]:
    """The period whose lost cases are counted: by default the year ending on `today`."""
    end = end or today
    return start or add_years(end, -1) + timedelta(days=1), end


def stats_document(
    today: date,
    period: tuple[date, date],
    centers: dict[str | None, CenterTotals],
    total: CenterTotals,
) -> dict[str, Any]:
    """`stats --format json`: the totals per Center and overall, with the day and the period."""
    return {
        "as_of": today.isoformat(),
        "from": period[0].isoformat(),
        "to": period[1].isoformat(),
        "centers": [{"center": code, **totals.as_dict()} for code, totals in centers.items()],
        "total": total.as_dict(),
    }
