"""The mail ledger and the job's own state: notices, what they carried, acknowledgements,
job runs and the scheduler lock. Every send is recorded; every rerun is harmless."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import date, datetime, timedelta

from sqlalchemy import Index, LargeBinary, UniqueConstraint, update
from sqlalchemy import select as sa_select
from sqlmodel import Field, Session, SQLModel, col, select

from solwatch.store.connection import binary_order

PENDING, SENDING, SENT, FAILED, SUPERSEDED = "pending", "sending", "sent", "failed", "superseded"
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
    )

    id: int | None = Field(default=None, primary_key=True)
    day: date
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
    """One reason one case was in a digest: what the digest carried."""

    __tablename__ = "notice_items"
    __table_args__ = (Index("ix_notice_items_lookup", "audience", "case_number", "reason"),)

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
        .where(col(Notice.state) == SENT)
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
        .where(col(NoticeItem.day) < day)
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


def claim(notice_id: int, now: datetime, *, session: Session) -> bool:
    """Take a notice for sending; False if another run has it or it needs no sending.

    A conditional UPDATE: of two runs racing for one notice, exactly one gets the row.
    """
    result = session.connection().execute(
        update(Notice)
        .where(
            col(Notice.id) == notice_id,
            ((col(Notice.state).in_([PENDING, FAILED])) & (col(Notice.next_attempt_at) <= now))
            | ((col(Notice.state) == SENDING) & (col(Notice.claimed_at) < now - STALE_CLAIM)),
        )
        .values(state=SENDING, claimed_at=now, attempts=col(Notice.attempts) + 1)
    )
    session.commit()
    return result.rowcount == 1


def backoff(attempts: int) -> timedelta:
    """Wait before retry: 5 minutes, doubling, at most 6 hours."""
    minutes: int = 5 * 2 ** min(max(attempts - 1, 0), 10)
    return min(timedelta(minutes=minutes), timedelta(hours=6))


@contextmanager
def job_run(
    job: str, day: date, now: Callable[[], datetime], *, session: Session
) -> Iterator[JobRun]:
    """Record a job's run for `day`: started now, finished when the block completes. A run
    that raises is left unfinished, so the scheduler's catch-up still owes it."""
    run = JobRun(job=job, day=day, started_at=now())
    session.add(run)
    session.commit()
    yield run
    run.finished_at = now()
    session.add(run)
    session.commit()
