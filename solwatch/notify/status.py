"""`solwatch status`: is the service healthy? What a monitor (or an operator) needs to know,
read from the store: the schema, the last runs, the next ones, the scheduler's heartbeat,
the mail still owed, the last import.

Unhealthy (exit 3) when any of these holds:
- the store cannot be opened, or its schema is not the current one;
- a scheduler holds the lock but its heartbeat is older than STALE_LOCK (two minutes): it
  died without releasing the lock. On PostgreSQL the advisory lock itself is read too: a lock
  row whose holder no longer holds it belongs to a scheduler that stopped. With `expect_serve`
  (a deployment that runs `serve`), also when no scheduler holds the lock at all. Without it,
  no lock is healthy: the jobs may be run by cron;
- when a scheduler is running or expected, today's daily run is still owed an hour after
  `daily_at`, or last month's package an hour after its time on `cear_day`;
- the last run of a job failed and none has finished since;
- any notice is undelivered (pending, sending or failed), whatever its day.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import Engine, text
from sqlmodel import Session, col, select

from solwatch.config import Settings
from solwatch.notify.events import describe, masked_url
from solwatch.notify.ledger import DAILY, MONTHLY, JobRun, SchedulerLock, next_attempt, undelivered
from solwatch.notify.scheduler import (
    LOCK,
    STALE_LOCK,
    clock_time,
    daily_trigger,
    monthly_trigger,
    owed_runs,
)
from solwatch.store import schema
from solwatch.store.cases import ImportRun
from solwatch.store.locks import SERVE_LOCK

OVERDUE = timedelta(hours=1)
LISTED = 50  # undelivered notices shown one by one; the rest are counted


def _iso(when: datetime | None) -> str | None:
    return None if when is None else when.astimezone(ZoneInfo("UTC")).strftime("%Y-%m-%dT%H:%M:%SZ")


@dataclass
class ServiceStatus:
    """The service as the store shows it at `checked_at`; `problems` say why it is not healthy."""

    checked_at: datetime
    store: dict[str, Any]
    runs: dict[str, Any] = field(default_factory=dict)
    next_runs: dict[str, Any] = field(default_factory=dict)
    scheduler: dict[str, Any] = field(default_factory=dict)
    notices: dict[str, Any] = field(default_factory=dict)
    last_import: dict[str, Any] | None = None
    problems: list[str] = field(default_factory=list)

    @property
    def healthy(self) -> bool:
        return not self.problems

    def document(self) -> dict[str, Any]:
        """The JSON of `status --format json`."""
        return {
            "healthy": self.healthy,
            "problems": self.problems,
            "checked_at": _iso(self.checked_at),
            "store": self.store,
            "runs": self.runs,
            "next_runs": self.next_runs,
            "scheduler": self.scheduler,
            "notices": self.notices,
            "last_import": self.last_import,
        }


def _run(run: JobRun | None) -> dict[str, Any] | None:
    if run is None:
        return None
    result = "finished" if run.finished_at else "failed" if run.error else "unfinished"
    counts = json.loads(run.summary) if run.summary else {}
    return {
        "day": run.day.isoformat(),
        "started_at": _iso(run.started_at),
        "finished_at": _iso(run.finished_at),
        "result": result,
        "error": run.error,
        **counts,
    }


def _last_run(job: str, *, session: Session) -> JobRun | None:
    return session.exec(
        select(JobRun).where(col(JobRun.job) == job).order_by(col(JobRun.id).desc()).limit(1)
    ).first()


def service_status(
    store: Callable[[], Engine], settings: Settings, now: datetime, *, expect_serve: bool = False
) -> ServiceStatus:
    """The status at `now`, of the store `store()` opens; a store that cannot be opened (a bad
    URL, a missing driver, a server that does not answer) is a problem it reports, not an
    error it raises."""
    status = ServiceStatus(now, {"url": masked_url(settings.database.url)})
    try:
        engine = store()
        current = schema.current_revisions(engine)
    except Exception as error:
        status.problems.append(f"cannot open the store: {describe(error)}")
        return status
    head = schema.head_revisions()
    status.store |= {
        "schema_revision": ", ".join(sorted(current)) or None,
        "schema_head": ", ".join(sorted(head)),
        "schema_current": current == head,
    }
    if current != head:
        status.problems.append(
            "the store is not initialized or its schema is out of date: run `solwatch init`"
        )
        return status
    with Session(engine) as session:
        _runs(status, session)
        serving = _scheduler(status, now, expect_serve, session=session)
        _notices(status, settings, session=session)
        _import(status, session=session)
    _next_runs(status, engine, settings, now, serving)
    return status


def _runs(status: ServiceStatus, session: Session) -> None:
    for job in (DAILY, MONTHLY):
        last = _last_run(job, session=session)
        status.runs[job] = _run(last)
        if last is not None and not last.finished_at and last.error:
            status.problems.append(f"the last {job} run (for {last.day}) failed: {last.error}")


def _scheduler(
    status: ServiceStatus, now: datetime, expect_serve: bool, *, session: Session
) -> bool:
    """Fill in the scheduler; True if one holds the lock (stale or not)."""
    lock = session.get(SchedulerLock, LOCK)
    advisory = _advisory_holder(session)
    if lock is None and advisory.get("advisory_lock_pid") is None:
        status.scheduler = {"running": False, "expected": expect_serve}
        if expect_serve:
            status.problems.append("no `solwatch serve` holds the scheduler lock")
        return False
    if lock is None:  # the advisory lock's holder has not written its row yet
        status.scheduler = {
            "running": True,
            "expected": expect_serve,
            "holder": "(not yet named)",
            "heartbeat_age_seconds": 0,
            "stale": False,
            **advisory,
        }
        return True
    age = now - lock.heartbeat_at
    released = advisory == {"advisory_lock_pid": None}
    stale = age > STALE_LOCK or released
    status.scheduler = {
        "running": not stale,
        "expected": expect_serve,
        "holder": lock.holder,
        "heartbeat_at": _iso(lock.heartbeat_at),
        "heartbeat_age_seconds": int(age.total_seconds()),
        "stale": stale,
        **advisory,
    }
    if released:
        status.problems.append(
            f"the scheduler ({lock.holder}) no longer holds the database's advisory lock: it "
            f"stopped without removing its lock row"
        )
    elif stale:
        minutes = int(age.total_seconds() // 60)
        status.problems.append(
            f"the scheduler ({lock.holder}) has not renewed its heartbeat for {minutes} "
            f"minutes: it stopped without releasing its lock"
        )
    return True


def _advisory_holder(session: Session) -> dict[str, Any]:
    """On PostgreSQL, the server process holding serve's advisory lock (the lock itself; the
    row only says who took it): {"advisory_lock_pid": pid or None}. Empty on other stores."""
    connection = session.connection()
    if connection.dialect.name != "postgresql":
        return {}
    pid = connection.execute(
        text(
            "SELECT pid FROM pg_locks WHERE locktype = 'advisory' AND granted "
            "AND database = (SELECT oid FROM pg_database WHERE datname = current_database()) "
            "AND classid = CAST(:high AS oid) AND objid = CAST(:low AS oid) AND objsubid = 1"
        ),
        {"high": SERVE_LOCK >> 32, "low": SERVE_LOCK & 0xFFFF_FFFF},
    ).scalar()
    return {"advisory_lock_pid": pid}


def _notices(status: ServiceStatus, settings: Settings, *, session: Session) -> None:
    owed = undelivered(session=session)
    states = Counter(notice.state for notice in owed)
    status.notices = {
        "undelivered": len(owed),
        **{state: states.get(state, 0) for state in ("pending", "sending", "failed")},
        "list": [
            {
                "id": notice.id,
                "job": notice.job,
                "day": notice.day.isoformat(),
                "audience": notice.audience,
                "address": notice.address,
                "state": notice.state,
                "attempts": notice.attempts,
                "last_error": notice.last_error,
                "next_attempt_at": _iso(next_attempt(notice)),
            }
            for notice in owed[:LISTED]
        ],
    }
    if owed:
        days = sorted({notice.day.isoformat() for notice in owed})
        status.problems.append(
            f"{len(owed)} notice{'s' if len(owed) != 1 else ''} undelivered "
            f"({states.get('failed', 0)} failed; days {', '.join(days)})"
        )


def _import(status: ServiceStatus, *, session: Session) -> None:
    last = session.exec(select(ImportRun).order_by(col(ImportRun.id).desc()).limit(1)).first()
    if last is None:
        return
    files = json.loads(last.summary) if last.summary else []
    status.last_import = {
        "started_at": _iso(last.started_at),
        "as_of": last.as_of.isoformat(),
        "files": files,
        "rows": sum(file.get("rows", 0) for file in files),
    }


def _next_runs(
    status: ServiceStatus, engine: Engine, settings: Settings, now: datetime, serving: bool
) -> None:
    schedule = settings.schedule
    day, month = owed_runs(engine, schedule, now)
    daily_next = daily_trigger(schedule.daily_at, schedule.timezone).get_next_fire_time(None, now)
    monthly_next = monthly_trigger(
        schedule.cear_day, schedule.daily_at, schedule.timezone
    ).get_next_fire_time(None, now)
    status.next_runs = {
        DAILY: {"owed": day.isoformat() if day else None, "next_at": _iso(daily_next)},
        MONTHLY: {
            "owed": month.strftime("%Y-%m") if month else None,
            "next_at": _iso(monthly_next),
        },
    }
    if not (serving or status.scheduler.get("expected")):
        return
    zone = ZoneInfo(schedule.timezone)
    hour, minute = clock_time(schedule.daily_at)
    local = now.astimezone(zone)
    today_at = datetime(local.year, local.month, local.day, hour, minute, tzinfo=zone)
    if day is not None and now - today_at > OVERDUE:
        status.problems.append(
            f"today's daily run ({day}) is still owed more than an hour after {schedule.daily_at}"
        )
    cear_at = today_at.replace(day=schedule.cear_day)
    if month is not None and local.day == schedule.cear_day and now - cear_at > OVERDUE:
        status.problems.append(
            f"the CEAR package for {month:%Y-%m} is still owed more than an hour after its time"
        )
    elif month is not None and local.day > schedule.cear_day:
        status.problems.append(f"the CEAR package for {month:%Y-%m} is still owed")
