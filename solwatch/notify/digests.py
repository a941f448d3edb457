"""Planning the daily digests (pure): who hears about which case today, and why.

One digest per audience (a Center, an FP&F office, or the fallback mailbox) per day. A digest
lists every current alert of that audience's cases, grouped by section, most urgent first; it is
sent only when something in it is new for that audience:
- `due` counts per rung of the ladder: crossing a rung is new even if the job did not run on
  the day it was crossed, and inside the last `daily_within` days every day is new;
- `expired` is new again once `repeat_expired_days` have passed since it was last sent, so an
  expired case is never silent for longer;
- every other alert is new the first time it reaches that audience.

Cases past the limit are split by their triage verdict (core/triage): the likely lost (and
those the data cannot tell) first, then those whose open status is probably stale, for the
source record to be corrected.

A fraud case's negligence alternative (its fallback) has its own, quieter section after the
case's own alerts: `fallback-due` counts per rung of the same ladder, `fallback-expired` and the
waiver flags raised only on the fallback are new once; none of them is copied to escalation or
repeated daily.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from datetime import date

from solwatch.core.alerts import FALLBACK_KINDS, AlertKind, Standing
from solwatch.core.assessment import Assessment, CaseRecord
from solwatch.core.centers import CENTERS, center_label
from solwatch.core.dates import file_by_date
from solwatch.core.triage import Verdict

DAILY_WITHIN = 30
# A digest shows at most this many cases per section (with the section's full count and
# dollars), so a digest stays readable and planning stays small whatever the store's size.
LINES_PER_SECTION = 200

SECTIONS = (
    ("expired", "Past the limit, still open: lost unless counsel finds otherwise"),
    ("expired-stale", "Past the limit, probably a stale status: correct the source record"),
    ("due-soon", "Due within 30 days"),
    ("due-later", "Due later"),
    ("data", "Data to fix"),
    ("counsel", "For counsel's review"),
    ("prompts", "Action prompts"),
    ("fallback", "Fraud cases: the negligence alternative"),
)
FALLBACK_RULE = "1621-violation (fallback)"
DATA_KINDS = frozenset(
    {
        AlertKind.BLANK_SOL,
        AlertKind.UNCOMPUTABLE,
        AlertKind.SOL_LATER_THAN_LAW,
        AlertKind.WAIVER_INCOMPLETE,
        AlertKind.STATUS_CORRECTION_PENDING,
    }
)
COUNSEL_KINDS = frozenset(
    {AlertKind.LATE_WAIVER, AlertKind.REVOKED_WAIVER, AlertKind.LATE_ACKNOWLEDGMENT}
)
PROMPT_KINDS = frozenset({AlertKind.REQUEST_WAIVER, AlertKind.PREPENALTY_SHORT_WINDOW})
DIGEST_KINDS = (
    frozenset({AlertKind.EXPIRED, AlertKind.DUE})
    | DATA_KINDS
    | COUNSEL_KINDS
    | PROMPT_KINDS
    | FALLBACK_KINDS
)


@dataclass(frozen=True)
class Audience:
    """Who a digest is for: a Center, an FP&F office, or the fallback mailbox."""

    kind: str
    key: str
    name: str
    to: tuple[str, ...]


@dataclass(frozen=True)
class Routing:
    """The routing part of the settings, as plain values."""

    centers: Mapping[str, tuple[str, ...]]
    ports: Mapping[str, tuple[str, tuple[str, ...]]]
    fallback: tuple[str, ...]
    escalation: tuple[str, ...] = ()


@dataclass(frozen=True)
class Policy:
    ladder: tuple[int, ...] = (730, 365, 180, 90, 60, 30, 14, 7, 1)
    repeat_expired_days: int = 7
    escalate_within_days: int = 30


@dataclass(frozen=True)
class Line:
    """One case in a digest."""

    case_number: str
    importer_name: str
    center: str | None
    port_code: str | None
    rule: str
    limitation_date: date | None
    file_by_date: date | None
    days_remaining: int | None
    alerts: tuple[AlertKind, ...]
    todo: str
    uncollected_cents: int
    new: bool


@dataclass(frozen=True)
class Section:
    """A digest section: its first LINES_PER_SECTION lines, with totals over all of them."""

    key: str
    title: str
    lines: tuple[Line, ...]
    count: int
    uncollected_cents: int


@dataclass(frozen=True)
class Digest:
    audience: Audience
    day: date
    sections: tuple[Section, ...]
    cc: tuple[str, ...]
    new_reasons: tuple[tuple[str, str], ...]  # (case number, reason) new for this audience
    case_count: int  # a fraud case can be in its own section and in the fallback's
    # (case number, reason) of the lines shown that are not news: kept for the audit.
    listed_reasons: tuple[tuple[str, str], ...] = ()

    def count(self, key: str) -> int:
        return sum(s.count for s in self.sections if s.key == key)


@dataclass
class _Tally:
    lines: list[Line] = field(default_factory=list)
    count: int = 0
    uncollected_cents: int = 0


@dataclass
class _Draft:
    audience: Audience
    sections: dict[str, _Tally] = field(default_factory=dict)
    new: list[tuple[str, str]] = field(default_factory=list)
    listed: list[tuple[str, str]] = field(default_factory=list)
    escalate: bool = False
    cases: int = 0


@dataclass(frozen=True)
class _Part:
    """What one case puts in one section of a digest, before it is known what is new."""

    section: str
    reasons: tuple[str, ...]
    line: Line
    urgent: bool = False


def audiences_for(center: str | None, port: str | None, routing: Routing) -> list[Audience]:
    """The Center's and the port's FP&F office's audiences; the fallback for whichever is
    missing, so a case always reaches someone."""
    found: list[Audience] = []
    if center in CENTERS and routing.centers.get(center or ""):
        found.append(
            Audience("center", center or "", center_label(center), routing.centers[center or ""])
        )
    office = routing.ports.get(port or "")
    if office and office[1]:
        found.append(Audience("office", office[0], office[0], office[1]))
    if len(found) < 2:
        found.append(
            Audience(
                "fallback",
                "fallback",
                "Cases without a Center or FP&F office mailbox",
                routing.fallback,
            )
        )
    return found


def rung_crossed(days: int, ladder: Iterable[int]) -> int | None:
    """The lowest rung at or above `days` remaining: the last one crossed."""
    crossed = [rung for rung in ladder if days <= rung]
    return min(crossed) if crossed else None


def reasons_for(assessment: Assessment, policy: Policy, today: date) -> list[str]:
    """Why this case is in a digest today, as stable strings remembered once sent."""
    reasons: list[str] = []
    days = assessment.standing.days_remaining
    for alert in assessment.alerts:
        if alert is AlertKind.DUE and days is not None:
            reasons.append(f"due:{rung_crossed(days, policy.ladder)}")
            if days <= DAILY_WITHIN:
                reasons.append(f"daily:{today.isoformat()}")
        elif alert in DIGEST_KINDS:
            reasons.append(alert.value)
    return reasons


def is_new(reason: str, last_sent: date | None, today: date, policy: Policy) -> bool:
    if last_sent is None:
        return True
    if reason == AlertKind.EXPIRED.value:
        return (today - last_sent).days >= policy.repeat_expired_days
    return False


def todo(assessment: Assessment) -> str:
    """What to do about the case, in a few words."""
    alerts = set(assessment.alerts)
    standing = assessment.standing
    record = assessment.record
    steps: list[str] = []
    if AlertKind.EXPIRED in alerts:
        steps.append(_expired_todo(assessment))
    elif (
        AlertKind.DUE in alerts
        and standing.days_remaining is not None
        and standing.days_remaining <= DAILY_WITHIN
        and standing.limitation_date
    ):
        steps.append(f"Refer for suit now: file by {file_by_date(standing.limitation_date)}")
    if AlertKind.REQUEST_WAIVER in alerts:
        steps.append("Ask the importer for a waiver")
    if AlertKind.PREPENALTY_SHORT_WINDOW in alerts:
        steps.append(
            "The 30-day prepenalty response may be shortened to a reasonable period of not "
            "less than 7 days (telephone the person where possible); only Headquarters may "
            "extend it"
        )
    if AlertKind.UNCOMPUTABLE in alerts:
        steps.append(f"Record the {(record.missing_field or 'missing date').replace('_', ' ')}")
    if AlertKind.BLANK_SOL in alerts and standing.limitation_date:
        steps.append(f"Record the SOL date in SEACATS: {standing.limitation_date}")
    if AlertKind.SOL_LATER_THAN_LAW in alerts and standing.limitation_date:
        steps.append(
            f"Correct the SEACATS SOL date from {record.sol_date} to {standing.limitation_date}"
        )
    if AlertKind.WAIVER_INCOMPLETE in alerts:
        steps.append(
            "Record the waiver's end date or term (counted meanwhile as 2 years from signing)"
        )
    if AlertKind.STATUS_CORRECTION_PENDING in alerts:
        steps.append(
            f"Correct the status in SEACATS to {record.resolved_status}: recorded as "
            f"{record.resolved_status} on {record.resolved_date}, the extract still codes it "
            f"{record.status}"
        )
    if AlertKind.LATE_WAIVER in alerts:
        steps.append("Counsel: review a waiver signed after the limit had run")
    if AlertKind.REVOKED_WAIVER in alerts:
        steps.append("Counsel: review the revoked waiver")
    if AlertKind.LATE_ACKNOWLEDGMENT in alerts:
        steps.append(
            "Counsel: a payment or acknowledgment came after the six years had run; whether "
            "it revives the claim is unsettled"
        )
    return "; ".join(steps)


def _expired_todo(assessment: Assessment) -> str:
    """What to do about a case past its limit, by its triage verdict."""
    record = assessment.record
    if assessment.verdict == Verdict.LIKELY_MISCODED:
        return (
            f"Probably a stale status ({record.triage_reason}): correct the status in SEACATS "
            f"and record it with `solwatch resolve {record.case_number}`"
        )
    if assessment.verdict == Verdict.LIKELY_LOST:
        return (
            "Limit has run while the case is open: ask counsel what survives and record the outcome"
        )
    return (
        "Limit has run while the case is open, and no event or amount on file says how it "
        "ended: check the case file, then ask counsel what survives or record the correction"
    )


def fallback_reasons(
    alerts: Iterable[AlertKind], fallback: Standing, flags: Iterable[str], policy: Policy
) -> list[str]:
    """Why a fraud case's negligence alternative is in a digest today: its own rungs of the
    ladder, its expiry (news once), and the flags raised on it alone."""
    reasons: list[str] = []
    days = fallback.days_remaining
    for alert in alerts:
        if alert is AlertKind.FALLBACK_DUE and days is not None:
            reasons.append(f"fallback-due:{rung_crossed(days, policy.ladder)}")
        elif alert is AlertKind.FALLBACK_EXPIRED:
            reasons.append(alert.value)
    return reasons + [f"fallback-{flag}" for flag in flags]


def fallback_todo(alerts: Iterable[AlertKind], fallback: Standing, flags: Iterable[str]) -> str:
    """What to do about a fraud case's negligence alternative, in a few words."""
    steps: list[str] = []
    limit = fallback.limitation_date
    if AlertKind.FALLBACK_EXPIRED in alerts and limit:
        steps.append(
            f"If fraud is not proven: the negligence alternative's limit ran on {limit}; "
            f"ask counsel what remains"
        )
    elif AlertKind.FALLBACK_DUE in alerts and limit:
        steps.append(
            f"If fraud may not be proven, refer the negligence alternative for suit by "
            f"{file_by_date(limit)}"
        )
    for flag in flags:
        if flag == AlertKind.LATE_WAIVER:
            steps.append("Counsel: a waiver came after the negligence alternative's limit had run")
        else:
            steps.append(f"Counsel: {flag.replace('-', ' ')} on the negligence alternative")
    return "; ".join(steps)


def _line(
    record: CaseRecord, standing: Standing, alerts: tuple[AlertKind, ...], todo: str, rule: str
) -> Line:
    limit = standing.limitation_date
    return Line(
        case_number=record.case_number,
        importer_name=record.importer_name or "",
        center=record.center,
        port_code=record.port_code,
        rule=rule,
        limitation_date=limit,
        file_by_date=file_by_date(limit) if limit else None,
        days_remaining=standing.days_remaining,
        alerts=alerts,
        todo=todo,
        uncollected_cents=record.uncollected_cents or 0,
        new=False,
    )


def _parts(
    assessment: Assessment, quiet: frozenset[AlertKind], policy: Policy, today: date
) -> list[_Part]:
    """The case's own line, in the section of its most urgent alert, and, for a fraud case,
    a quieter line for its negligence alternative in the fallback section."""
    record = assessment.record
    alerts = [a for a in assessment.alerts if a in DIGEST_KINDS and a not in quiet]
    parts: list[_Part] = []
    own = tuple(a for a in alerts if a not in FALLBACK_KINDS)
    if own:
        mine = replace(assessment, alerts=own)
        days = mine.standing.days_remaining
        urgent = AlertKind.EXPIRED in own or (
            days is not None and AlertKind.DUE in own and days <= policy.escalate_within_days
        )
        line = _line(record, mine.standing, own, todo(mine), record.rule or "")
        parts.append(_Part(_section(mine), tuple(reasons_for(mine, policy, today)), line, urgent))
    fallback = assessment.fallback
    flags = sorted(flag for flag in record.fallback_flags if flag not in quiet)
    theirs = tuple(a for a in alerts if a in FALLBACK_KINDS)
    if fallback is not None and record.is_open and (theirs or flags):
        line = _line(
            record, fallback, theirs, fallback_todo(theirs, fallback, flags), FALLBACK_RULE
        )
        reasons = tuple(fallback_reasons(theirs, fallback, flags, policy))
        parts.append(_Part("fallback", reasons, line))
    return parts


def _section(assessment: Assessment) -> str:
    alerts = set(assessment.alerts)
    days = assessment.standing.days_remaining
    if AlertKind.EXPIRED in alerts:
        return "expired-stale" if assessment.verdict == Verdict.LIKELY_MISCODED else "expired"
    if AlertKind.DUE in alerts and days is not None:
        return "due-soon" if days <= DAILY_WITHIN else "due-later"
    if alerts & DATA_KINDS:
        return "data"
    if alerts & COUNSEL_KINDS:
        return "counsel"
    return "prompts"


def plan_digests(
    assessments: Iterable[Assessment],
    *,
    today: date,
    routing: Routing,
    policy: Policy,
    sent: Mapping[tuple[str, str, str], date],
    muted: Mapping[str, frozenset[AlertKind]],
) -> list[Digest]:
    """Today's digests that have something new, one per audience.

    `sent` maps (audience key, case number, reason) to the last day it went out; `muted` maps
    a case number to the alert kinds acknowledged for it today. `assessments` come most urgent
    first, and lines keep that order within each section.
    """
    drafts: dict[str, _Draft] = {}
    for assessment in assessments:
        record = assessment.record
        parts = _parts(assessment, muted.get(record.case_number, frozenset()), policy, today)
        if not parts:
            continue
        for audience in audiences_for(record.center, record.port_code, routing):
            draft = drafts.setdefault(audience.key, _Draft(audience))
            draft.cases += 1
            for part in parts:
                fresh = [
                    r
                    for r in part.reasons
                    if is_new(r, sent.get((audience.key, record.case_number, r)), today, policy)
                ]
                draft.new += [(record.case_number, r) for r in fresh]
                draft.escalate |= part.urgent
                tally = draft.sections.setdefault(part.section, _Tally())
                tally.count += 1
                tally.uncollected_cents += record.uncollected_cents or 0
                if len(tally.lines) < LINES_PER_SECTION:
                    tally.lines.append(replace(part.line, new=bool(fresh)))
                    draft.listed += [
                        (record.case_number, r) for r in part.reasons if r not in fresh
                    ]
    digests = []
    for draft in drafts.values():
        if not draft.new:
            continue
        sections = tuple(
            Section(key, title, tuple(kept.lines), kept.count, kept.uncollected_cents)
            for key, title in SECTIONS
            if (kept := draft.sections.get(key))
        )
        cc = (
            tuple(a for a in routing.escalation if a not in draft.audience.to)
            if draft.escalate
            else ()
        )
        digests.append(
            Digest(
                draft.audience,
                today,
                sections,
                cc,
                tuple(draft.new),
                draft.cases,
                tuple(draft.listed),
            )
        )
    digests.sort(key=lambda d: (d.audience.kind != "center", d.audience.key))
    return digests
