"""The mail ledger and the job's own state: notices, what they carried, acknowledgements,
job runs and the scheduler lock. Every send is recorded; every rerun is harmless."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import Index, LargeBinary, UniqueConstraint, func, update
from sqlalchemy import select as sa_select
from sqlalchemy.exc import DBAPIError
from sqlalchemy.sql.elements import ColumnElement
from sqlmodel import Field, Session, SQLModel, col, select

from solwatch.notify.events import describe
from solwatch.store.connection import binary_order

PENDING, SENDING, SENT, FAILED, SUPERSEDED = "pending", "sending", "sent", "failed", "superseded"
# Still owed: recorded and not delivered, whatever happened to it. A superseded notice is not
# owed: a newer message to the same audience carries its news.
UNDELIVERED = (PENDING, SENDING, FAILED)
DAILY, MONTHLY = "daily", "monthly"
# A notice left "sending" this long ago belongs to a run that died mid-send: send it again
# (at worst one repeated digest, never a lost one).
STALE_CLAIM = timedelta(minutes=15)


NOTICE_KEY = ("day", "audience", "address")


class Notice(SQLModel, table=True):
    """One digest for one address on one day."""

    __tablename__ = "notices"
    __table_args__ = (
        UniqueConstraint(*NOTICE_KEY),
        Index("ix_notices_state", "state", "next_attempt_at"),
        Index("ix_notices_job_day", "job", "day"),
    )

    id: int | None = Field(default=None, primary_key=True)
    day: date  # the daily run's day; for the monthly package, the first day of its month
    job: str = DAILY
    audience: str
    address: str
    role: str = "to"
    subject: str
    message: bytes = Field(sa_type=LargeBinary)
    carried: str = ""  # JSON: cases per digest section
    state: str = PENDING
    attempts: int = 0
    last_error: str | None = None
    created_at: datetime
    claimed_at: datetime | None = None
    next_attempt_at: datetime
    sent_at: datetime | None = None


class NoticeItem(SQLModel, table=True):
    """One reason one case was in a message: what the message carried. `new` marks the news
    that made a digest worth sending (what later digests compare against); the other cases it
    listed, and every case of a monthly file, are kept with `new` false, for the audit."""

    __tablename__ = "notice_items"
    __table_args__ = (
        Index("ix_notice_items_lookup", "audience", "case_number", "reason"),
        Index("ix_notice_items_case", "case_number"),
    )

    id: int | None = Field(default=None, primary_key=True)
    day: date
    audience: str
    case_number: str
    reason: str
    new: bool = False


class Ack(SQLModel, table=True):
    """An alert kind muted for one case until a day, with who and why."""

    __tablename__ = "acks"

    id: int | None = Field(default=None, primary_key=True)
    case_number: str = Field(index=True)
    kind: str
    until: date
    reason: str
    by: str
    created_at: datetime
    lifted_at: datetime | None = None


class JobRun(SQLModel, table=True):
    __tablename__ = "job_runs"
    __table_args__ = (Index("ix_job_runs_job_day", "job", "day"),)

    id: int | None = Field(default=None, primary_key=True)
    job: str
    day: date
    started_at: datetime
    finished_at: datetime | None = None
    summary: str = ""
    error: str | None = None  # why a run that started did not finish, when it could be kept


class SchedulerLock(SQLModel, table=True):
    """At most one `solwatch serve` per database: the holder renews its heartbeat."""

    __tablename__ = "scheduler_lock"

    name: str = Field(primary_key=True)
    holder: str
    heartbeat_at: datetime


# --- queries ----------------------------------------------------------------------------------


def last_sent(day: date, *, session: Session) -> dict[tuple[str, str, str], date]:
    """(audience, case number, reason) -> the last day before `day` a digest carrying it was
    sent to at least one of the audience's addresses."""
    sent_notices = (
        sa_select(col(Notice.day), col(Notice.audience))
        .where(col(Notice.state) == SENT, col(Notice.job) == DAILY)
        .distinct()
        .subquery()
    )
    rows = session.execute(
        sa_select(
            col(NoticeItem.audience),
            col(NoticeItem.case_number),
            col(NoticeItem.reason),
            col(NoticeItem.day),
        )
        .join(
            sent_notices,
            (sent_notices.c.day == NoticeItem.day)
            & (sent_notices.c.audience == NoticeItem.audience),
        )
        .where(col(NoticeItem.day) < day, col(NoticeItem.new).is_(True))
    )
    found: dict[tuple[str, str, str], date] = {}
    for audience, number, reason, when in rows:
        key = (audience, number, reason)
        if key not in found or found[key] < when:
            found[key] = when
    return found


def active_acks(day: date, *, session: Session) -> list[Ack]:
    dialect = session.connection().dialect.name
    return list(
        session.exec(
            select(Ack)
            .where(col(Ack.lifted_at).is_(None), Ack.until >= day)
            .order_by(binary_order(Ack.case_number, dialect), col(Ack.kind), col(Ack.id))
        )
    )


def claim(notice_id: int, now: datetime, *, session: Session, force: bool = False) -> bool:
    """Take a notice for sending; False if another run has it or it needs no sending.

    A conditional UPDATE: of two runs racing for one notice, exactly one gets the row. A
    pending or failed notice is taken once its next attempt is due, or at once with `force`
    (a run started by hand); a claim is taken over once stale, never sooner, since the run
    that holds it may still be sending.
    """
    waiting = col(Notice.state).in_([PENDING, FAILED])
    due = waiting if force else waiting & (col(Notice.next_attempt_at) <= now)
    result = session.connection().execute(
        update(Notice)
        .where(
            col(Notice.id) == notice_id,
            due | ((col(Notice.state) == SENDING) & (col(Notice.claimed_at) < now - STALE_CLAIM)),
        )
        .values(state=SENDING, claimed_at=now, attempts=col(Notice.attempts) + 1)
    )
    session.commit()
    return result.rowcount == 1


def defer(
    notice_ids: Sequence[int],
    until: datetime,
    why: str,
    *,
    due_by: datetime | None,
    session: Session,
) -> int:
    """Leave the notices a run did not try for a later attempt: each pending or failed notice
    among `notice_ids` that the run would have sent (all of them, or with `due_by` those due
    by then) waits until `until`, saying why; returns how many."""
    if not notice_ids:
        return 0
    waiting: list[ColumnElement[bool]] = [
        col(Notice.id).in_(notice_ids),
        col(Notice.state).in_([PENDING, FAILED]),
    ]
    if due_by is not None:
        waiting.append(col(Notice.next_attempt_at) <= due_by)
    deferred = (
        session.connection()
        .execute(update(Notice).where(*waiting).values(last_error=why, next_attempt_at=until))
        .rowcount
    )
    session.commit()
    return int(deferred)


def next_attempt(notice: Notice) -> datetime:
    """When an automatic retry (`serve`) may next send the notice: its backoff, or for a claim
    left behind, the moment the claim goes stale."""
    if notice.state == SENDING and notice.claimed_at is not None:
        return notice.claimed_at + STALE_CLAIM
    return notice.next_attempt_at


def undelivered(
    *, session: Session, job: str | None = None, day: date | None = None
) -> list[Notice]:
    """Notices still owed (pending, sending or failed), oldest first; only `job`'s and `day`'s
    when given."""
    query = select(Notice).where(col(Notice.state).in_(UNDELIVERED))
    if job is not None:
        query = query.where(col(Notice.job) == job)
    if day is not None:
        query = query.where(col(Notice.day) == day)
    return list(session.exec(query.order_by(col(Notice.day), col(Notice.id))))


def backoff(attempts: int) -> timedelta:
    """Wait before retry: 5 minutes, doubling, at most 6 hours."""
    minutes: int = 5 * 2 ** min(max(attempts - 1, 0), 10)
    return min(timedelta(minutes=minutes), timedelta(hours=6))


@contextmanager
def job_run(
    job: str, day: date, now: Callable[[], datetime], *, session: Session
) -> Iterator[JobRun]:
    """Record a job's run for `day`: started now, finished when the block completes. A run
    that raises is left unfinished, so the scheduler still owes it; its error is kept with it
    unless the error is the database's own (then the store cannot take it either: `serve`
    logs it)."""
    run = JobRun(job=job, day=day, started_at=now())
    session.add(run)
    session.commit()
    try:
        yield run
    except Exception as error:
        session.rollback()
        if not isinstance(error, DBAPIError):
            run.error = describe(error)
            session.add(run)
            session.commit()
        raise
    run.finished_at = now()
    session.add(run)
    session.commit()


NOTICE_FIELDS = (
    "id",
    "day",
    "job",
    "audience",
    "address",
    "role",
    "subject",
    "state",
    "attempts",
    "created_at",
    "sent_at",
    "last_error",
    "next_attempt_at",
    "cases",
)


def _utc(when: datetime | None) -> str | None:
    return None if when is None else when.strftime("%Y-%m-%dT%H:%M:%SZ")


def find_notices(
    *,
    session: Session,
    first: date | None = None,
    last: date | None = None,
    states: Sequence[str] = (),
    address: str | None = None,
    case_number: str | None = None,
) -> list[dict[str, Any]]:
    """The audit of what was mailed: each notice of the days `first` to `last` (a monthly
    package's day is the first of its month), in `states`, to `address` (any case), carrying
    `case_number`, oldest first, as NOTICE_FIELDS with the case numbers it carried."""
    query = select(Notice)
    if first is not None:
        query = query.where(col(Notice.day) >= first)
    if last is not None:
        query = query.where(col(Notice.day) <= last)
    if states:
        query = query.where(col(Notice.state).in_(states))
    if address is not None:
        query = query.where(func.lower(col(Notice.address)) == address.lower())
    if case_number is not None:
        carried = (
            sa_select(col(NoticeItem.id))
            .where(
                col(NoticeItem.case_number) == case_number,
                col(NoticeItem.day) == col(Notice.day),
                col(NoticeItem.audience) == col(Notice.audience),
            )
            .exists()
        )
        query = query.where(carried)
    notices = list(session.exec(query.order_by(col(Notice.day), col(Notice.id))))
    cases = _cases_carried({(n.day, n.audience) for n in notices}, session=session)
    return [
        {
            "id": n.id,
            "day": n.day.isoformat(),
            "job": n.job,
            "audience": n.audience,
            "address": n.address,
            "role": n.role,
            "subject": n.subject,
            "state": n.state,
            "attempts": n.attempts,
            "created_at": _utc(n.created_at),
            "sent_at": _utc(n.sent_at),
            "last_error": n.last_error,
            "next_attempt_at": _utc(next_attempt(n)) if n.state in UNDELIVERED else None,
            "cases": cases.get((n.day, n.audience), []),
        }
        for n in notices
    ]


def _cases_carried(
    messages: set[tuple[date, str]], *, session: Session
) -> dict[tuple[date, str], list[str]]:
    """(day, audience) -> the case numbers that message carried, each once, in the order
    recorded."""
    found: dict[tuple[date, str], dict[str, None]] = {}
    days = sorted({day for day, _ in messages})
    audiences = sorted({audience for _, audience in messages})
    for start in range(0, len(days), 500):
        rows = session.execute(
            sa_select(col(NoticeItem.day), col(NoticeItem.audience), col(NoticeItem.case_number))
            .where(
                col(NoticeItem.day).in_(days[start : start + 500]),
                col(NoticeItem.audience).in_(audiences),
            )
            .order_by(col(NoticeItem.id))
        )
        for day, audience, number in rows:
            if (day, audience) in messages:
                found.setdefault((day, audience), {})[number] = None
    return {key: list(numbers) for key, numbers in found.items()}
