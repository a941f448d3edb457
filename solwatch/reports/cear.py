"""The monthly CEAR material (pure): each Center's open cases and a per-Center summary.

Each Center's CEAR meeting reviews its open enforcement matters at least monthly and refers
anything without action for `cear_referral_days` (default 90) to the headquarters CEAR Board.
A month's files are computed as of its last day (or today, for the current month), in a fixed
order, so exporting the same month again from the same data gives the same bytes.
"""

from __future__ import annotations

import calendar
import re
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from datetime import date
from typing import Any

from solwatch.core.alerts import AlertKind
from solwatch.core.assessment import Assessment
from solwatch.core.money import dollars
from solwatch.reports.rows import CASE_FIELDS, FALLBACK_FIELDS, TRIAGE_FIELDS, case_row
from solwatch.reports.stats import TRIAGE_KEYS, ExpiredByVerdict

# The CEAR columns keep their places after the case columns they were first written with.
CEAR_FIELDS = (
    *(name for name in CASE_FIELDS if name not in (*FALLBACK_FIELDS, *TRIAGE_FIELDS)),
    "last_action_date",
    "days_since_action",
    "cear_referral",
    *FALLBACK_FIELDS,
    *TRIAGE_FIELDS,
)
SUMMARY_FIELDS = (
    "center",
    "open",
    "expired",
    "expired_uncollected",
    "due_90",
    "due_180",
    "due_365",
    "blank_sol",
    "sol_later_than_law",
    "waivers_signed_in_month",
    "cear_referrals_due",
    *TRIAGE_KEYS,
)
NO_CENTER = "unassigned"


def month_bounds(month: str) -> tuple[date, date]:
    """First and last day of `YYYY-MM`; ValueError with a reason otherwise."""
    try:
        year, number = (int(part) for part in month.split("-"))
        first = date(year, number, 1)
    except ValueError:
        raise ValueError(f"not a month: {month!r} (expected YYYY-MM)") from None
    return first, date(year, number, calendar.monthrange(year, number)[1])


def month_as_of(month: str, today: date) -> date:
    """The day a month's files are computed for: its last day, or today for the current
    month. A month that has not started is an error."""
    first, last = month_bounds(month)
    if first > today:
        raise ValueError(f"{month} has not started yet (today is {today.isoformat()})")
    return min(last, today)


def cear_row(assessment: Assessment, offices: Mapping[str, str]) -> dict[str, Any]:
    """A case row with the CEAR columns: last action, days since, and referral due."""
    row = case_row(assessment, offices)
    last_action = assessment.record.last_action_date
    row["last_action_date"] = last_action.isoformat() if last_action else None
    row["days_since_action"] = assessment.days_idle
    row["cear_referral"] = "yes" if AlertKind.CEAR_REFERRAL in assessment.alerts else "no"
    return row


def file_key(center: str | None) -> str:
    return center or NO_CENTER


@dataclass(frozen=True)
class FpfOffice:
    """An FP&F office as its monthly SOL report sees it: its name, the key its file is named
    with, its ports and its mailboxes."""

    name: str
    key: str
    ports: tuple[str, ...]
    to: tuple[str, ...]


def fpf_offices(ports: Mapping[str, tuple[str, tuple[str, ...]]]) -> list[FpfOffice]:
    """The FP&F offices of the `[routing.ports]` table (port -> office name, mailboxes), each
    with all its ports and their mailboxes, by name; each file key (the name in lower case,
    letters and digits) is unique."""
    by_name: dict[str, tuple[list[str], list[str]]] = {}
    for port, (name, to) in sorted(ports.items()):
        office_ports, mailboxes = by_name.setdefault(name, ([], []))
        office_ports.append(port)
        mailboxes += [address for address in to if address not in mailboxes]
    found: list[FpfOffice] = []
    keys: set[str] = set()
    for name in sorted(by_name):
        office_ports, mailboxes = by_name[name]
        base = re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-") or "office"
        key, number = base, 2
        while key in keys:
            key, number = f"{base}-{number}", number + 1
        keys.add(key)
        found.append(FpfOffice(name, key, tuple(office_ports), tuple(mailboxes)))
    return found


@dataclass
class CenterSummary:
    open: int = 0
    expired: int = 0
    expired_uncollected_cents: int = 0
    due_90: int = 0
    due_180: int = 0
    due_365: int = 0
    blank_sol: int = 0
    sol_later_than_law: int = 0
    waivers_signed_in_month: int = 0
    cear_referrals_due: int = 0
    limit_months: Counter[str] = field(default_factory=Counter)
    triage: ExpiredByVerdict = field(default_factory=ExpiredByVerdict)
    # The file's cases, in its order: what the monthly mail carried, for the audit.
    case_numbers: list[str] = field(default_factory=list)

    def add(self, assessment: Assessment) -> None:
        alerts = assessment.alerts
        self.triage.add(assessment)
        self.case_numbers.append(assessment.record.case_number)
        if AlertKind.STATUS_CORRECTION_PENDING in alerts:
            return  # listed for the Center to correct the source, but not open
        self.open += 1
        limit = assessment.standing.limitation_date
        if limit is not None:
            self.limit_months[limit.isoformat()[:7]] += 1
        if AlertKind.EXPIRED in alerts:
            self.expired += 1
            self.expired_uncollected_cents += assessment.record.uncollected_cents or 0
        days = assessment.standing.days_remaining
        if days is not None and days >= 0:
            self.due_90 += days <= 90
            self.due_180 += days <= 180
            self.due_365 += days <= 365
        self.blank_sol += AlertKind.BLANK_SOL in alerts
        self.sol_later_than_law += AlertKind.SOL_LATER_THAN_LAW in alerts
        self.cear_referrals_due += AlertKind.CEAR_REFERRAL in alerts

    def summary_row(self, center: str) -> dict[str, Any]:
        values = {
            f.name: getattr(self, f.name)
            for f in fields(self)
            if f.name not in ("limit_months", "triage", "case_numbers")
        }
        values["expired_uncollected"] = dollars(values.pop("expired_uncollected_cents"))
        return {"center": center, **values, **self.triage.as_dict()}


def months_ahead(first_after: date, count: int = 12) -> list[str]:
    """`count` months as YYYY-MM, starting with the month after `first_after`."""
    year, month = first_after.year, first_after.month
    found = []
    for _ in range(count):
        year, month = (year + 1, 1) if month == 12 else (year, month + 1)
        found.append(f"{year:04d}-{month:02d}")
    return found


def chart(summary: CenterSummary, as_of: date) -> list[tuple[str, int]]:
    """How many open cases reach their limit in each of the 12 months after `as_of`'s."""
    return [(month, summary.limit_months.get(month, 0)) for month in months_ahead(as_of)]
