"""The monthly CEAR package: each Center's CSV and summary, kept on disk and mailed.

Same guarantees as the daily digests: the messages are recorded in the notices ledger before
any send (one per Center mailbox per month), claimed before sending, retried on failure, and a
rerun sends nothing twice.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from datetime import date

from jinja2 import Environment

from solwatch.config import Settings
from solwatch.core.centers import center_label
from solwatch.notify.ledger import MONTHLY
from solwatch.notify.render import Mailing, render_monthly, slug
from solwatch.reports.cear import NO_CENTER, CenterSummary, month_bounds
from solwatch.reports.cear import chart as limits_chart

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def previous_month(today: date) -> str:
    year, month = (today.year - 1, 12) if today.month == 1 else (today.year, today.month - 1)
    return f"{year:04d}-{month:02d}"


def _recipients(key: str, settings: Settings) -> tuple[str, ...]:
    """A Center's mailboxes; cases with no Center (or none configured) go to the fallback."""
    route = settings.routing.centers.get(key)
    return (route.to if route else ()) or settings.routing.fallback


def mailings(
    centers: Mapping[str, CenterSummary],
    month: str,
    as_of: date,
    settings: Settings,
    env: Environment,
) -> Iterator[Mailing]:
    """Each Center's message for `month`, with its files from `[cear] folder`/MONTH attached."""
    first, _ = month_bounds(month)
    for key, summary in centers.items():
        csv_file = settings.cear.folder / month / f"cear-{month}-{key}.csv"
        filename = csv_file.name
        attachments = [(filename, csv_file.read_bytes(), "text/csv")]
        if settings.cear.xlsx:
            workbook = csv_file.with_suffix(".xlsx")
            attachments.append((workbook.name, workbook.read_bytes(), XLSX))
        chart = limits_chart(summary, as_of)
        name = "Cases without a Center" if key == NO_CENTER else center_label(key)
        rendered = render_monthly(
            "cear",
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
        yield Mailing(
            rendered,
            job=MONTHLY,
            day=first,
            audience=f"cear:{key}",
            audience_name=name,
            addresses=tuple(addresses),
            id_prefix=f"cear.{month}.{slug(key)}",
            attachments=tuple(attachments),
            carried={"open": summary.open, "expired": summary.expired},
            listed=tuple((number, "cear") for number in summary.case_numbers),
        )
