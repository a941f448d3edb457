"""A generated extract for comparing bulk paths with the case-at-a-time ones: the demo's
scenarios and random cases (all five files, every rule), plus cases on every threshold of a
given day, cases whose entry clocks straddle it, and hostile text."""

from __future__ import annotations

import csv
from datetime import date, timedelta
from pathlib import Path
from typing import Any

from solwatch.core.dates import add_years
from solwatch.demo import write_sample
from solwatch.store.extract import COLUMNS

# Days remaining at which an alert or a CEAR count starts or stops, and either side of them.
EDGES = (-1, 0, 1, 89, 90, 91, 179, 180, 181, 364, 365, 366, 729, 730, 731)
HOSTILE = (
    "=SUM(A1)",
    "+1 trading",
    "-dash Co.",
    "@handle",
    "Acme, Inc.",
    'Say "hi" Ltd.',
    "Semi; colon: ok",
    'both, "quoted"',
    "Ünïcode & Søns",
)
OFFICES = {"2704": "Los Angeles FP&F", "1001": '=New York, "JFK"', "2709": "San Francisco"}


def _years_before(day: date, years: int) -> date:
    """A day whose `years`-year anniversary is `day` (29 February has none: the 28th)."""
    start = add_years(day, -years)
    return start if add_years(start, years) == day else start - timedelta(days=1)


class _Rows:
    def __init__(self, folder: Path) -> None:
        self.handles = {
            kind: (folder / f"{kind}.csv").open("a", encoding="utf-8", newline="")
            for kind in COLUMNS
        }
        self.writers = {kind: csv.writer(handle) for kind, handle in self.handles.items()}
        self.count = 0

    def add(self, file: str, **values: Any) -> None:
        self.writers[file].writerow(
            v.isoformat() if isinstance(v, date) else ("" if v is None else v)
            for v in (values.get(name) for name in COLUMNS[file])
        )

    def case(self, today: date, **values: Any) -> str:
        self.count += 1
        number = values.pop("case_number", f"EDGE-{self.count:04d}")
        violation = values.get("violation_date", today - timedelta(days=1000))
        row = {
            "case_number": number,
            "statute": "1592",
            "culpability": "negligence",
            "status": "OPEN",
            "center": ("1", "4", "7", "NOTELG", "PNDING", "")[self.count % 6],
            "port_code": ("2704", "1001", "2709", "3801")[self.count % 4],
            "importer_name": f"Importer {self.count}",
            "importer_number": f"{self.count:02d}-1234567",
            "violation_date": violation,
            "discovery_date": violation + timedelta(days=30),
            "initiated_date": violation + timedelta(days=60),
            "last_action_date": today - timedelta(days=10),
            "sol_date": add_years(violation, 5),
            "assessed_amount": f"{1000 + self.count}.{self.count % 100:02d}",
            "collected_amount": "10.00",
            **values,
        }
        self.add("cases", **row)
        return str(number)

    def close(self) -> None:
        for handle in self.handles.values():
            handle.close()


def write_rich_extract(folder: Path, *, today: date, count: int = 600, seed: int = 1621) -> None:
    """The demo extract of `count` cases, then the edge cases of `today`, in all five files."""
    write_sample(folder, today=today, count=count, seed=seed)
    with (folder / "cases.csv").open(encoding="utf-8", newline="") as handle:
        first = list(csv.reader(handle))[3][0]
    rows = _Rows(folder)
    try:
        # Child rows of an early case at the end of their files: out of case order.
        late = today - timedelta(days=300)
        rows.add(
            "entries", case_number=first, entry_number="LATE-1", entry_date=late, loss_amount="5"
        )
        rows.add("waivers", case_number=first, signed_date=late, term_years=1)
        rows.add("tolling", case_number=first, start_date=late, end_date=late + timedelta(days=9))
        rows.add("events", case_number=first, event_date=late, kind="acknowledgment")
        for days in EDGES:
            limit = today + timedelta(days=days)
            violation = _years_before(limit, 5)
            if violation > today:
                continue
            rows.case(today, violation_date=violation)
            # A fraud case whose fraud limit and negligence fallback both fall on the edge.
            rows.case(
                today,
                culpability="fraud",
                violation_date=violation,
                discovery_date=violation,
                sol_date=limit + timedelta(days=1),
            )
            # The recorded SOL date a day either side of the law's.
            rows.case(today, violation_date=violation, sol_date=limit - timedelta(days=1))
        for idle in (89, 90, 91):
            rows.case(today, last_action_date=today - timedelta(days=idle))
        rows.case(today, last_action_date=None, initiated_date=None)
        for index, name in enumerate(HOSTILE):
            rows.case(
                today,
                case_number=f"{name[:2]}-{index}" if index < 6 else f"H-{index}",
                importer_name=name,
                importer_number=("+44 20", "1,2", '"q"', "=1")[index % 4],
            )
        rows.case(today, statute="", culpability="")  # no rule: uncomputable
        rows.case(today, statute="1595a", culpability="", discovery_date="")
        rows.case(today, status="CLOSED")
        rows.case(today, status="SUIT_FILED")
        rows.case(today, assessed_amount="", collected_amount="")
        # Entry clocks either side of the day: the case's date is its first live entry's.
        for culpability in ("negligence", "fraud"):
            violation = _years_before(today - timedelta(days=40), 5)
            number = rows.case(
                today,
                culpability=culpability,
                violation_date=violation,
                discovery_date=violation + timedelta(days=10),
            )
            for offset in (0, 30, 80, 200):
                rows.add(
                    "entries",
                    case_number=number,
                    entry_number=f"{number}-E{offset}",
                    entry_date=violation + timedelta(days=offset),
                    loss_amount=f"{offset + 7}.25",
                )
            rows.add(
                "waivers",
                case_number=number,
                signed_date=today - timedelta(days=400),
                term_years=2,
                entries=f"{number}-E80",
            )
            rows.add(
                "waivers",
                case_number=number,
                signed_date=today - timedelta(days=20),
                expires_date=today + timedelta(days=500),
                revives="true",
                entries=f"{number}-E0",
            )
            rows.add(
                "tolling",
                case_number=number,
                start_date=violation + timedelta(days=300),
                end_date=violation + timedelta(days=310),
                reason="abroad",
            )
        bond = rows.case(
            today,
            case_type="liquidated_damages",
            statute="1623",
            culpability="",
            violation_date=today - timedelta(days=2400),
        )
        rows.add(
            "events",
            case_number=bond,
            event_date=today - timedelta(days=300),
            kind="acknowledgment",
        )
        rows.add(
            "events",
            case_number=bond,
            event_date=today - timedelta(days=30),
            kind="partial_payment",
        )
    finally:
        rows.close()
