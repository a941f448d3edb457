"""Acknowledgements: one alert kind muted for one case until a day, with who and why.

Muting never lets an expired case go silent for longer than `repeat_expired_days`, the interval
at which its digest line comes back.
"""

from __future__ import annotations

from datetime import date, datetime

from sqlmodel import Session, col, select

from solwatch.core.alerts import AlertKind
from solwatch.core.refusals import Refused
from solwatch.notify.ledger import Ack, active_acks
from solwatch.store.cases import find_record


def check(kind: str, until: date, reason: str, today: date, *, repeat_expired_days: int) -> None:
    """Raise Refused unless `kind` may be muted through `until`, for `reason`, on `today`."""
    if until < today:
        raise Refused("until", f"{until} is already past")
    if not reason.strip():
        raise Refused("reason", "say why the alert is muted")
    if kind == AlertKind.EXPIRED and (until - today).days >= repeat_expired_days:
        raise Refused(
            "until",
            f"an expired case may be muted for fewer than {repeat_expired_days} days "
            f"(alerts.repeat_expired_days): it must never go silent for longer",
        )


def acknowledge(
    case_number: str,
    kind: str,
    until: date,
    reason: str,
    by: str,
    *,
    now: datetime,
    session: Session,
) -> Ack | None:
    """Record a checked acknowledgement; None if there is no such case."""
    if find_record(case_number, session=session) is None:
        return None
    entry = Ack(
        case_number=case_number,
        kind=kind,
        until=until,
        reason=reason.strip(),
        by=by,
        created_at=now,
    )
    session.add(entry)
    session.commit()
    return entry


def listed(today: date, *, everything: bool, session: Session) -> list[Ack]:
    """The acknowledgements in force on `today`, or with `everything` all ever recorded."""
    if everything:
        return list(session.exec(select(Ack).order_by(col(Ack.id))))
    return active_acks(today, session=session)


def lift(ack_id: int, *, now: datetime, session: Session) -> Ack | None:
    """Lift an acknowledgement in force: its alert is reported again from the next run; None
    if there is no such acknowledgement in force."""
    entry = session.get(Ack, ack_id)
    if entry is None or entry.lifted_at is not None:
        return None
    entry.lifted_at = now
    session.add(entry)
    session.commit()
    return entry
