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

from sqlalchemy import Engine, update
from sqlmodel import Session, col, select

from solwatch.config import Settings
from solwatch.notify import daily, monthly
from solwatch.notify.digests import Digest
from solwatch.notify.ledger import (
    FAILED,
    NOTICE_KEY,
    PENDING,
    SENDING,
    SENT,
    SUPERSEDED,
    Notice,
    NoticeItem,
    backoff,
    claim,
    job_run,
)
from solwatch.notify.mailer import Mailer, MailError
from solwatch.notify.render import Mailing, build_message, slug
from solwatch.reports.cear import month_as_of, month_bounds
from solwatch.reports.exports import export_cear
from solwatch.store.cases import insert_new

Clock = Callable[[], datetime]


@dataclass
class DailyReport:
    day: date
    dry_run: bool = False
    scanned: int = 0
    alerts: Counter[str] = field(default_factory=Counter)
    digests: list[Digest] = field(default_factory=list)
    planned: int = 0
    already: int = 0
    sent: int = 0
    failed: list[str] = field(default_factory=list)

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
        lines += [f"  failed: {failure}" for failure in self.failed]
        return "\n".join(lines)


@dataclass
class MonthlyReport:
    month: str
    as_of: date
    files: list[str] = field(default_factory=list)
    recorded: int = 0
    sent: int = 0
    failed: list[str] = field(default_factory=list)

    def summary(self) -> str:
        where = self.files[0].rsplit("/", 1)[0] if self.files else "-"
        lines = [
            f"CEAR package for {self.month} (as of {self.as_of.isoformat()})",
            f"  files: {len(self.files)} in {where}",
            f"  messages recorded: {self.recorded}; sent: {self.sent}; failed: {len(self.failed)}",
        ]
        lines += [f"  failed: {failure}" for failure in self.failed]
        return "\n".join(lines)


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
    for number, reason in mailing.items:
        session.add(
            NoticeItem(day=day, audience=audience, case_number=number, reason=reason, new=True)
        )
    if mailing.supersede:
        session.execute(
            update(Notice)
            .where(
                col(Notice.audience) == audience,
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
    mailer: Mailer, settings: Settings, now: Clock, *, session: Session
) -> tuple[int, list[str]]:
    """Send every notice that is pending, due for retry, or left behind by a crashed run."""
    candidates = session.exec(
        select(Notice.id)
        .where(col(Notice.state).in_([PENDING, FAILED, SENDING]))
        .order_by(col(Notice.id))
    ).all()
    sent, failed = 0, []
    for notice_id in candidates:
        assert notice_id is not None
        if not claim(notice_id, now(), session=session):
            continue
        notice = session.get(Notice, notice_id)
        assert notice is not None
        try:
            mailer.send(
                notice.message,
                sender=settings.mail.sender,
                recipient=notice.address,
                name=message_name(notice.day, notice.audience),
            )
        except MailError as error:
            finished = now()
            notice.state, notice.last_error = FAILED, str(error)
            notice.next_attempt_at = finished + backoff(notice.attempts)
            failed.append(f"{notice.address} ({notice.audience}): {error}")
        else:
            notice.state, notice.sent_at, notice.last_error = SENT, now(), None
            sent += 1
        session.add(notice)
        session.commit()
    return sent, failed


def run_daily(
    engine: Engine,
    settings: Settings,
    today: date,
    *,
    mailer: Mailer,
    now: Clock,
    dry_run: bool = False,
) -> DailyReport:
    """The whole daily job once; safe to run again the same day and to run twice at once."""
    report = DailyReport(today, dry_run=dry_run)
    with Session(engine) as session:
        digests, report.scanned, report.alerts = daily.plan(settings, today, session=session)
        report.digests = digests
        if dry_run:
            return report
        with job_run("daily", today, now, session=session) as run:
            report.planned, report.already = record(
                daily.mailings(digests), settings, now, session=session
            )
            report.sent, report.failed = send_due(mailer, settings, now, session=session)
            run.summary = json.dumps(
                {"digests": len(digests), "sent": report.sent, "failed": len(report.failed)}
            )
    return report


def preview_daily(
    engine: Engine, settings: Settings, today: date, *, mailer: Mailer, now: Clock
) -> DailyReport:
    """Today's digests planned and handed to `mailer`, without the ledger: nothing is recorded,
    so the day's real run still sends each of them (the demo's day). Any MailError stops it."""
    report = run_daily(engine, settings, today, mailer=mailer, now=now, dry_run=True)
    for mailing in daily.mailings(report.digests):
        for index, (address, _) in enumerate(mailing.addresses):
            mailer.send(
                message_to(mailing, index, settings=settings, now=now()),
                sender=settings.mail.sender,
                recipient=address,
                name=message_name(mailing.day, mailing.audience),
            )
            report.sent += 1
    return report


def run_monthly(
    engine: Engine, settings: Settings, month: str, today: date, *, mailer: Mailer, now: Clock
) -> MonthlyReport:
    """Write the month's files under `[cear] folder`/MONTH and mail each Center its own."""
    as_of = month_as_of(month, today)
    first, _ = month_bounds(month)
    offices = {code: route.office for code, route in settings.routing.ports.items()}
    report = MonthlyReport(month, as_of)
    with Session(engine) as session:
        written, centers = export_cear(
            settings.cear.folder / month,
            month,
            as_of,
            settings.alerts.thresholds,
            session=session,
            offices=offices,
            xlsx=settings.cear.xlsx,
        )
        report.files = [str(path) for path, _ in written]
        with job_run("monthly", first, now, session=session) as run:
            report.recorded, _ = record(
                monthly.mailings(centers, month, as_of, settings), settings, now, session=session
            )
            report.sent, report.failed = send_due(mailer, settings, now, session=session)
            run.summary = json.dumps(
                {"files": len(report.files), "sent": report.sent, "failed": len(report.failed)}
            )
    return report


def retry_due(
    engine: Engine, settings: Settings, *, mailer: Mailer, now: Clock
) -> tuple[int, list[str]]:
    """Send what is pending or due for retry, without planning: `serve` runs this between
    daily runs so a failed digest is not left waiting until the next morning."""
    with Session(engine) as session:
        return send_due(mailer, settings, now, session=session)
