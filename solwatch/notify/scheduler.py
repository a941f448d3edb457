"""`solwatch serve`: the daily job on a schedule, one scheduler per database.

APScheduler 3 runs the job at `daily_at` in the configured time zone, coalesced, one run at a
time. Its memory of missed runs does not survive a restart, so on start solwatch asks its own
job_runs table whether today's run is owed and runs it at once if so. A row in
scheduler_lock, renewed every 30 seconds, keeps a second `serve` on the same database out.
"""

from __future__ import annotations

import os
import signal
import socket
import uuid
from collections.abc import Callable
from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from apscheduler.schedulers.blocking import BlockingScheduler
from apscheduler.triggers.cron import CronTrigger
from sqlalchemy import Engine, delete, update
from sqlalchemy import select as sa_select
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from solwatch.config import Settings
from solwatch.notify import jobs, monthly
from solwatch.notify.ledger import JobRun, SchedulerLock
from solwatch.notify.mailer import Mailer

LOCK = "serve"
STALE_LOCK = timedelta(minutes=2)
HEARTBEAT_SECONDS = 30


class SchedulerBusy(Exception):
    """Another `solwatch serve` holds this database."""


def holder_name() -> str:
    return f"{socket.gethostname()} pid {os.getpid()} ({uuid.uuid4().hex[:8]})"


def acquire(engine: Engine, holder: str, now: datetime) -> None:
    """Take the scheduler lock, or raise SchedulerBusy naming who has it.

    A lock whose heartbeat is older than STALE_LOCK belonged to a scheduler that died; it is
    taken over.
    """
    with Session(engine) as session:
        session.add(SchedulerLock(name=LOCK, holder=holder, heartbeat_at=now))
        try:
            session.commit()
            return
        except IntegrityError:
            session.rollback()
        taken = (
            session.connection()
            .execute(
                update(SchedulerLock)
                .where(
                    col(SchedulerLock.name) == LOCK,
                    col(SchedulerLock.heartbeat_at) < now - STALE_LOCK,
                )
                .values(holder=holder, heartbeat_at=now)
            )
            .rowcount
        )
        session.commit()
        if taken != 1:
            current = session.exec(select(SchedulerLock).where(SchedulerLock.name == LOCK)).one()
            seen = current.heartbeat_at.strftime("%Y-%m-%d %H:%M:%S")
            raise SchedulerBusy(
                f"another solwatch serve is running on this database: "
                f"{current.holder}, last seen {seen} UTC"
            )


def heartbeat(engine: Engine, holder: str, now: datetime) -> bool:
    """Renew the lock; False if it was lost (then this scheduler must stop)."""
    with Session(engine) as session:
        renewed = (
            session.connection()
            .execute(
                update(SchedulerLock)
                .where(col(SchedulerLock.name) == LOCK, col(SchedulerLock.holder) == holder)
                .values(heartbeat_at=now)
            )
            .rowcount
        )
        session.commit()
        return renewed == 1


def release(engine: Engine, holder: str) -> None:
    with Session(engine) as session:
        session.connection().execute(
            delete(SchedulerLock).where(
                col(SchedulerLock.name) == LOCK, col(SchedulerLock.holder) == holder
            )
        )
        session.commit()


def clock_time(daily_at: str) -> tuple[int, int]:
    """Hour and minute of a validated `HH:MM` setting."""
    hour, minute = daily_at.split(":")
    return int(hour), int(minute)


def daily_trigger(daily_at: str, timezone: str) -> CronTrigger:
    hour, minute = clock_time(daily_at)
    return CronTrigger(hour=hour, minute=minute, timezone=ZoneInfo(timezone))


def owed_day(now: datetime, daily_at: str, timezone: str, done: set[date]) -> date | None:
    """The local day whose run is owed at `now`: today, once its time has passed, if no run
    for it finished."""
    local = now.astimezone(ZoneInfo(timezone))
    hour, minute = clock_time(daily_at)
    if local.time() >= time(hour, minute) and local.date() not in done:
        return local.date()
    return None


def monthly_trigger(cear_day: int, daily_at: str, timezone: str) -> CronTrigger:
    hour, minute = clock_time(daily_at)
    return CronTrigger(day=cear_day, hour=hour, minute=minute, timezone=ZoneInfo(timezone))


def owed_month(
    now: datetime, daily_at: str, cear_day: int, timezone: str, done: set[date]
) -> date | None:
    """The first day of last month, if its CEAR package is owed at `now`: this month's
    `cear_day` at `daily_at` has passed and no package for last month finished."""
    local = now.astimezone(ZoneInfo(timezone))
    hour, minute = clock_time(daily_at)
    if (local.day, local.time()) < (cear_day, time(hour, minute)):
        return None
    first = local.date().replace(day=1)
    previous = (first - timedelta(days=1)).replace(day=1)
    return None if previous in done else previous


def finished_days(engine: Engine, job: str, since: date) -> set[date]:
    with Session(engine) as session:
        return set(
            session.execute(
                sa_select(col(JobRun.day)).where(
                    col(JobRun.job) == job,
                    col(JobRun.finished_at).is_not(None),
                    col(JobRun.day) >= since,
                )
            ).scalars()
        )


RETRY_MINUTES = 10


def serve(
    engine: Engine,
    *,
    daily_at: str,
    timezone: str,
    run_daily: Callable[[], Any],
    run_monthly: Callable[[], Any],
    cear_day: int,
    retry: Callable[[], Any],
    now: Callable[[], datetime],
    log: Callable[[str], None],
) -> None:
    """Run the scheduler until SIGTERM or SIGINT; the current run finishes first.

    Between daily runs, `retry` sends failed digests again every RETRY_MINUTES minutes.
    """
    holder = holder_name()
    acquire(engine, holder, now())
    scheduler = BlockingScheduler(
        timezone=ZoneInfo(timezone),
        job_defaults={"coalesce": True, "max_instances": 1, "misfire_grace_time": None},
    )

    def beat() -> None:
        if not heartbeat(engine, holder, now()):
            log("scheduler lock lost: stopping")
            scheduler.shutdown(wait=False)

    def stop(signum: int, _frame: Any) -> None:
        log(f"{signal.Signals(signum).name}: stopping after the current run")
        scheduler.shutdown(wait=True)

    scheduler.add_job(run_daily, daily_trigger(daily_at, timezone), id="daily")
    scheduler.add_job(run_monthly, monthly_trigger(cear_day, daily_at, timezone), id="monthly")
    scheduler.add_job(beat, "interval", seconds=HEARTBEAT_SECONDS, id="heartbeat")
    scheduler.add_job(retry, "interval", minutes=RETRY_MINUTES, id="retry")
    started = now()
    local_today = started.astimezone(ZoneInfo(timezone)).date()
    if owed_day(started, daily_at, timezone, finished_days(engine, "daily", local_today)):
        log("today's daily run is owed (the scheduler was down): running it now")
        scheduler.add_job(run_daily, id="catch-up")
    last_month = (local_today.replace(day=1) - timedelta(days=1)).replace(day=1)
    if owed_month(
        started, daily_at, cear_day, timezone, finished_days(engine, "monthly", last_month)
    ):
        log("last month's CEAR package is owed (the scheduler was down): sending it now")
        scheduler.add_job(run_monthly, id="catch-up-monthly")
    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    log(f"solwatch serve: daily run at {daily_at} {timezone}; held by {holder}")
    try:
        scheduler.start()
    finally:
        release(engine, holder)
        log("solwatch serve stopped")


def run_jobs(
    engine: Engine,
    settings: Settings,
    *,
    mailer: Mailer,
    now: Callable[[], datetime],
    today: Callable[[], date],
    log: Callable[[str], None],
) -> None:
    """The daily job at `daily_at`, the monthly package for last month on `cear_day`, and
    retries in between, until stopped; raises SchedulerBusy if another scheduler holds the
    database. Each run's summary goes to `log`."""

    def run_today() -> None:
        report = jobs.run_daily(engine, settings, today(), mailer=mailer, now=now)
        log(report.summary())

    def run_last_month() -> None:
        day = today()
        report = jobs.run_monthly(
            engine, settings, monthly.previous_month(day), day, mailer=mailer, now=now
        )
        log(report.summary())

    def retry() -> None:
        sent, failed = jobs.retry_due(engine, settings, mailer=mailer, now=now)
        if sent or failed:
            log(f"retried: sent {sent}, failed {len(failed)}")

    serve(
        engine,
        daily_at=settings.schedule.daily_at,
        timezone=settings.schedule.timezone,
        run_daily=run_today,
        run_monthly=run_last_month,
        cear_day=settings.schedule.cear_day,
        retry=retry,
        now=now,
        log=log,
    )
