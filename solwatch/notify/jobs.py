"""The mail jobs: plan today's digests (or the month's package), record them in the ledger,
send what is due. Both jobs run through here, so neither depends on the other.

Order matters for "never lost, never twice": a digest is recorded (with its rendered message)
before any send; a send is claimed with a conditional UPDATE and marked when it completes; a
claim left behind by a crash is retried later, so a crash can at worst repeat one digest.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import date, datetime
from itertools import chain
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import Engine, insert, update
from sqlmodel import Session, col, select

from solwatch.config import Settings
from solwatch.notify import daily, monthly
from solwatch.notify.digests import Digest
from solwatch.notify.ledger import (
    DAILY,
    FAILED,
    MONTHLY,
    NOTICE_KEY,
    PENDING,
    SENDING,
    SENT,
    SUPERSEDED,
    Notice,
    NoticeItem,
    backoff,
    claim,
    defer,
    job_run,
    next_attempt,
    undelivered,
)
from solwatch.notify.mailer import Mailer, MailError, TransportFailure
from solwatch.notify.render import Mailing, build_message, slug, template_env
from solwatch.reports.cear import month_as_of, month_bounds
from solwatch.reports.exports import export_cear
from solwatch.store.cases import insert_new

Clock = Callable[[], datetime]
NOT_TRIED = "not tried: "  # how a notice left for later after a transport failure says why
# Told of each send as it happens (`serve` logs them): event name, message, fields.
Tell = Callable[[str, str, dict[str, Any]], None]


def _quiet(event: str, message: str, fields: dict[str, Any]) -> None:
    """The default: a run started by hand prints its summary instead."""


@dataclass(frozen=True)
class Owed:
    """A notice still undelivered after a run, and when `serve` will next try it."""

    address: str
    audience: str
    state: str
    attempts: int
    error: str | None
    next_attempt: datetime

    @classmethod
    def of(cls, notice: Notice) -> Owed:
        return cls(
            notice.address,
            notice.audience,
            notice.state,
            notice.attempts,
            notice.last_error,
            next_attempt(notice),
        )

    def line(self, timezone: str) -> str:
        when = self.next_attempt.astimezone(ZoneInfo(timezone)).strftime("%Y-%m-%d %H:%M %Z")
        if self.state == SENDING:
            why = "claimed by a run that has not finished (it may have stopped mid-send)"
        elif self.state == PENDING and (self.error or "").startswith(NOT_TRIED):
            why = "pending, not tried after the transport failure"
        else:
            tries = f"{self.attempts} attempt{'s' if self.attempts != 1 else ''}"
            why = f"{self.state}, {tries}" + (f": {self.error}" if self.error else "")
        return f"{self.address} ({self.audience}): {why}; next automatic attempt {when}"


@dataclass
class Delivery:
    """What a run's sending did, and what it still owes."""

    sent: int = 0
    failed: list[str] = field(default_factory=list)
    stopped: str | None = None  # the transport failure after which the run stopped trying
    deferred: int = 0  # notices not tried after it, left for the next attempt
    owed: list[Owed] = field(default_factory=list)  # the job's notices of its day, undelivered

    def lines(self, timezone: str, day: str) -> list[str]:
        lines = [f"  failed: {failure}" for failure in self.failed]
        if self.stopped is not None:
            lines.append(
                f"  stopped sending after a transport failure: {self.deferred} other "
                f"notice{'s' if self.deferred != 1 else ''} not tried, left for the next attempt"
            )
        if self.owed:
            lines.append(f"  still undelivered ({day}): {len(self.owed)}")
            lines += [f"    {owed.line(timezone)}" for owed in self.owed]
        return lines

    def owing(self, job: str, day: date, *, session: Session) -> Delivery:
        """This delivery, with what `job` still owes for `day` once it is done."""
        self.owed = [Owed.of(n) for n in undelivered(session=session, job=job, day=day)]
        return self

    def summary(self) -> dict[str, int]:
        return {
            "sent": self.sent,
            "failed": len(self.failed),
            "not_tried": self.deferred,
            "undelivered": len(self.owed),
        }


class _Outcome:
    """What a run's report says of its sending."""

    delivery: Delivery

    @property
    def sent(self) -> int:
        return self.delivery.sent

    @property
    def failed(self) -> list[str]:
        return self.delivery.failed

    @property
    def delivered(self) -> bool:
        """Nothing failed and nothing of the run's day is still owed: exit 0."""
        return not self.delivery.failed and not self.delivery.owed


@dataclass
class DailyReport(_Outcome):
    day: date
    dry_run: bool = False
    scanned: int = 0
    alerts: Counter[str] = field(default_factory=Counter)
    digests: list[Digest] = field(default_factory=list)
    planned: int = 0
    already: int = 0
    delivery: Delivery = field(default_factory=Delivery)
    timezone: str = "UTC"

    def summary(self) -> str:
        kinds = ", ".join(f"{kind} {count}" for kind, count in sorted(self.alerts.items()))
        dry = " (dry run: nothing recorded or sent)" if self.dry_run else ""
        lines = [
            f"Daily run for {self.day.isoformat()}{dry}",
            f"  open cases scanned: {self.scanned}",
            f"  alerts: {kinds or 'none'}",
            f"  digests with news: {len(self.digests)}"
            + (f" ({self.already} already recorded today)" if self.already else "")
            + f"; notices recorded: {self.planned}; sent: {self.sent}; "
            f"failed: {len(self.failed)}",
        ]
        return "\n".join(lines + self.delivery.lines(self.timezone, self.day.isoformat()))


@dataclass
class MonthlyReport(_Outcome):
    month: str
    as_of: date
    files: list[str] = field(default_factory=list)
    offices: int = 0  # FP&F offices sent their SOL report
    recorded: int = 0
    delivery: Delivery = field(default_factory=Delivery)
    timezone: str = "UTC"

    def summary(self) -> str:
        where = self.files[0].rsplit("/", 1)[0] if self.files else "-"
        lines = [
            f"CEAR package for {self.month} (as of {self.as_of.isoformat()})",
            f"  files: {len(self.files)} in {where}"
            + (f" (with the SOL reports of {self.offices} FP&F offices)" if self.offices else ""),
            f"  messages recorded: {self.recorded}; sent: {self.sent}; failed: {len(self.failed)}",
        ]
        return "\n".join(lines + self.delivery.lines(self.timezone, self.month))


def message_to(mailing: Mailing, index: int, *, settings: Settings, now: datetime) -> bytes:
    """The message of `mailing` for its `index`th address, as recorded and sent."""
    return build_message(
        mailing.rendered,
        sender=settings.mail.sender,
        to=mailing.addresses[index][0],
        audience=mailing.audience_name,
        message_id=f"<{mailing.id_prefix}.{index}@solwatch>",
        when=now,
        attachments=mailing.attachments,
    )


def message_name(day: date, audience: str) -> str:
    """The name a mailer gives a notice's message (the outbox file's, before the address)."""
    return f"{day.isoformat()}-{slug(audience)}"


def record_notices(
    mailing: Mailing, *, settings: Settings, now: datetime, session: Session
) -> bool:
    """Record one mailing as notices, one per (address, role), with the (case number, reason)
    items it carries, in one transaction. False if it was recorded already (by an earlier or a
    concurrent run). With `supersede`, older unsent notices to the audience are superseded:
    this message carries their news."""
    day, audience, rendered = mailing.day, mailing.audience, mailing.rendered
    connection = session.connection()
    for index, (address, role) in enumerate(mailing.addresses):
        notice = Notice(
            day=day,
            job=mailing.job,
            audience=audience,
            address=address,
            role=role,
            subject=rendered.subject,
            message=message_to(mailing, index, settings=settings, now=now),
            carried=json.dumps(mailing.carried),
            created_at=now,
            next_attempt_at=now,
        )
        row = notice.model_dump(exclude={"id"})
        if not insert_new(connection, Notice.__table__, row, NOTICE_KEY):  # type: ignore[attr-defined]
            session.rollback()
            return False
    items = [(number, reason, True) for number, reason in mailing.items]
    items += [(number, reason, False) for number, reason in mailing.listed]
    if items:
        session.execute(
            insert(NoticeItem),
            [
                {"day": day, "audience": audience, "case_number": n, "reason": r, "new": new}
                for n, r, new in items
            ],
        )
    if mailing.supersede:
        session.execute(
            update(Notice)
            .where(
                col(Notice.audience) == audience,
                col(Notice.job) == mailing.job,
                col(Notice.day) < day,
                col(Notice.state).in_([PENDING, FAILED]),
            )
            .values(state=SUPERSEDED, last_error=f"superseded by the digest of {day}")
        )
    session.commit()
    return True


def record(
    mailings: Iterable[Mailing], settings: Settings, now: Clock, *, session: Session
) -> tuple[int, int]:
    """Record each mailing's notices and items; returns how many notices were recorded and
    how many mailings had been recorded already."""
    recorded = already = 0
    for mailing in mailings:
        if record_notices(mailing, settings=settings, now=now(), session=session):
            recorded += len(mailing.addresses)
        else:
            already += 1
    return recorded, already


def send_due(
    mailer: Mailer,
    settings: Settings,
    now: Clock,
    *,
    session: Session,
    retry_now: bool = False,
    tell: Tell = _quiet,
) -> Delivery:
    """Send every notice that is pending, due for retry, or left behind by a crashed run;
    with `retry_now` (a run started by hand) every pending or failed one, whatever its backoff.

    After a transport failure (the server cannot be reached, times out, refuses the login) the
    run stops: the notices it did not try wait for the same next attempt as the failed one."""
    candidates = [
        notice_id
        for notice_id in session.exec(
            select(Notice.id)
            .where(col(Notice.state).in_([PENDING, FAILED, SENDING]))
            .order_by(col(Notice.id))
        ).all()
        if notice_id is not None
    ]
    delivery = Delivery()
    for index, notice_id in enumerate(candidates):
        if not claim(notice_id, now(), session=session, force=retry_now):
            continue
        notice = session.get(Notice, notice_id)
        assert notice is not None
        about = {
            "job": notice.job,
            "day": notice.day.isoformat(),
            "audience": notice.audience,
            "address": notice.address,
            "attempt": notice.attempts,
        }
        try:
            mailer.send(
                notice.message,
                sender=settings.mail.sender,
                recipient=notice.address,
                name=message_name(notice.day, notice.audience),
            )
        except MailError as error:
            notice.state, notice.last_error = FAILED, str(error)
            notice.next_attempt_at = now() + backoff(notice.attempts)
            delivery.failed.append(f"{notice.address} ({notice.audience}): {error}")
            session.add(notice)
            session.commit()
            tell(
                "send-failed",
                f"{notice.job} notice of {notice.day} to {notice.address} ({notice.audience}) "
                f"failed: {error}",
                {**about, "error": str(error)},
            )
            if isinstance(error, TransportFailure):
                delivery.stopped = str(error)
                delivery.deferred = defer(
                    candidates[index + 1 :],
                    notice.next_attempt_at,
                    f"{NOT_TRIED}{error}",
                    due_by=None if retry_now else now(),
                    session=session,
                )
                tell(
                    "sending-stopped",
                    f"stopped sending after a transport failure: {delivery.deferred} other "
                    f"notices not tried, left for the next attempt",
                    {"not_tried": delivery.deferred, "error": str(error)},
                )
                break
            continue
        notice.state, notice.sent_at, notice.last_error = SENT, now(), None
        delivery.sent += 1
        session.add(notice)
        session.commit()
        tell(
            "sent",
            f"{notice.job} notice of {notice.day} sent to {notice.address} ({notice.audience})",
            about,
        )
    return delivery


def run_daily(
    engine: Engine,
    settings: Settings,
    today: date,
    *,
    mailer: Mailer,
    now: Clock,
    dry_run: bool = False,
    retry_now: bool = False,
    tell: Tell = _quiet,
) -> DailyReport:
    """The whole daily job once; safe to run again the same day and to run twice at once.
    With `retry_now` (a run started by hand) every undelivered notice is tried again at once;
    `serve` leaves retries to their backoff."""
    report = DailyReport(today, dry_run=dry_run, timezone=settings.schedule.timezone)
    env = template_env(settings.mail.templates_dir)
    with Session(engine) as session:
        digests, report.scanned, report.alerts = daily.plan(settings, today, session=session)
        report.digests = digests
        if dry_run:
            return report
        with job_run(DAILY, today, now, session=session) as run:
            report.planned, report.already = record(
                daily.mailings(digests, env), settings, now, session=session
            )
            report.delivery = send_due(
                mailer, settings, now, session=session, retry_now=retry_now, tell=tell
            ).owing(DAILY, today, session=session)
            run.summary = json.dumps(
                {"digests": len(digests), "recorded": report.planned, **report.delivery.summary()}
            )
    return report


def preview_daily(
    engine: Engine, settings: Settings, today: date, *, mailer: Mailer, now: Clock
) -> DailyReport:
    """Today's digests planned and handed to `mailer`, without the ledger: nothing is recorded,
    so the day's real run still sends each of them (the demo's day). Any MailError stops it."""
    report = run_daily(engine, settings, today, mailer=mailer, now=now, dry_run=True)
    env = template_env(settings.mail.templates_dir)
    for mailing in daily.mailings(report.digests, env):
        for index, (address, _) in enumerate(mailing.addresses):
            mailer.send(
                message_to(mailing, index, settings=settings, now=now()),
                sender=settings.mail.sender,
                recipient=address,
                name=message_name(mailing.day, mailing.audience),
            )
            report.delivery.sent += 1
    return report


def run_monthly(
    engine: Engine,
    settings: Settings,
    month: str,
    today: date,
    *,
    mailer: Mailer,
    now: Clock,
    retry_now: bool = False,
    tell: Tell = _quiet,
) -> MonthlyReport:
    """Write the month's files under `[cear] folder`/MONTH and mail each Center its own, and
    each FP&F office its SOL report."""
    as_of = month_as_of(month, today)
    first, _ = month_bounds(month)
    offices = {code: route.office for code, route in settings.routing.ports.items()}
    fpf = monthly.fpf_offices_of(settings)
    report = MonthlyReport(month, as_of, timezone=settings.schedule.timezone)
    env = template_env(settings.mail.templates_dir)
    with Session(engine) as session:
        files = export_cear(
            settings.cear.folder / month,
            month,
            as_of,
            settings.alerts.thresholds,
            session=session,
            offices=offices,
            xlsx=settings.cear.xlsx,
            fpf=fpf,
        )
        report.files = [str(path) for path, _ in files.written]
        report.offices = len(fpf)
        with job_run(MONTHLY, first, now, session=session) as run:
            messages = chain(
                monthly.mailings(files.centers, month, as_of, settings, env),
                monthly.office_mailings(fpf, files.offices, month, as_of, settings, env),
            )
            report.recorded, _ = record(messages, settings, now, session=session)
            report.delivery = send_due(
                mailer, settings, now, session=session, retry_now=retry_now, tell=tell
            ).owing(MONTHLY, first, session=session)
            run.summary = json.dumps(
                {"files": len(report.files), "offices": len(fpf), "recorded": report.recorded}
                | report.delivery.summary()
            )
    return report


def retry_due(
    engine: Engine, settings: Settings, *, mailer: Mailer, now: Clock, tell: Tell = _quiet
) -> Delivery:
    """Send what is pending or due for retry, without planning: `serve` runs this between
    daily runs so a failed digest is not left waiting until the next morning."""
    with Session(engine) as session:
        return send_due(mailer, settings, now, session=session, tell=tell)
