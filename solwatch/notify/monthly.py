"""The monthly package: each Center's CEAR CSV and summary, and each FP&F office's SOL
report, kept on disk and mailed.

Same guarantees as the daily digests: the messages are recorded in the notices ledger before
any send (one per mailbox per month), claimed before sending, retried on failure, and a rerun
sends nothing twice.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from datetime import date
from pathlib import Path
from typing import Any

from jinja2 import Environment

from solwatch.config import Settings
from solwatch.core.centers import center_label
from solwatch.notify.ledger import MONTHLY
from solwatch.notify.render import Mailing, render_monthly, slug
from solwatch.reports.cear import NO_CENTER, CenterSummary, FpfOffice, fpf_offices, month_bounds
from solwatch.reports.cear import chart as limits_chart

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def previous_month(today: date) -> str:
    year, month = (today.year - 1, 12) if today.month == 1 else (today.year, today.month - 1)
    return f"{year:04d}-{month:02d}"


def fpf_offices_of(settings: Settings) -> list[FpfOffice]:
    """The FP&F offices configured under `[routing.ports]`, each with its ports."""
    return fpf_offices(
        {code: (route.office, route.to) for code, route in settings.routing.ports.items()}
    )


def _recipients(key: str, settings: Settings) -> tuple[str, ...]:
    """A Center's mailboxes; cases with no Center (or none configured) go to the fallback."""
    route = settings.routing.centers.get(key)
    return (route.to if route else ()) or settings.routing.fallback


def _attachments(csv_file: Path, settings: Settings) -> tuple[tuple[str, bytes, str], ...]:
    """A month's CSV, and its workbook twin unless `[cear] xlsx = false`."""
    attachments = [(csv_file.name, csv_file.read_bytes(), "text/csv")]
    if settings.cear.xlsx:
        workbook = csv_file.with_suffix(".xlsx")
        attachments.append((workbook.name, workbook.read_bytes(), XLSX))
    return tuple(attachments)


def _context(
    summary: CenterSummary, month: str, as_of: date, filename: str, **more: Any
) -> dict[str, Any]:
    chart = limits_chart(summary, as_of)
    return {
        "month": month,
        "as_of": as_of,
        "summary": summary,
        "chart": chart,
        "chart_max": max([count for _, count in chart] + [1]),
        "filename": filename,
        **more,
    }


def _mailing(
    rendered: Any,
    *,
    day: date,
    audience: str,
    name: str,
    to: Sequence[str],
    id_prefix: str,
    attachments: tuple[tuple[str, bytes, str], ...],
    summary: CenterSummary,
    reason: str,
) -> Mailing:
    return Mailing(
        rendered,
        job=MONTHLY,
        day=day,
        audience=audience,
        audience_name=name,
        addresses=tuple((address, "to") for address in to),
        id_prefix=id_prefix,
        attachments=attachments,
        carried={"open": summary.open, "expired": summary.expired},
        listed=tuple((number, reason) for number in summary.case_numbers),
    )


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
        name = "Cases without a Center" if key == NO_CENTER else center_label(key)
        context = _context(
            summary,
            month,
            as_of,
            csv_file.name,
            center_name=name,
            referral_days=settings.alerts.cear_referral_days,
        )
        yield _mailing(
            render_monthly("cear", context, env),
            day=first,
            audience=f"cear:{key}",
            name=name,
            to=_recipients(key, settings),
            id_prefix=f"cear.{month}.{slug(key)}",
            attachments=_attachments(csv_file, settings),
            summary=summary,
            reason="cear",
        )


def office_mailings(
    offices: Sequence[FpfOffice],
    summaries: Mapping[str, CenterSummary],
    month: str,
    as_of: date,
    settings: Settings,
    env: Environment,
) -> Iterator[Mailing]:
    """Each FP&F office's SOL report for `month`: its ports' open cases, its file attached, to
    its mailboxes (the fallback's when none is configured, so the report reaches someone)."""
    first, _ = month_bounds(month)
    for office in offices:
        summary = summaries[office.key]
        csv_file = settings.cear.folder / month / f"fpf-{month}-{office.key}.csv"
        context = _context(
            summary, month, as_of, csv_file.name, office=office.name, ports=office.ports
        )
        yield _mailing(
            render_monthly("fpf", context, env),
            day=first,
            audience=f"fpf:{office.name}",
            name=office.name,
            to=office.to or settings.routing.fallback,
            id_prefix=f"fpf.{month}.{office.key}",
            attachments=_attachments(csv_file, settings),
            summary=summary,
            reason="fpf-report",
        )
