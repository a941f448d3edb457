"""The daily digests: who hears about which case today (planned from the store), and the
message each audience receives."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Iterator
from datetime import date

from jinja2 import Environment
from sqlalchemy import func
from sqlmodel import Session, col, select

from solwatch.config import Settings
from solwatch.core.alerts import AlertKind
from solwatch.core.assessment import Assessment
from solwatch.notify.digests import DIGEST_KINDS, Digest, Policy, Routing, plan_digests
from solwatch.notify.ledger import DAILY, active_acks, last_sent
from solwatch.notify.render import Mailing, render_digest, slug
from solwatch.reports.calendar_export import Deadline, build_calendar
from solwatch.store.assessments import iter_at_risk
from solwatch.store.cases import Case


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


def mailings(digests: Iterable[Digest], env: Environment) -> Iterator[Mailing]:
    """Each digest rendered, to its audience with the escalation copies, carrying its new
    items and listing the rest of its lines; it supersedes the audience's older unsent
    digests."""
    for digest in digests:
        audience = digest.audience
        yield Mailing(
            render_digest(digest, env),
            job=DAILY,
            day=digest.day,
            audience=audience.key,
            audience_name=audience.name,
            addresses=tuple([(a, "to") for a in audience.to] + [(a, "cc") for a in digest.cc]),
            id_prefix=f"{digest.day.isoformat()}.{slug(audience.key)}",
            attachments=tuple(_calendar_attachment(digest)),
            carried={section.key: section.count for section in digest.sections},
            items=digest.new_reasons,
            listed=digest.listed_reasons,
            supersede=True,
        )


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
        if section.key != "fallback"  # the case's own limit is its calendar event
        for line in section.lines
        # A case staff found closed or in suit has no deadline left, whatever the extract says.
        if AlertKind.STATUS_CORRECTION_PENDING not in line.alerts
        and line.limitation_date is not None
        and line.days_remaining is not None
        and 0 <= line.days_remaining <= CALENDAR_WITHIN
    ]
    if not deadlines:
        return []
    name = f"deadlines-{digest.day.isoformat()}.ics"
    return [(name, build_calendar(deadlines, digest.day), "text/calendar")]
