"""`solwatch serve`: the daily job and the monthly package on a schedule, one scheduler per
database.

One job, the tick, does everything that touches the store, one tick at a time: at `daily_at`,
on `cear_day` at `daily_at`, every `[schedule] retry_minutes` in between, and once at start.
It runs whatever is owed (today's daily run once `daily_at` has passed, last month's package
from `cear_day`: owed until a run for it finishes, as solwatch's own job_runs table says), then
retries the notices whose backoff has run out. So a run that failed ("database is locked"
while an import holds the store, or the database was lost) or was missed (the machine slept
through `daily_at`) is tried again at the next tick, a few minutes later, with a log line each
time; and a scheduler that was down, or that takes over, catches up as soon as it starts.

APScheduler computes the fire times (time zone and daylight-saving aware). One scheduler per
database. On PostgreSQL it holds a session advisory lock on a connection of its own: the
server releases it the moment that connection ends (the process is killed, the machine is
lost: keepalives end the connection within about 30 seconds), so a `--standby` instance,
polling every few seconds, takes over at once; after a lost connection it reconnects, takes
the lock again and ticks at once. On SQLite a row in scheduler_lock, renewed every 30 seconds
on its own thread, keeps a second `serve` out and is taken over after two minutes of silence.
The row is kept on PostgreSQL too, to say who holds the lock.
"""

from __future__ import annotations

import logging
import os
import signal
import socket
import threading
import uuid
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from typing import TYPE_CHECKING, Any, Protocol
from zoneinfo import ZoneInfo

from apscheduler.executors.pool import ThreadPoolExecutor
from apscheduler.schedulers.blocking import BlockingScheduler
from apscheduler.triggers.combining import OrTrigger
from apscheduler.triggers.cron import CronTrigger
from apscheduler.triggers.interval import IntervalTrigger
from sqlalchemy import Engine, delete, text, update
from sqlalchemy import select as sa_select
from sqlalchemy.dialects import postgresql
from sqlalchemy.engine import Connection
from sqlalchemy.exc import IntegrityError, SQLAlchemyError
from sqlmodel import Session, col, select

from solwatch.config import ScheduleSettings, Settings
from solwatch.notify.events import describe
from solwatch.notify.ledger import DAILY, MONTHLY, JobRun, SchedulerLock
from solwatch.store.connection import reason
from solwatch.store.locks import SERVE_LOCK

if TYPE_CHECKING:  # the jobs (templates, workbooks, mail) load when serve starts them
    from solwatch.notify.jobs import Delivery
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


def owed_runs(
    engine: Engine, schedule: ScheduleSettings, moment: datetime
) -> tuple[date | None, date | None]:
    """What is owed at `moment`: today's daily run (its day) and last month's package (the
    month's first day), each None when not owed."""
    local_today = moment.astimezone(ZoneInfo(schedule.timezone)).date()
    last_month = (local_today.replace(day=1) - timedelta(days=1)).replace(day=1)
    day = owed_day(
        moment, schedule.daily_at, schedule.timezone, finished_days(engine, DAILY, local_today)
    )
    month = owed_month(
        moment,
        schedule.daily_at,
        schedule.cear_day,
        schedule.timezone,
        finished_days(engine, MONTHLY, last_month),
    )
    return day, month


class Log(Protocol):
    """Where `serve` says what it does: one event, a message, a few fields."""

    def __call__(self, event: str, message: str, **fields: Any) -> None: ...


class Report(Protocol):
    """What a daily or monthly run reports back."""

    @property
    def delivery(self) -> Delivery: ...


@dataclass
class Service:
    """The tick, and what it remembers between ticks: how often each job has failed in a row
    and whether this is the first tick (the catch-up)."""

    engine: Engine
    schedule: ScheduleSettings
    run_daily: Callable[[date], Report]
    run_monthly: Callable[[str, date], Report]
    retry: Callable[[], Delivery]
    now: Callable[[], datetime]
    log: Log
    failures: Counter[str] = field(default_factory=Counter)
    first: bool = True

    def tick(self) -> None:
        """Run what is owed, then the retries. Never raises: a failure is logged, and the
        next tick tries again."""
        first, self.first = self.first, False
        moment = self.now()
        local_today = moment.astimezone(ZoneInfo(self.schedule.timezone)).date()
        try:
            day, month = owed_runs(self.engine, self.schedule, moment)
        except Exception as error:
            self.log("tick-failed", f"cannot read the job state: {describe(error)}{self._again}")
            return
        if day is not None:
            if first:
                self.log(
                    "catch-up",
                    "today's daily run is owed (the scheduler was down): running it now",
                    job=DAILY,
                    day=day.isoformat(),
                )
            self._attempt(DAILY, day.isoformat(), lambda: self.run_daily(day), moment)
        if month is not None:
            label = month.strftime("%Y-%m")
            if first:
                self.log(
                    "catch-up",
                    "last month's CEAR package is owed (the scheduler was down): sending it now",
                    job=MONTHLY,
                    day=label,
                )
            self._attempt(MONTHLY, label, lambda: self.run_monthly(label, local_today), moment)
        try:
            delivery = self.retry()
        except Exception as error:
            self.log("retry-failed", f"retrying notices failed: {describe(error)}{self._again}")
            return
        if delivery.sent or delivery.failed:
            self.log(
                "retried",
                f"retried notices: sent {delivery.sent}, failed {len(delivery.failed)}"
                + (f", {delivery.deferred} not tried" if delivery.stopped else ""),
                **delivery.summary(),
            )

    @property
    def _again(self) -> str:
        return f"; trying again in {self.schedule.retry_minutes:g} minutes"

    def _why(self, job: str, moment: datetime) -> str:
        if self.failures[job]:
            return f"attempt {self.failures[job] + 1}, after a failure"
        local = moment.astimezone(ZoneInfo(self.schedule.timezone))
        hour, minute = clock_time(self.schedule.daily_at)
        due = datetime.combine(local.date(), time(hour, minute), local.tzinfo)
        if timedelta(0) <= local - due <= timedelta(minutes=1) and (
            job == DAILY or local.day == self.schedule.cear_day
        ):
            return "scheduled"
        if job == MONTHLY:
            return f"owed since day {self.schedule.cear_day} at {self.schedule.daily_at}"
        return f"owed since {self.schedule.daily_at}"

    def _attempt(self, job: str, label: str, run: Callable[[], Report], moment: datetime) -> None:
        why = self._why(job, moment)
        self.log("run-started", f"{job} run for {label} started ({why})", job=job, day=label)
        try:
            report = run()
        except Exception as error:
            self.failures[job] += 1
            self.log(
                "run-failed",
                f"{job} run for {label} failed: {describe(error)}{self._again}",
                job=job,
                day=label,
                error=describe(error),
                attempt=self.failures[job],
            )
            return
        self.failures[job] = 0
        delivery = report.delivery
        self.log(
            "run-finished",
            f"{job} run for {label} finished: sent {delivery.sent}, failed "
            f"{len(delivery.failed)}, still undelivered {len(delivery.owed)}"
            + (f" (stopped after: {delivery.stopped})" if delivery.stopped else ""),
            job=job,
            day=label,
            **delivery.summary(),
        )


class _SchedulerEvents(logging.Handler):
    """APScheduler's own warnings and errors, as serve events; not its note that a tick is
    already queued behind the running one (that is how ticks wait for each other)."""

    def __init__(self, log: Log) -> None:
        super().__init__(logging.WARNING)
        self.log = log

    def emit(self, record: logging.LogRecord) -> None:
        if "maximum number of running instances" in str(record.msg):
            return
        self.log("scheduler", record.getMessage())


def serve(service: Service, *, standby: bool = False) -> None:
    """Run the scheduler until SIGTERM or SIGINT; the current tick finishes first.

    Raises SchedulerBusy if another scheduler holds the database; with `standby`, waits for
    it to stop and takes over (and catches up) instead. While the store cannot be reached or
    written (it is locked), waits, saying so at each try."""
    engine, schedule, log, now = service.engine, service.schedule, service.log, service.now
    stopping = threading.Event()
    holder = holder_name()
    lock = store_lock(engine, holder, now)
    zone = ZoneInfo(schedule.timezone)
    scheduler = BlockingScheduler(
        timezone=zone,
        executors={"default": ThreadPoolExecutor(1), "heartbeat": ThreadPoolExecutor(1)},
        # Two instances: the running tick and at most one queued behind it, so a tick due
        # while another runs happens right after it.
        job_defaults={"coalesce": True, "max_instances": 2, "misfire_grace_time": None},
    )

    def stop(signum: int, _frame: Any) -> None:
        log("stopping", f"{signal.Signals(signum).name}: stopping after the current run")
        stopping.set()
        if scheduler.running:
            scheduler.shutdown(wait=True)

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    if not _take_lock(service, lock, stopping, standby=standby):
        log("stopped", "solwatch serve stopped before it could take the scheduler lock")
        return

    def beat() -> None:
        try:
            kept = lock.keep(lambda message: log("lock", message))
        except Exception as error:
            log("heartbeat-failed", f"cannot renew the scheduler lock: {describe(error)}")
            return
        if not kept:
            log("lock-lost", "scheduler lock lost to another serve: stopping")
            scheduler.shutdown(wait=False)
            return
        if isinstance(lock, AdvisoryLock) and lock.regained:
            # Back after a lost database: what failed meanwhile is tried now, not at the next
            # retry tick.
            lock.regained = False
            scheduler.add_job(service.tick, id="reconnected", replace_existing=True)

    retry = IntervalTrigger(seconds=schedule.retry_minutes * 60, timezone=zone)
    ticks = OrTrigger(
        [
            daily_trigger(schedule.daily_at, schedule.timezone),
            monthly_trigger(schedule.cear_day, schedule.daily_at, schedule.timezone),
            retry,
        ]
    )
    scheduler.add_job(service.tick, ticks, id="tick", next_run_time=now())
    scheduler.add_job(beat, "interval", seconds=lock.interval, id="heartbeat", executor="heartbeat")
    events = _SchedulerEvents(log)
    logging.getLogger("apscheduler").addHandler(events)
    logging.getLogger("apscheduler").propagate = False
    store = engine.url.render_as_string(hide_password=True)
    log(
        "started",
        f"solwatch serve on {store}: daily run at {schedule.daily_at} {schedule.timezone}, "
        f"CEAR package on day {schedule.cear_day}, retries every {schedule.retry_minutes:g} "
        f"minutes; held by {holder}",
        holder=holder,
        store=store,
    )
    try:
        if not stopping.is_set():
            scheduler.start()
    finally:
        logging.getLogger("apscheduler").removeHandler(events)
        try:
            lock.release()
            log("lock", f"scheduler lock released by {holder}")
        except Exception as error:
            log("lock", f"could not release the scheduler lock: {describe(error)}")
        log("stopped", "solwatch serve stopped")


def _take_lock(
    service: Service, lock: StoreLock, stopping: threading.Event, *, standby: bool
) -> bool:
    """Take the scheduler lock; False if stopped first. While the store cannot be reached or
    written, try again every retry interval (every STANDBY_POLL_SECONDS for a standby). If
    another scheduler holds it: raise SchedulerBusy, or with `standby` poll every
    STANDBY_POLL_SECONDS until it stops, then take over."""
    log, waiting = service.log, False
    while not stopping.is_set():
        try:
            taken = lock.take()
        except Exception as error:
            pause = STANDBY_POLL_SECONDS if standby else service.schedule.retry_minutes * 60
            log(
                "lock-waiting",
                f"cannot take the scheduler lock: {reason(error, service.engine.url)}; "
                f"trying again in {pause:g} seconds",
            )
            stopping.wait(pause)
            continue
        if taken:
            if waiting:
                log("takeover", "the active scheduler has stopped: this one takes over")
            log("lock", f"scheduler lock taken by {lock.holder}", holder=lock.holder)
            return True
        if not standby:
            raise SchedulerBusy(lock.why)
        if not waiting:
            log("standby", f"standby: {lock.why}; taking over when it stops")
            waiting = True
        stopping.wait(STANDBY_POLL_SECONDS)
    return False


def run_jobs(
    engine: Engine,
    settings: Settings,
    *,
    mailer: Mailer,
    now: Callable[[], datetime],
    log: Log,
    standby: bool = False,
) -> None:
    """The daily job at `daily_at`, the monthly package for last month on `cear_day`, and
    retries in between, until stopped; raises SchedulerBusy if another scheduler holds the
    database (with `standby`, waits for it to stop and takes over). Each event goes to
    `log`."""
    from solwatch.notify import jobs

    def tell(event: str, message: str, fields: dict[str, Any]) -> None:
        log(event, message, **fields)

    service = Service(
        engine,
        settings.schedule,
        run_daily=lambda day: jobs.run_daily(
            engine, settings, day, mailer=mailer, now=now, tell=tell
        ),
        run_monthly=lambda month, day: jobs.run_monthly(
            engine, settings, month, day, mailer=mailer, now=now, tell=tell
        ),
        retry=lambda: jobs.retry_due(engine, settings, mailer=mailer, now=now, tell=tell),
        now=now,
        log=log,
    )
    serve(service, standby=standby)
