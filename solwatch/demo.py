"""Sample SEACATS-style extracts: a few named scenarios that show every rule and alert, then
realistic random cases. Deterministic for a given seed; streams, so it can write millions.

`solwatch demo` writes one, imports it (`import_sample`) and shows a day on it (`demo_day`),
on a store that holds nothing else (`other_data`).
"""

from __future__ import annotations

import csv
import json
import random
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, func, inspect, or_
from sqlmodel import Session, col, select

from solwatch.config import Settings
from solwatch.core.assessment import Assessment
from solwatch.core.dates import add_years
from solwatch.core.facts import Status
from solwatch.notify.jobs import DailyReport, preview_daily
from solwatch.notify.ledger import JobRun
from solwatch.notify.mailer import FileMailer
from solwatch.reports.stats import CenterTotals, tally
from solwatch.store.assessments import assess_cases, at_risk
from solwatch.store.cases import Case, ImportRun, find_record
from solwatch.store.extract import COLUMNS, extract_files
from solwatch.store.importer import ImportReport, import_extracts
from solwatch.store.resolutions import resolve
from solwatch.store.schema import upgrade

PORTS = {  # port code -> the Center its trade most often belongs to, for plausible data
    "1001": "CEE001",
    "4601": "CEE008",
    "2704": "CEE007",
    "2709": "CEE004",
    "5201": "CEE002",
    "3801": "CEE003",
    "2809": "CEE004",
    "3901": "CEE005",
    "5301": "CEE006",
    "1704": "CEE008",
    "0901": "CEE009",
    "2304": "CEE010",
    "3001": "CEE007",
    "1601": "CEE003",
    "1303": "CEE009",
}
FIRST = (
    "Pacific",
    "Atlantic",
    "Great Lakes",
    "Golden Gate",
    "Lone Star",
    "Summit",
    "Harbor",
    "Meridian",
    "Keystone",
    "Cascade",
    "Delta",
    "Northstar",
    "Bayview",
    "Pioneer",
    "Orion",
)
SECOND = (
    "Trading",
    "Imports",
    "Supply",
    "Industries",
    "Global",
    "Logistics",
    "Manufacturing",
    "Textiles",
    "Metals",
    "Electronics",
    "Foods",
    "Chemical",
    "Motors",
    "Apparel",
)
SUFFIX = ("Inc.", "LLC", "Co.", "Corp.", "Ltd.", "& Sons", "International")


@dataclass
class SampleCase:
    case: dict[str, Any]
    entries: list[dict[str, Any]] = field(default_factory=list)
    waivers: list[dict[str, Any]] = field(default_factory=list)
    tolling: list[dict[str, Any]] = field(default_factory=list)
    events: list[dict[str, Any]] = field(default_factory=list)


@dataclass(frozen=True)
class SampleCorrection:
    """A status correction the demo records after importing, as staff would with `resolve`."""

    case_number: str
    status: Status
    on: date
    reason: str


def _iso(day: date | None) -> str:
    return day.isoformat() if day else ""


class _Generator:
    def __init__(self, today: date, seed: int) -> None:
        self.today = today
        self.rng = random.Random(seed)
        # The triage facts draw from their own stream, so the other cases stay as they were.
        self.triage_rng = random.Random(seed + 1)
        self.sequence = 0
        self.corrections: list[SampleCorrection] = []

    def _number(self, year: int, port: str) -> str:
        self.sequence += 1
        return f"{year}-{port}-{self.sequence:06d}-01"

    def _importer(self) -> tuple[str, str]:
        rng = self.rng
        name = f"{rng.choice(FIRST)} {rng.choice(SECOND)} {rng.choice(SUFFIX)}"
        return name, f"{rng.randint(10, 99)}-{rng.randint(1000000, 9999999)}00"

    def base(self, violation: date, **overrides: Any) -> dict[str, Any]:
        rng = self.rng
        port = rng.choice(list(PORTS))
        center = PORTS[port] if rng.random() < 0.85 else f"CEE{rng.randint(1, 10):03d}"
        name, number = self._importer()
        assessed = round(rng.lognormvariate(11, 1.4), 2)
        discovery = min(violation + timedelta(days=rng.randint(30, 540)), self.today)
        initiated = min(discovery + timedelta(days=rng.randint(10, 120)), self.today)
        case = {
            "case_number": self._number(initiated.year, port),
            "case_type": "penalty",
            "statute": "1592",
            "culpability": "negligence",
            "status": "OPEN",
            "center": center,
            "port_code": port,
            "importer_name": name,
            "importer_number": number,
            "violation_date": violation,
            "discovery_date": discovery,
            "property_discovery_date": None,
            "initiated_date": initiated,
            "last_action_date": min(initiated + timedelta(days=rng.randint(0, 900)), self.today),
            "sol_date": add_years(violation, 5),
            "assessed_amount": f"{assessed:.2f}",
            "collected_amount": f"{assessed * rng.choice((0, 0, 0, 0.1, 0.25, 0.5)):.2f}",
        }
        case.update(overrides)
        return case

    def scenarios(self) -> Iterator[SampleCase]:
        """One case for each rule and each alert kind, dated relative to today."""
        t = self.today

        def ago(years: int, days: int = 0) -> date:
            return add_years(t, -years) - timedelta(days=days)

        yield SampleCase(self.base(ago(5, 40), last_action_date=t - timedelta(days=20)))
        yield SampleCase(self.base(ago(5, -12), last_action_date=t - timedelta(days=5)))
        yield SampleCase(self.base(ago(4, 200), sol_date=None))
        yield SampleCase(self.base(ago(3), statute="1595a", culpability=None, discovery_date=None))
        late = self.base(ago(4, 100))
        late["sol_date"] = add_years(late["violation_date"], 6)
        yield SampleCase(late)
        early = self.base(ago(4, 30))
        yield SampleCase(early, waivers=[{"signed_date": ago(0, 60), "term_years": 2}])
        expired = self.base(ago(5, 300))
        yield SampleCase(
            expired, waivers=[{"signed_date": ago(0, 30), "expires_date": add_years(t, 1)}]
        )
        revoked = self.base(ago(4, 10))
        yield SampleCase(
            revoked, waivers=[{"signed_date": ago(1), "term_years": 2, "revoked_date": ago(0, 100)}]
        )
        yield SampleCase(self.base(ago(3, 180)))
        yield SampleCase(self.base(ago(4, 170), last_action_date=t - timedelta(days=120)))
        fraud = self.base(ago(6), culpability="fraud", discovery_date=ago(2))
        fraud["sol_date"] = add_years(fraud["discovery_date"], 5)
        yield SampleCase(fraud)
        forfeit = self.base(
            ago(5, 100),
            case_type="forfeiture",
            statute="1595a",
            culpability=None,
            discovery_date=ago(4, 300),
            property_discovery_date=ago(0, 200),
        )
        forfeit["sol_date"] = add_years(forfeit["property_discovery_date"], 2)
        yield SampleCase(forfeit)
        bond = self.base(
            ago(7),
            case_type="liquidated_damages",
            statute="1623",
            culpability=None,
            sol_date=ago(1),
        )
        yield SampleCase(bond, events=[{"event_date": ago(2), "kind": "acknowledgment"}])
        multi = self.base(ago(5, 60))
        multi["sol_date"] = add_years(multi["violation_date"], 5)
        yield SampleCase(
            multi,
            entries=[
                {
                    "entry_number": f"E{n}-{self.sequence}",
                    "entry_date": ago(5, 60 - 45 * n),
                    "loss_amount": f"{1500 * (n + 1)}.00",
                }
                for n in range(4)
            ],
        )
        absent = self.base(ago(5, 20))
        yield SampleCase(
            absent,
            tolling=[
                {
                    "start_date": ago(3),
                    "end_date": ago(3) + timedelta(days=90),
                    "reason": "principal abroad",
                }
            ],
        )
        # A waiver on file with neither an end date nor a term: counted as two years from
        # signing, and flagged so that someone records its terms.
        yield SampleCase(self.base(ago(4, 60)), waivers=[{"signed_date": ago(0, 90)}])
        # A bond payment received after the six years had run: not counted, for counsel.
        late_payment = self.base(
            ago(7, 30), case_type="liquidated_damages", statute="1623", culpability=None
        )
        late_payment["sol_date"] = add_years(late_payment["violation_date"], 6)
        yield SampleCase(
            late_payment, events=[{"event_date": ago(0, 200), "kind": "partial_payment"}]
        )
        # Fraud cases: one whose negligence alternative runs out within the year, and one
        # whose waiver came in time for the fraud claim but after the alternative had run.
        fallback_due = self.base(ago(4, 100), culpability="fraud", discovery_date=ago(3))
        fallback_due["sol_date"] = add_years(fallback_due["discovery_date"], 5)
        yield SampleCase(fallback_due)
        fallback_late = self.base(ago(6), culpability="fraud", discovery_date=ago(1))
        fallback_late["sol_date"] = add_years(fallback_late["discovery_date"], 5)
        yield SampleCase(fallback_late, waivers=[{"signed_date": ago(0, 100), "term_years": 3}])
        yield from self.triage_scenarios(ago)

    def triage_scenarios(self, ago: Callable[..., date]) -> Iterator[SampleCase]:
        """Cases coded open past their limit, as the auditors found them: most carry a fact
        that says they ended (likely mis-coded), some none (likely lost), one with no data to
        tell; and two that staff have found closed while the extract still codes them open."""
        main, self.rng = self.rng, self.triage_rng
        try:
            cases = list(self._triage_cases(ago))
        finally:
            self.rng = main
        yield from cases

    def _triage_cases(self, ago: Callable[..., date]) -> Iterator[SampleCase]:
        settled = self.base(ago(5, 200))
        yield SampleCase(
            settled,
            events=[
                {"event_date": ago(1, 30), "kind": "referred_to_counsel"},
                {"event_date": ago(0, 150), "kind": "settled"},
            ],
        )
        paid = self.base(ago(5, 120))
        paid["collected_amount"] = paid["assessed_amount"]
        yield SampleCase(paid)
        sued = self.base(ago(5, 90))
        # Suit came in time; the extract also carries a kind solwatch does not read.
        yield SampleCase(
            sued,
            events=[
                {"event_date": ago(0, 120), "kind": "suit_filed"},
                {"event_date": ago(0, 60), "kind": "docket_review"},
            ],
        )
        late_suit = self.base(ago(5, 100))
        yield SampleCase(late_suit, events=[{"event_date": ago(0, 30), "kind": "suit_filed"}])
        yield SampleCase(self.base(ago(5, 75), assessed_amount="", collected_amount=""))
        offset = self.base(ago(5, 160), status="REFERRED")
        yield SampleCase(offset, events=[{"event_date": ago(0, 40), "kind": "treasury_offset"}])
        closed = self.base(ago(5, 140))
        closed_on = ago(0, 90)
        self.corrections.append(
            SampleCorrection(
                closed["case_number"],
                Status.CLOSED,
                closed_on,
                "closing letter in the case file; SEACATS status not updated",
            )
        )
        yield SampleCase(closed, events=[{"event_date": closed_on, "kind": "closed"}])
        # Paid off years before its limit, still coded open: corrected too.
        early = self.base(ago(2, 100))
        paid_on = ago(0, 45)
        self.corrections.append(
            SampleCorrection(
                early["case_number"], Status.CLOSED, paid_on, "paid in full; case closed"
            )
        )
        yield SampleCase(early, events=[{"event_date": paid_on, "kind": "paid_in_full"}])

    def random_case(self) -> SampleCase:
        rng = self.rng
        t = self.today
        violation = t - timedelta(days=rng.randint(200, 365 * 7))
        case = self.base(violation)
        sample = SampleCase(case)
        roll = rng.random()
        if roll < 0.10:
            case.update(
                case_type="forfeiture",
                statute=rng.choice(("1595a", "1584")),
                culpability=None,
                property_discovery_date=min(
                    case["discovery_date"] + timedelta(days=rng.randint(0, 900)), t
                ),
            )
            case["sol_date"] = add_years(case["discovery_date"], 5)
        elif roll < 0.22:
            case.update(case_type="liquidated_damages", statute="1623", culpability=None)
            case["sol_date"] = add_years(violation, 6)
            if rng.random() < 0.3:
                sample.events.append(
                    {
                        "event_date": min(violation + timedelta(days=rng.randint(100, 1500)), t),
                        "kind": rng.choice(("partial_payment", "acknowledgment")),
                    }
                )
        elif roll < 0.32:
            case.update(statute=rng.choice(("1595a", "1641", "1586")), culpability=None)
            case["sol_date"] = add_years(case["discovery_date"], 5)
        else:
            case["culpability"] = rng.choice(
                ("negligence",) * 6 + ("gross_negligence",) * 3 + ("fraud", "")
            )
            if case["culpability"] == "fraud":
                case["sol_date"] = add_years(case["discovery_date"], 5)
            if rng.random() < 0.4:
                for n in range(rng.randint(1, 8)):
                    filer = rng.randint(100, 999)
                    sample.entries.append(
                        {
                            "entry_number": f"{filer}-{rng.randint(1, 10**7):07d}-{n}",
                            "entry_date": min(violation + timedelta(days=rng.randint(0, 300)), t),
                            "loss_amount": f"{rng.randint(100, 90000)}.{rng.randint(0, 99):02d}",
                        }
                    )
        self._status_and_quirks(sample)
        return sample

    def _status_and_quirks(self, sample: SampleCase) -> None:
        rng = self.rng
        case = sample.case
        case["status"] = rng.choices(("OPEN", "REFERRED", "SUIT_FILED", "CLOSED"), (70, 10, 5, 15))[
            0
        ]
        facts = self.triage_rng
        if case["status"] in ("OPEN", "REFERRED") and facts.random() < 0.3:
            # A stale status: the case ended, and the extract's events say how.
            ended = case["violation_date"] + timedelta(days=facts.randint(400, 1700))
            if ended <= self.today:
                kind = facts.choice(("settled", "paid_in_full", "closed", "treasury_offset"))
                sample.events.append({"event_date": ended, "kind": kind})
        if rng.random() < 0.2:
            case["sol_date"] = None  # the blank field the auditors found on older cases
        elif rng.random() < 0.02:
            case["sol_date"] = add_years(case["sol_date"], 1)
        if rng.random() < 0.25:
            limit = case["sol_date"] or add_years(case["violation_date"], 5)
            signed = limit - timedelta(days=rng.randint(30, 700))
            if signed <= self.today:
                sample.waivers.append({"signed_date": signed, "term_years": 2})
                if rng.random() < 0.3:
                    second = add_years(limit, 2) - timedelta(days=rng.randint(10, 300))
                    if second <= self.today and second > signed:
                        sample.waivers.append({"signed_date": second, "term_years": 2})
        if rng.random() < 0.03:
            start = case["violation_date"] + timedelta(days=rng.randint(30, 700))
            if start < self.today:
                sample.tolling.append(
                    {
                        "start_date": start,
                        "end_date": min(start + timedelta(days=rng.randint(10, 200)), self.today),
                        "reason": rng.choice(("absence from the U.S.", "property concealed")),
                    }
                )


def write_sample(
    folder: Path, *, today: date, count: int, seed: int = 1621
) -> list[SampleCorrection]:
    """Write cases.csv, entries.csv, waivers.csv, tolling.csv and events.csv to `folder`;
    returns the status corrections staff would record on them."""
    folder.mkdir(parents=True, exist_ok=True)
    generator = _Generator(today, seed)
    handles = {
        kind: (folder / f"{kind}.csv").open("w", encoding="utf-8", newline="") for kind in COLUMNS
    }
    try:
        writers = {kind: csv.writer(handle) for kind, handle in handles.items()}
        for kind, writer in writers.items():
            writer.writerow(COLUMNS[kind])
        written = 0
        scenarios = generator.scenarios()
        while written < count:
            sample = next(scenarios, None) or generator.random_case()
            number = sample.case["case_number"]
            writers["cases"].writerow(
                _iso(v) if isinstance(v, date) or v is None else v
                for v in (sample.case.get(c) for c in COLUMNS["cases"])
            )
            for kind in ("entries", "waivers", "tolling", "events"):
                for child in getattr(sample, kind):
                    child = {"case_number": number, **child}
                    writers[kind].writerow(
                        _iso(v) if isinstance(v, date) or v is None else v
                        for v in (child.get(c) for c in COLUMNS[kind])
                    )
            written += 1
    finally:
        for handle in handles.values():
            handle.close()
    return generator.corrections


DEMO_JOB = "demo"


def other_data(engine: Engine) -> str | None:
    """What the store holds besides the demo's own sample data, in a few words, or None for a
    new store or one that only the demo has filled. The demo records each import it makes as
    a job run named `demo`; any other import, or a case it did not bring, is someone's data."""
    tables = set(inspect(engine).get_table_names())
    if "cases" not in tables or "import_runs" not in tables:
        return None
    with Session(engine) as session:
        ours = _demo_imports(session) if "job_runs" in tables else []
        imports = session.exec(
            select(func.count()).select_from(ImportRun).where(col(ImportRun.id).not_in(ours))
        ).one()
        cases = session.exec(
            select(func.count())
            .select_from(Case)
            .where(
                or_(col(Case.created_import_id).is_(None), col(Case.created_import_id).not_in(ours))
            )
        ).one()
    if not imports and not cases:
        return None
    return (
        f"{cases} case{'s' if cases != 1 else ''} from {imports} import"
        f"{'s' if imports != 1 else ''} that are not the demo's sample"
    )


def _demo_imports(session: Session) -> list[int]:
    runs = session.exec(select(JobRun.summary).where(JobRun.job == DEMO_JOB)).all()
    return [json.loads(summary)["import_id"] for summary in runs if summary]


def import_sample(
    engine: Engine,
    folder: Path,
    *,
    today: date,
    now: datetime,
    corrections: Sequence[SampleCorrection] = (),
) -> ImportReport:
    """Create or upgrade the schema, import the sample extract written to `folder`, then record
    `corrections` (those of its cases already corrected are left as they are), and record that
    import as the demo's (see other_data)."""
    upgrade(engine)
    with Session(engine) as session:
        report, _ = import_extracts(extract_files((folder,)), session=session, as_of=today, now=now)
        if report.committed:
            for fix in corrections:
                found = find_record(fix.case_number, session=session)
                if found is not None and found[1].resolved_status is None:
                    resolve(
                        fix.case_number,
                        fix.status,
                        fix.on,
                        fix.reason,
                        "solwatch demo",
                        today=today,
                        now=now,
                        session=session,
                    )
            summary = json.dumps({"import_id": report.import_id})
            session.add(
                JobRun(job=DEMO_JOB, day=today, started_at=now, finished_at=now, summary=summary)
            )
            session.commit()
    return report


@dataclass(frozen=True)
class DemoDay:
    """What the demo shows of `today`: the cases due within 90 days or needing attention, the
    overall totals, and the daily run whose digests were written to the demo's outbox."""

    at_risk: list[Assessment]
    total: CenterTotals
    daily: DailyReport
    outbox: Path


def demo_day(
    engine: Engine, settings: Settings, today: date, folder: Path, *, now: Callable[[], datetime]
) -> DemoDay:
    """The at-risk list and the totals on `today`, then the day's digests written as .eml files
    to `folder`/outbox, whatever the configured transport. Nothing goes into the mail ledger:
    the demo never uses up, nor sends, a real day's digests."""
    thresholds = settings.alerts.thresholds
    with Session(engine) as session:
        found = at_risk(today, thresholds, session=session, within=90)
        _, total = tally(assess_cases(today, thresholds, session=session), (today, today))
    outbox = folder / "outbox"
    daily = preview_daily(engine, settings, today, mailer=FileMailer(outbox), now=now)
    return DemoDay(found, total, daily, outbox)
