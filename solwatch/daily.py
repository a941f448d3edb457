"""The daily alert job: plan today's digests, record them in the ledger, send what is due.

Order matters for "never lost, never twice": a digest is recorded (with its rendered message)
before any send; a send is claimed with a conditional UPDATE and marked when it completes; a
claim left behind by a crash is retried later, so a crash can at worst repeat one digest.
"""

from __future__ import annotations

import json
import re
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime

from sqlalchemy import Engine, func, update
from sqlmodel import Session, col, select

from solwatch.alerts import AlertKind
from solwatch.assessments import iter_at_risk
from solwatch.calendar_export import Deadline, build_calendar
from solwatch.config import Settings
from solwatch.digests import DIGEST_KINDS, Digest, Policy, Routing, plan_digests
from solwatch.ledger import (
    FAILED,
    NOTICE_KEY,
    PENDING,
    SENDING,
    SENT,
    SUPERSEDED,
    Notice,
    NoticeItem,
    active_acks,
    backoff,
    claim,
    job_run,
    last_sent,
)
from solwatch.mailer import Mailer, MailError
from solwatch.render import Rendered, build_message, render_digest, template_env
from solwatch.reports import Assessment
from solwatch.store import Case, insert_new

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


def routing_of(settings: Settings) -> Routing:
    routing = settings.routing
    return Routing(
        centers={code: route.to for code, route in routing.centers.items()},
        ports={code: (route.office, route.to) for code, route in routing.ports.items()},
        fallback=routing.fallback,
        escalation=routing.escalation,
    )


def policy_of(settings: Settings) -> Policy:
    alerts = settings.alerts
    return Policy(alerts.ladder, alerts.repeat_expired_days, alerts.escalate_within_days)


def plan(
    settings: Settings, today: date, *, session: Session
) -> tuple[list[Digest], int, Counter[str]]:
    """Today's digests, the number of open cases, and alerts by kind (acknowledged ones
    excluded)."""
    thresholds = settings.alerts.thresholds
    muted: dict[str, set[AlertKind]] = {}
    for ack in active_acks(today, session=session):
        muted.setdefault(ack.case_number, set()).add(AlertKind(ack.kind))
    counted: Counter[str] = Counter()

    def counting() -> Iterator[Assessment]:
        for assessment in iter_at_risk(
            today,
            thresholds,
            session=session,
            within=max(settings.alerts.ladder),
            kinds=DIGEST_KINDS,
        ):
            quiet = muted.get(assessment.record.case_number, set())
            counted.update(
                a.value for a in assessment.alerts if a in DIGEST_KINDS and a not in quiet
            )
            yield assessment

    digests = plan_digests(
        counting(),
        today=today,
        routing=routing_of(settings),
        policy=policy_of(settings),
        sent=last_sent(today, session=session),
        muted={number: frozenset(kinds) for number, kinds in muted.items()},
    )
    scanned = session.exec(
        select(func.count()).select_from(Case).where(col(Case.is_open).is_(True))
    ).one()
    return digests, scanned, counted


def slug(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9]+", "-", text).strip("-").lower()


def record_notices(
    rendered: Rendered,
    *,
    day: date,
    audience: str,
    audience_name: str,
    addresses: Sequence[tuple[str, str]],
    id_prefix: str,
    attachments: Sequence[tuple[str, bytes, str]],
    carried: dict[str, int],
    items: Sequence[tuple[str, str]] = (),
    supersede: bool = False,
    settings: Settings,
    now: datetime,
    session: Session,
) -> bool:
    """Record one message as notices, one per (address, role), with the (case number, reason)
    items it carries, in one transaction. False if it was recorded already (by an earlier or a
    concurrent run). With `supersede`, older unsent notices to the audience are superseded:
    this message carries their news."""
    connection = session.connection()
    for index, (address, role) in enumerate(addresses):
        notice = Notice(
            day=day,
            audience=audience,
            address=address,
            role=role,
            subject=rendered.subject,
            message=build_message(
                rendered,
                sender=settings.mail.sender,
                to=address,
                audience=audience_name,
                message_id=f"<{id_prefix}.{index}@solwatch>",
                when=now,
                attachments=attachments,
            ),
            carried=json.dumps(carried),
            created_at=now,
            next_attempt_at=now,
        )
        row = notice.model_dump(exclude={"id"})
        if not insert_new(connection, Notice.__table__, row, NOTICE_KEY):  # type: ignore[attr-defined]
            session.rollback()
            return False
    for number, reason in items:
        session.add(
            NoticeItem(day=day, audience=audience, case_number=number, reason=reason, new=True)
        )
    if supersede:
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
    digests: list[Digest], settings: Settings, now: datetime, *, session: Session
) -> tuple[int, int]:
    """Write each digest's notices and new items; returns how many notices were recorded and
    how many digests had been recorded already."""
    env = template_env()
    recorded = already = 0
    for digest in digests:
        audience = digest.audience
        addresses = [(a, "to") for a in audience.to] + [(a, "cc") for a in digest.cc]
        if record_notices(
            render_digest(digest, env),
            day=digest.day,
            audience=audience.key,
            audience_name=audience.name,
            addresses=addresses,
            id_prefix=f"{digest.day.isoformat()}.{slug(audience.key)}",
            attachments=_calendar_attachment(digest),
            carried={section.key: section.count for section in digest.sections},
            items=digest.new_reasons,
            supersede=True,
            settings=settings,
            now=now,
            session=session,
        ):
            recorded += len(addresses)
        else:
            already += 1
    return recorded, already


CALENDAR_WITHIN = 90


def _calendar_attachment(digest: Digest) -> list[tuple[str, bytes, str]]:
    """An .ics of the digest's cases whose limit falls in the next CALENDAR_WITHIN days, so the
    last stretch is in people's calendars; none when there are no such cases."""
    deadlines = [
        Deadline(
            line.case_number,
            line.importer_name,
            line.center,
            line.port_code,
            line.rule,
            line.limitation_date,
            line.uncollected_cents,
        )
        for section in digest.sections
        for line in section.lines
        if line.limitation_date is not None
        and line.days_remaining is not None
        and 0 <= line.days_remaining <= CALENDAR_WITHIN
    ]
    if not deadlines:
        return []
    name = f"deadlines-{digest.day.isoformat()}.ics"
    return [(name, build_calendar(deadlines, digest.day), "text/calendar")]


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
                name=f"{notice.day.isoformat()}-{slug(notice.audience)}",
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
        digests, report.scanned, report.alerts = plan(settings, today, session=session)
        report.digests = digests
        if dry_run:
            return report
        with job_run("daily", today, now, session=session) as run:
            report.planned, report.already = record(digests, settings, now(), session=session)
            report.sent, report.failed = send_due(mailer, settings, now, session=session)
            run.summary = json.dumps(
                {"digests": len(digests), "sent": report.sent, "failed": len(report.failed)}
            )
    return report


def retry_due(
    engine: Engine, settings: Settings, *, mailer: Mailer, now: Clock
) -> tuple[int, list[str]]:
    """Send what is pending or due for retry, without planning: `serve` runs this between
    daily runs so a failed digest is not left waiting until the next morning."""
    with Session(engine) as session:
        return send_due(mailer, settings, now, session=session)
