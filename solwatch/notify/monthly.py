"""The monthly CEAR package: each Center's CSV and summary, kept on disk and mailed.

Same guarantees as the daily digests: the messages are recorded in the notices ledger before
any send (one per Center mailbox per month), claimed before sending, retried on failure, and a
rerun sends nothing twice.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import date

from sqlalchemy import Engine
from sqlmodel import Session, col

from solwatch.config import Settings
from solwatch.core.centers import center_label
from solwatch.notify.jobs import Clock, record_notices, routing_of, send_due, slug
from solwatch.notify.ledger import job_run
from solwatch.notify.mailer import Mailer
from solwatch.notify.render import render_cear, template_env
from solwatch.reports.cear import NO_CENTER, CenterSummary, month_as_of, month_bounds
from solwatch.reports.cear import chart as limits_chart
from solwatch.reports.exports import write_cear_files
from solwatch.store.cases import Case, waivers_signed_between

JOB = "monthly"
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def previous_month(today: date) -> str:
    year, month = (today.year - 1, 12) if today.month == 1 else (today.year, today.month - 1)
    return f"{year:04d}-{month:02d}"


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


def _recipients(key: str, settings: Settings) -> tuple[str, ...]:
    """A Center's mailboxes; cases with no Center (or none configured) go to the fallback."""
    centers = routing_of(settings).centers
    return centers.get(key) or settings.routing.fallback


def run_monthly(
    engine: Engine, settings: Settings, month: str, today: date, *, mailer: Mailer, now: Clock
) -> MonthlyReport:
    """Write the month's files under `[cear] folder`/MONTH and mail each Center its own."""
    from solwatch.store.assessments import iter_by_urgency

    as_of = month_as_of(month, today)
    first, last = month_bounds(month)
    offices = {code: route.office for code, route in settings.routing.ports.items()}
    report = MonthlyReport(month, as_of)
    with Session(engine) as session:
        written, centers = write_cear_files(
            settings.cear.folder / month,
            month,
            as_of,
            iter_by_urgency(
                as_of,
                settings.alerts.thresholds,
                session=session,
                where=[col(Case.is_open).is_(True)],
            ),
            offices=offices,
            waivers_in_month=waivers_signed_between(first, last, session=session),
            xlsx=settings.cear.xlsx,
        )
        report.files = [str(path) for path, _ in written]
        with job_run(JOB, first, now, session=session) as run:
            report.recorded = _record(centers, month, as_of, first, settings, now, session=session)
            report.sent, report.failed = send_due(mailer, settings, now, session=session)
            run.summary = json.dumps(
                {"files": len(report.files), "sent": report.sent, "failed": len(report.failed)}
            )
    return report


def _record(
    centers: dict[str, CenterSummary],
    month: str,
    as_of: date,
    first: date,
    settings: Settings,
    now: Clock,
    *,
    session: Session,
) -> int:
    env = template_env()
    recorded = 0
    for key, summary in centers.items():
        csv_file = settings.cear.folder / month / f"cear-{month}-{key}.csv"
        filename = csv_file.name
        attachments = [(filename, csv_file.read_bytes(), "text/csv")]
        if settings.cear.xlsx:
            workbook = csv_file.with_suffix(".xlsx")
            attachments.append((workbook.name, workbook.read_bytes(), XLSX))
        chart = limits_chart(summary, as_of)
        name = "Cases without a Center" if key == NO_CENTER else center_label(key)
        rendered = render_cear(
            {
                "center_name": name,
                "month": month,
                "as_of": as_of,
                "summary": summary,
                "chart": chart,
                "chart_max": max([count for _, count in chart] + [1]),
                "filename": filename,
                "referral_days": settings.alerts.cear_referral_days,
            },
            env,
        )
        addresses = [(address, "to") for address in _recipients(key, settings)]
        if record_notices(
            rendered,
            day=first,
            audience=f"cear:{key}",
            audience_name=name,
            addresses=addresses,
            id_prefix=f"cear.{month}.{slug(key)}",
            attachments=attachments,
            carried={"open": summary.open, "expired": summary.expired},
            settings=settings,
            now=now(),
            session=session,
        ):
            recorded += len(addresses)
    return recorded
