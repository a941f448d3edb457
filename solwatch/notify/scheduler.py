"""`solwatch serve`: the daily job on a schedule, one scheduler per database.

APScheduler 3 runs the job at `daily_at` in the configured time zone, coalesced, one run at a
time. Its memory of missed runs does not survive a restart, so on start (and on taking over,
and after a run that failed) solwatch asks its own job_runs table whether today's run is owed
and runs it at once if so.

One scheduler per database. On PostgreSQL it holds a session advisory lock on a connection of
its own: the server releases it the moment that connection ends (the process is killed, the
machine is lost: keepalives end the connection within about 30 seconds), so a `--standby`
instance, polling every few seconds, takes over at once. On SQLite a row in scheduler_lock,
renewed every 30 seconds, keeps a second `serve` out and is taken over after two minutes of
silence. The row is kept on PostgreSQL too, to say who holds the lock.
"""

from __future__ import annotations

import os
import signal
import socket
import threading
import uuid
from collections.abc import Callable
from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from apscheduler.schedulers.blocking import BlockingScheduler
from apscheduler.triggers.cron import CronTrigger
from sqlalchemy import Engine, delete, text, update
from sqlalchemy import select as sa_select
from sqlalchemy.dialects import postgresql
from sqlalchemy.engine import Connection
from sqlalchemy.exc import IntegrityError, SQLAlchemyError
from sqlmodel import Session, col, select

from solwatch.config import Settings
from solwatch.notify import jobs, monthly
from solwatch.notify.ledger import JobRun, SchedulerLock
from solwatch.notify.mailer import Mailer
from solwatch.store.connection import reason
from solwatch.store.locks import SERVE_LOCK

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
STANDBY_POLL_SECONDS = 5
CHECK_SECONDS = 5  # how often a PostgreSQL scheduler checks its lock connection


class StoreLock:
    """The scheduler lock of one `serve`: the heartbeat row (SQLite and any other store)."""

    interval = HEARTBEAT_SECONDS

    def __init__(self, engine: Engine, holder: str, now: Callable[[], datetime]) -> None:
        self.engine = engine
        self.holder = holder
        self.now = now
        self.why = ""

    def take(self) -> bool:
        """Take the lock; False (with `why`) if another scheduler holds it."""
        try:
            acquire(self.engine, self.holder, self.now())
        except SchedulerBusy as busy:
            self.why = str(busy)
            return False
        return True

    def keep(self, log: Callable[[str], None]) -> bool:
        """Renew the lock; False if it is lost to another scheduler (then stop)."""
        try:
            return heartbeat(self.engine, self.holder, self.now())
        except SQLAlchemyError as error:
            log(f"cannot renew the scheduler lock: {reason(error, self.engine.url)}; retrying")
            return True

    def release(self) -> None:
        release(self.engine, self.holder)


def _busy(engine: Engine) -> str:
    with Session(engine) as session:
        current = session.get(SchedulerLock, LOCK)
    text = "another solwatch serve is running on this database"
    if current is None:
        return text
    seen = current.heartbeat_at.strftime("%Y-%m-%d %H:%M:%S")
    return f"{text}: {current.holder}, last seen {seen} UTC"


class AdvisoryLock(StoreLock):
    """PostgreSQL: a session advisory lock on a connection held for the scheduler's life."""

    interval = CHECK_SECONDS

    def __init__(self, engine: Engine, holder: str, now: Callable[[], datetime]) -> None:
        super().__init__(engine, holder, now)
        self.connection: Connection | None = None
        self.unreachable = False
        self.regained = False

    def take(self) -> bool:
        connection = self.engine.connect().execution_options(isolation_level="AUTOCOMMIT")
        try:
            # Keepalives on the server's side of this connection, so that a lost machine's
            # lock is released in about half a minute, not after the kernel's two hours.
            connection.exec_driver_sql(
                "SET tcp_keepalives_idle = 10; SET tcp_keepalives_interval = 5; "
                "SET tcp_keepalives_count = 3; SET application_name = 'solwatch serve'"
            )
            taken = connection.execute(
                text("SELECT pg_try_advisory_lock(:key)"), {"key": SERVE_LOCK}
            ).scalar()
        except BaseException:
            connection.close()
            raise
        if not taken:
            connection.close()
            self.why = _busy(self.engine)
            return False
        self.connection = connection
        self._mark()
        return True

    def _mark(self) -> None:
        """Say in the lock row who holds the lock (for people; the lock itself is the
        server's)."""
        statement = postgresql.insert(SchedulerLock.__table__).values(  # type: ignore[attr-defined]
            name=LOCK, holder=self.holder, heartbeat_at=self.now()
        )
        statement = statement.on_conflict_do_update(
            index_elements=["name"],
            set_={
                "holder": statement.excluded.holder,
                "heartbeat_at": statement.excluded.heartbeat_at,
            },
        )
        with self.engine.begin() as connection:
            connection.execute(statement)

    def keep(self, log: Callable[[str], None]) -> bool:
        if self.connection is not None:
            try:
                self.connection.execute(text("SELECT 1"))
                self._mark()
                return True
            except SQLAlchemyError as error:
                log(
                    f"lost the connection to the database ({reason(error, self.engine.url)}): "
                    f"reconnecting"
                )
                self.connection.invalidate()
                self.connection = None
        try:
            taken = self.take()
        except SQLAlchemyError as error:
            if not self.unreachable:
                log(f"the database is unreachable ({reason(error, self.engine.url)}): retrying")
            self.unreachable = True
            return True
        self.unreachable = False
        if not taken:
            log(f"scheduler lock lost while the database was unreachable ({self.why}): stopping")
            return False
        log("reconnected to the database: this scheduler holds the lock again")
        self.regained = True
        return True

    def release(self) -> None:
        if self.connection is None:
            return
        try:
            self.connection.execute(text("SELECT pg_advisory_unlock(:key)"), {"key": SERVE_LOCK})
            with self.engine.begin() as connection:
                connection.execute(
                    delete(SchedulerLock).where(
                        col(SchedulerLock.name) == LOCK, col(SchedulerLock.holder) == self.holder
                    )
                )
        except SQLAlchemyError:
            pass  # the server ends the lock with the connection anyway
        finally:
            self.connection.close()
            self.connection = None


def store_lock(engine: Engine, holder: str, now: Callable[[], datetime]) -> StoreLock:
    if engine.dialect.name == "postgresql":
        return AdvisoryLock(engine, holder, now)
    return StoreLock(engine, holder, now)


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
    standby: bool = False,
) -> None:
    """Run the scheduler until SIGTERM or SIGINT; the current run finishes first.

    Between daily runs, `retry` sends failed digests again every RETRY_MINUTES minutes. With
    `standby`, wait for the active scheduler to stop, then take over (and catch up) instead of
    raising SchedulerBusy.
    """
    holder = holder_name()
    lock = store_lock(engine, holder, now)
    stopping = threading.Event()
    if not lock.take():
        if not standby:
            raise SchedulerBusy(lock.why)
        _wait_for_lock(lock, stopping, log)
        if stopping.is_set():
            log("solwatch serve stopped")
            return
    scheduler = BlockingScheduler(
        timezone=ZoneInfo(timezone),
        job_defaults={"coalesce": True, "max_instances": 1, "misfire_grace_time": None},
    )
    failed = threading.Event()

    def guarded(name: str, job: Callable[[], Any]) -> Callable[[], None]:
        def run() -> None:
            try:
                job()
            except SQLAlchemyError as error:
                failed.set()
                log(f"the {name} run failed: {reason(error, engine.url)}; it will be run again")

        return run

    daily, monthly = guarded("daily", run_daily), guarded("monthly", run_monthly)

    def catch_up() -> None:
        started = now()
        local_today = started.astimezone(ZoneInfo(timezone)).date()
        if owed_day(started, daily_at, timezone, finished_days(engine, "daily", local_today)):
            log("today's daily run is owed (the scheduler was down): running it now")
            scheduler.add_job(daily, id="catch-up", replace_existing=True)
        last_month = (local_today.replace(day=1) - timedelta(days=1)).replace(day=1)
        if owed_month(
            started, daily_at, cear_day, timezone, finished_days(engine, "monthly", last_month)
        ):
            log("last month's CEAR package is owed (the scheduler was down): sending it now")
            scheduler.add_job(monthly, id="catch-up-monthly", replace_existing=True)

    def beat() -> None:
        if not lock.keep(log):
            log("scheduler lock lost: stopping")
            scheduler.shutdown(wait=False)
            return
        regained = isinstance(lock, AdvisoryLock) and lock.regained
        if regained or failed.is_set():
            try:
                catch_up()
            except SQLAlchemyError:
                return  # still unreachable: try again on the next beat
            failed.clear()
            if isinstance(lock, AdvisoryLock):
                lock.regained = False

    def stop(signum: int, _frame: Any) -> None:
        log(f"{signal.Signals(signum).name}: stopping after the current run")
        scheduler.shutdown(wait=True)

    scheduler.add_job(daily, daily_trigger(daily_at, timezone), id="daily")
    scheduler.add_job(monthly, monthly_trigger(cear_day, daily_at, timezone), id="monthly")
    scheduler.add_job(beat, "interval", seconds=lock.interval, id="heartbeat")
    scheduler.add_job(guarded("retry", retry), "interval", minutes=RETRY_MINUTES, id="retry")
    catch_up()
    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    log(f"solwatch serve: daily run at {daily_at} {timezone}; held by {holder}")
    try:
        scheduler.start()
    finally:
        lock.release()
        log("solwatch serve stopped")


def _wait_for_lock(lock: StoreLock, stopping: threading.Event, log: Callable[[str], None]) -> None:
    """Poll for the lock every STANDBY_POLL_SECONDS until it is taken or SIGTERM/SIGINT."""

    def stop(signum: int, _frame: Any) -> None:
        log(f"{signal.Signals(signum).name}: stopping the standby")
        stopping.set()

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    log(f"standby: {lock.why}; taking over when it stops")
    while not stopping.wait(STANDBY_POLL_SECONDS):
        try:
            if lock.take():
                log("the active scheduler has stopped: this one takes over")
                return
        except SQLAlchemyError as error:
            log(f"standby: the database is unreachable ({reason(error, lock.engine.url)})")


def run_jobs(
    engine: Engine,
    settings: Settings,
    *,
    mailer: Mailer,
    now: Callable[[], datetime],
    today: Callable[[], date],
    log: Callable[[str], None],
    standby: bool = False,
) -> None:
    """The daily job at `daily_at`, the monthly package for last month on `cear_day`, and
    retries in between, until stopped; raises SchedulerBusy if another scheduler holds the
    database (with `standby`, waits for it to stop and takes over). Each run's summary goes
    to `log`."""

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
        standby=standby,
    )
