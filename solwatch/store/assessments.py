"""Assessing stored cases on a day: the store's materialized dates, and the clocks only
where per-entry deadlines straddle the day."""

from __future__ import annotations

import heapq
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from sqlmodel import Session, col, or_

from solwatch.core.alerts import FALLBACK_KINDS, AlertKind, Thresholds
from solwatch.core.assessment import Assessment, CaseRecord, assess, urgency
from solwatch.core.explain import explain
from solwatch.core.facts import Event
from solwatch.core.limitations import compute_limitation
from solwatch.core.steps import Step
from solwatch.core.triage import Triage, triage
from solwatch.store.cases import Case, find_record, iter_records, load_facts
from solwatch.store.resolutions import Resolution, corrections_of

# What puts a case on the at-risk list when no --kind is given: the clock and the data that
# drives it. Action prompts and CEAR candidates are shown on listed cases and can be asked for.
DEFAULT_AT_RISK = frozenset(
    {
        AlertKind.EXPIRED,
        AlertKind.DUE,
        AlertKind.BLANK_SOL,
        AlertKind.UNCOMPUTABLE,
        AlertKind.SOL_LATER_THAN_LAW,
        AlertKind.WAIVER_INCOMPLETE,
        AlertKind.LATE_WAIVER,
        AlertKind.REVOKED_WAIVER,
        AlertKind.LATE_ACKNOWLEDGMENT,
        AlertKind.STATUS_CORRECTION_PENDING,
    }
)


def assess_batch(
    records: list[tuple[int, CaseRecord]], today: date, thresholds: Thresholds, *, session: Session
) -> list[Assessment]:
    """Assess records; only cases whose per-entry clocks straddle `today` are recomputed."""
    straddling = [case_id for case_id, record in records if record.needs_clocks(today)]
    facts = load_facts(straddling, session=session) if straddling else {}
    return [
        assess(
            record,
            today,
            thresholds,
            compute_limitation(facts[case_id]) if case_id in facts else None,
        )
        for case_id, record in records
    ]


def assess_cases(
    today: date, thresholds: Thresholds, *, session: Session, where: Iterable[Any] = ()
) -> Iterator[Assessment]:
    """Every case matching `where`, assessed on `today`, in storage order."""
    for records in iter_records(session=session, where=where):
        yield from assess_batch(records, today, thresholds, session=session)


def iter_at_risk(
    today: date,
    thresholds: Thresholds,
    *,
    session: Session,
    within: int = 365,
    center: str | None = None,
    port: str | None = None,
    kinds: frozenset[AlertKind] | None = None,
) -> Iterator[Assessment]:
    """Open cases with a qualifying alert, most urgent first, streamed.

    `due` and `fallback-due` qualify only within `within` days. Without `kinds`,
    DEFAULT_AT_RISK qualify (the fallback's alerts only when asked for).
    """
    wanted = kinds or DEFAULT_AT_RISK
    horizon = within
    if AlertKind.REQUEST_WAIVER in wanted:
        horizon = max(horizon, thresholds.request_waiver_days)
    if AlertKind.PREPENALTY_SHORT_WINDOW in wanted:
        horizon = max(horizon, thresholds.prepenalty_short_days)
    conditions: list[Any] = [col(Case.is_open).is_(True)]
    if center is not None:
        conditions.append(Case.center == center)
    if port is not None:
        conditions.append(Case.port_code == port)
    if not wanted & {AlertKind.CEAR_REFERRAL, AlertKind.SOL_EARLIER_THAN_LAW}:
        # Only cases whose earliest clock ends inside the horizon, or whose data needs
        # attention, can qualify: index range scans.
        candidates = [
            col(Case.limitation_date) <= today + timedelta(days=horizon),
            col(Case.attention).is_(True),
        ]
        if wanted & FALLBACK_KINDS:
            candidates.append(col(Case.fallback_date) <= today + timedelta(days=within))
        if AlertKind.STATUS_CORRECTION_PENDING in wanted:
            candidates.append(col(Case.resolved_status).is_not(None))
        conditions.append(or_(*candidates))
    yield from iter_by_urgency(
        today,
        thresholds,
        session=session,
        where=conditions,
        keep=lambda assessment: _qualifies(assessment, wanted, within),
    )


def iter_by_urgency(
    today: date,
    thresholds: Thresholds,
    *,
    session: Session,
    where: Iterable[Any] = (),
    keep: Callable[[Assessment], bool] = lambda _: True,
) -> Iterator[Assessment]:
    """The cases matching `where` that `keep` accepts, most urgent first, streamed.

    Cases arrive from the store ordered by their stored (earliest) limitation date. A case
    whose date on `today` is later than that (some or all of its per-entry clocks have run)
    waits in a heap until the stream reaches its real date, so memory holds only those.
    """
    waiting: list[tuple[tuple[int, int, str], int, Assessment]] = []
    for batch in iter_records(session=session, where=where, by_limitation=True):
        for (case_id, record), assessment in zip(
            batch, assess_batch(batch, today, thresholds, session=session), strict=True
        ):
            first = record.limitation_date
            stored = (
                (0, 0, record.case_number)
                if first is None
                else (1, (first - today).days, record.case_number)
            )
            while waiting and waiting[0][0] <= stored:
                yield heapq.heappop(waiting)[2]
            if not keep(assessment):
                continue
            key = urgency(assessment)
            if key == stored:
                yield assessment
            else:
                heapq.heappush(waiting, (key, case_id, assessment))
    while waiting:
        yield heapq.heappop(waiting)[2]


def _of_centers(centers: Sequence[str | None]) -> list[Any]:
    """The condition "a case of one of `centers`" (None: no Center), or none when empty."""
    return [or_(*(Case.center == code for code in centers))] if centers else []


def limits_within(
    today: date,
    within: int,
    thresholds: Thresholds,
    *,
    session: Session,
    centers: Sequence[str | None] = (),
) -> list[Assessment]:
    """Open cases whose limitation date on `today` falls from `today` to `within` days ahead
    (only those of `centers` when given), in storage order."""
    horizon = today + timedelta(days=within)
    conditions = [
        col(Case.is_open).is_(True),
        col(Case.resolved_status).is_(None),
        col(Case.last_limitation_date) >= today,
        col(Case.limitation_date) <= horizon,
        *_of_centers(centers),
    ]
    return [
        assessment
        for assessment in assess_cases(today, thresholds, session=session, where=conditions)
        if assessment.standing.limitation_date is not None
        and today <= assessment.standing.limitation_date <= horizon
    ]


@dataclass(frozen=True)
class Explained:
    """One case as `show` explains it: assessed, the steps of its limitation date, its triage
    once the limit has passed while it is coded open, its events, and staff's corrections."""

    assessment: Assessment
    steps: list[Step]
    triage: Triage | None
    events: tuple[Event, ...]
    corrections: list[Resolution]


def explain_case(
    case_number: str, today: date, thresholds: Thresholds, *, session: Session
) -> Explained | None:
    """One case assessed on `today`, with every step of its derivation; None if there is no
    such case."""
    found = find_record(case_number, session=session)
    if found is None:
        return None
    case_id, record = found
    facts = load_facts([case_id], session=session)[case_id]
    limitation = compute_limitation(facts)
    assessment = assess(record, today, thresholds, limitation)
    verdict = None
    if assessment.verdict is not None and record.limitation_date is not None:
        verdict = triage(
            facts.events, record.assessed_cents, record.collected_cents, record.limitation_date
        )
    return Explained(
        assessment,
        explain(limitation, assessment.standing, today, assessment.fallback),
        verdict,
        tuple(sorted(facts.events, key=lambda e: (e.event_date, e.kind))),
        corrections_of(case_id, session=session),
    )


def _qualifies(assessment: Assessment, wanted: frozenset[AlertKind], within: int) -> bool:
    alerts = set(assessment.alerts) & wanted
    days = assessment.standing.days_remaining
    if AlertKind.DUE in alerts and (days is None or days > within):
        alerts.discard(AlertKind.DUE)
    fallback = assessment.fallback.days_remaining if assessment.fallback else None
    if AlertKind.FALLBACK_DUE in alerts and (fallback is None or fallback > within):
        alerts.discard(AlertKind.FALLBACK_DUE)
    return bool(alerts)


def at_risk(
    today: date, thresholds: Thresholds, *, session: Session, **options: Any
) -> list[Assessment]:
    """iter_at_risk, as a list."""
    return list(iter_at_risk(today, thresholds, session=session, **options))
