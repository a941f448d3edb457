"""Staff's corrections of a stale status: `solwatch resolve` records that a case the extract
codes open was in fact closed or in suit, `unresolve` undoes it, and every import compares the
corrections in force with what the extract now says.

A correction in force takes the case off the open lists; while the extract still codes it open,
the case raises `status-correction-pending` alone, so that the source record is corrected too.
Every correction is kept (who, when, why, and when and how it ended), and each change is also a
row of the case's history. An import never ends a correction silently: the extract agreeing
ends it (reported, and in the history); disagreeing is reported on every import until staff
`unresolve` it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy import update
from sqlmodel import Field, Session, SQLModel, col, select

from solwatch.core.facts import Event, Status
from solwatch.core.refusals import Refused
from solwatch.core.triage import CONFIRMED, CONFLICT, CORRECTED, reconcile
from solwatch.store.cases import CHILD_COLUMNS, Case, CaseChange, day, find_record, insert_many

UNDONE = "undone"


class Resolution(SQLModel, table=True):
    """Staff's finding that a case coded open was closed or in suit on a day."""

    __tablename__ = "resolutions"

    id: int | None = Field(default=None, primary_key=True)
    case_id: int = Field(foreign_key="cases.id", index=True)
    status: str
    resolved_on: date
    reason: str
    by: str
    created_at: datetime
    # What the extract last said against it (None: nothing), as the import reported it.
    conflict: str | None = None
    # Set when it stops being in force: undone by staff, or confirmed by a later extract.
    ended_at: datetime | None = None
    ended_how: str | None = None
    ended_by: str | None = None
    end_reason: str | None = None


@dataclass(frozen=True)
class Correction:
    """What an import found of one correction in force: pending, confirmed or in conflict."""

    case_number: str
    status: str
    resolved_on: date
    outcome: str
    reason: str


def _label(status: str, on: date) -> str:
    return f"{status} {on.isoformat()}"


def _history(
    case_id: int,
    old: str | None,
    new: str | None,
    source: str,
    now: datetime,
    import_id: int | None = None,
) -> dict[str, Any]:
    return {
        "case_id": case_id,
        "field": "resolution",
        "old_value": old,
        "new_value": new,
        "changed_at": now,
        "import_id": import_id,
        "source": source,
    }


def _mirror(case_id: int, resolution: Resolution | None, *, session: Session) -> None:
    """The correction in force, copied onto the case for the streamed reads."""
    session.connection().execute(
        update(Case)
        .where(col(Case.id) == case_id)
        .values(
            resolved_status=resolution.status if resolution else None,
            resolved_date=resolution.resolved_on if resolution else None,
        )
    )


def in_force(case_id: int, *, session: Session) -> Resolution | None:
    """The case's correction in force, if any."""
    return session.exec(
        select(Resolution).where(Resolution.case_id == case_id, col(Resolution.ended_at).is_(None))
    ).first()


def corrections_of(case_id: int, *, session: Session) -> list[Resolution]:
    """Every correction ever recorded for the case, oldest first."""
    return list(
        session.exec(
            select(Resolution).where(Resolution.case_id == case_id).order_by(col(Resolution.id))
        )
    )


def resolve(
    case_number: str,
    status: Status,
    on: date,
    reason: str,
    by: str,
    *,
    today: date,
    now: datetime,
    session: Session,
) -> Resolution | None:
    """Record that the case was `status` (CLOSED or SUIT_FILED) on `on`; None if there is no
    such case. Refused: a blank reason, a day after `today`, a case the extract does not code
    open, one already corrected, or a suit dated after the case's (earliest) limit: a suit
    filed late did not meet it, which is for counsel, not a correction."""
    if status not in CORRECTED:
        raise Refused("status", f"{status.value}: a correction records CLOSED or SUIT_FILED")
    if not reason.strip():
        raise Refused("reason", "say how the case was found closed or in suit")
    if on > today:
        raise Refused("date", f"{on.isoformat()} is after today ({today.isoformat()})")
    found = find_record(case_number, session=session)
    if found is None:
        return None
    case_id, record = found
    if not record.is_open:
        raise Refused(
            "status", f"the extract already codes {case_number} {record.status}: nothing to correct"
        )
    current = in_force(case_id, session=session)
    if current is not None:
        raise Refused(
            "status",
            f"{case_number} is already corrected to {_label(current.status, current.resolved_on)} "
            f"by {current.by}: run `solwatch unresolve {case_number}` first",
        )
    limit = record.limitation_date
    if status is Status.SUIT_FILED and limit is not None and on > limit:
        raise Refused(
            "date",
            f"a suit filed {on.isoformat()} came after the limit {limit.isoformat()} and did "
            f"not meet it: the case is lost unless counsel finds otherwise; record counsel's "
            f"finding as CLOSED",
        )
    resolution = Resolution(
        case_id=case_id,
        status=status.value,
        resolved_on=on,
        reason=reason.strip(),
        by=by,
        created_at=now,
    )
    session.add(resolution)
    session.flush()
    _mirror(case_id, resolution, session=session)
    change = _history(
        case_id, None, _label(status.value, on), f"resolve by {by}: {resolution.reason}", now
    )
    insert_many(session.connection(), CaseChange.__table__, [change])  # type: ignore[attr-defined]
    session.commit()
    return resolution


def unresolve(
    case_number: str, reason: str, by: str, *, now: datetime, session: Session
) -> Resolution | None:
    """End the case's correction in force: the case is watched again as the extract codes it;
    None if there is no such case. Refused when no correction is in force."""
    found = find_record(case_number, session=session)
    if found is None:
        return None
    case_id, _ = found
    resolution = in_force(case_id, session=session)
    if resolution is None:
        raise Refused("case", f"{case_number} has no correction in force")
    why = reason.strip() or None
    _end(resolution, UNDONE, by, why, now, session=session)
    source = f"unresolve by {by}" + (f": {why}" if why else "")
    change = _history(case_id, _label(resolution.status, resolution.resolved_on), None, source, now)
    insert_many(session.connection(), CaseChange.__table__, [change])  # type: ignore[attr-defined]
    session.commit()
    return resolution


def _end(
    resolution: Resolution,
    how: str,
    by: str,
    reason: str | None,
    now: datetime,
    *,
    session: Session,
) -> None:
    resolution.ended_at = now
    resolution.ended_how = how
    resolution.ended_by = by
    resolution.end_reason = reason
    session.add(resolution)
    session.flush()
    _mirror(resolution.case_id, None, session=session)


def _events(case_ids: Sequence[int], *, session: Session) -> dict[int, list[Event]]:
    found: dict[int, list[Event]] = {}
    events = CHILD_COLUMNS["events"]
    rows = session.connection().execute(select(*events).where(events[0].in_(list(case_ids))))
    for case_id, when, kind in rows:
        found.setdefault(case_id, []).append(Event(day(when), kind))  # type: ignore[arg-type]
    return found


def reconcile_corrections(
    *, session: Session, now: datetime, import_id: int | None
) -> list[Correction]:
    """Compare every correction in force with the extract as now stored (after an import):
    one that the extract confirms ends; a new or changed conflict goes into the case's history;
    every one is reported. Nothing is committed here."""
    resolutions = list(session.exec(select(Resolution).where(col(Resolution.ended_at).is_(None))))
    if not resolutions:
        return []
    ids = [r.case_id for r in resolutions]
    cases = {
        case_id: (number, status)
        for case_id, number, status in session.connection().execute(
            select(Case.id, Case.case_number, Case.status).where(col(Case.id).in_(ids))
        )
    }
    events = _events(ids, session=session)
    changes: list[dict[str, Any]] = []
    found: list[Correction] = []
    source = f"import {import_id}"
    for resolution in sorted(resolutions, key=lambda r: cases[r.case_id][0]):
        number, status = cases[resolution.case_id]
        label = _label(resolution.status, resolution.resolved_on)
        outcome = reconcile(
            Status(resolution.status),
            resolution.resolved_on,
            Status(status),
            events.get(resolution.case_id, []),
        )
        found.append(
            Correction(
                number, resolution.status, resolution.resolved_on, outcome.outcome, outcome.reason
            )
        )
        if outcome.outcome == CONFIRMED:
            _end(resolution, CONFIRMED, source, outcome.reason, now, session=session)
            changes.append(
                _history(
                    resolution.case_id, label, None, f"{source}: {outcome.reason}", now, import_id
                )
            )
            continue
        conflict = outcome.reason if outcome.outcome == CONFLICT else None
        if conflict != resolution.conflict:
            resolution.conflict = conflict
            session.add(resolution)
            why = f"conflict: {conflict}" if conflict else "conflict cleared"
            changes.append(
                _history(resolution.case_id, label, label, f"{source}: {why}", now, import_id)
            )
    session.flush()
    if changes:
        insert_many(session.connection(), CaseChange.__table__, changes)  # type: ignore[attr-defined]
    return found
