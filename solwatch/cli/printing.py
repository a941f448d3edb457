"""How the commands print: the case view, the tables, the import's progress and summaries.

rich is imported by the functions that draw tables and progress bars, so a command that prints
plain lines (`show`) does not load it.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from datetime import date
from typing import TYPE_CHECKING, Any

import click

from solwatch.core.centers import center_label
from solwatch.core.dates import weekday_name

if TYPE_CHECKING:
    from rich.console import Console

    from solwatch.core.steps import Step
    from solwatch.notify.jobs import DailyReport
    from solwatch.notify.ledger import Ack
    from solwatch.notify.status import ServiceStatus
    from solwatch.reports.stats import CenterTotals
    from solwatch.store.assessments import Explained
    from solwatch.store.importer import ImportReport


def stdout_console() -> Console:
    """Standard output; wide when it is a file or pipe, so no case number is ever cut."""
    from rich.console import Console

    console = Console(highlight=False)
    if not console.is_terminal:
        console = Console(highlight=False, width=200)
    return console


def _numbered(title: str, steps: Sequence[Step]) -> None:
    click.echo("")
    click.echo(title)
    for number, step in enumerate(steps, 1):
        click.echo(f"  {number}. {step.text}")
        click.echo(f"     [{step.source}]")


def print_case(row: dict[str, Any], found: Explained, today: date) -> None:
    def show_value(value: Any) -> str:
        return "blank" if value in (None, "") else str(value)

    limit = found.assessment.standing.limitation_date
    echo = click.echo
    echo(f"Case {row['case_number']}  {row['status']}")
    echo(
        f"  {row['case_type']}, statute {show_value(row['statute'])}, culpability "
        f"{show_value(row['culpability'])}"
    )
    echo(f"  importer {show_value(row['importer_name'])} ({show_value(row['importer_number'])})")
    echo(
        f"  Center {center_label(row['center'])}; port {show_value(row['port_code'])}; "
        f"FP&F office {show_value(row['fpf_office'])}"
    )
    echo(f"Rule: {show_value(row['rule'])}")
    if limit is None:
        echo(f"Limitation date: none: {row['missing_field']} is blank")
    else:
        days = row["days_remaining"]
        when = f"{days} days remaining" if days >= 0 else f"passed {-days} days ago"
        echo(
            f"Limitation date: {row['limitation_date']} ({weekday_name(limit)}), file by "
            f"{row['file_by_date']}: {when} as of {today.isoformat()}"
        )
    if row["fallback_limitation_date"]:
        days = row["fallback_days_remaining"]
        when = f"{days} days remaining" if days >= 0 else f"passed {-days} days ago"
        flags = f"; {', '.join(row['fallback_flags'])} on it" if row["fallback_flags"] else ""
        echo(f"Fallback if fraud is not proven: {row['fallback_limitation_date']} ({when}{flags})")
    echo(f"Recorded SOL date: {show_value(row['recorded_sol_date'])}")
    echo(
        f"Entries: {row['entries_total']} ({row['entries_expired']} past the limit, "
        f"${row['entries_expired_loss_amount']} loss of revenue); waivers: {row['waivers']}"
    )
    echo(
        f"Amounts: assessed ${show_value(row['assessed_amount'])}, collected "
        f"${show_value(row['collected_amount'])}, uncollected "
        f"${show_value(row['uncollected_amount'])}"
    )
    echo(f"Alerts: {', '.join(row['alerts']) or 'none'}")
    events = "; ".join(f"{e.event_date.isoformat()} {e.kind}" for e in found.events)
    echo(f"Events: {events or 'none'}")
    for correction in found.corrections:
        state = "in force" if correction.ended_at is None else f"{correction.ended_how}"
        ended = f" by {correction.ended_by}" if correction.ended_at is not None else ""
        conflict = f"; conflict: {correction.conflict}" if correction.conflict else ""
        echo(
            f"Correction ({state}{ended}): {correction.status} on "
            f"{correction.resolved_on.isoformat()}, recorded by {correction.by} on "
            f"{correction.created_at.date().isoformat()}: {correction.reason}{conflict}"
        )
    if found.triage is not None:
        echo(f"Triage: {found.triage.verdict.value}: {found.triage.reason}")
    _numbered("How the date was derived:", found.steps)
    if found.triage is not None:
        _numbered("What the triage rests on:", found.triage.steps)


def print_at_risk(console: Console, rows: list[dict[str, Any]], today: date) -> None:
    from rich.table import Table

    table = Table(
        title=f"At-risk cases as of {today.isoformat()}: {len(rows)}", title_justify="left"
    )
    for title in ("Case", "Center", "Port"):
        table.add_column(title, no_wrap=True)
    table.add_column("Importer", max_width=28)
    for title in ("Rule", "Limit", "File by"):
        table.add_column(title, no_wrap=True)
    table.add_column("Days", justify="right", no_wrap=True)
    table.add_column("Alerts")
    table.add_column("Triage", no_wrap=True)
    table.add_column("Uncollected $", justify="right", no_wrap=True)
    for row in rows:
        days = row["days_remaining"]
        table.add_row(
            row["case_number"],
            row["center"] or "",
            row["port_code"] or "",
            row["importer_name"] or "",
            row["rule"] or "",
            row["limitation_date"] or "-",
            row["file_by_date"] or "-",
            "" if days is None else str(days),
            ", ".join(row["alerts"]),
            row["triage"] or "",
            row["uncollected_amount"] or "",
            style="bold red" if "expired" in row["alerts"] else None,
        )
    console.print(table)


def print_stats(
    console: Console, today: date, centers: dict[str | None, CenterTotals], total: CenterTotals
) -> None:
    from rich.table import Table

    from solwatch.reports.stats import STAT_KEYS, TRIAGE_KEYS

    rows = [*centers.items(), ("Total", total)]
    split = ("expired", "expired_uncollected", *TRIAGE_KEYS)
    for title, keys in (
        (
            f"Open cases by Center as of {today.isoformat()}",
            [k for k in STAT_KEYS if k not in TRIAGE_KEYS],
        ),
        (f"Past the limit, still open, by triage as of {today.isoformat()}", split),
    ):
        table = Table(title=title, title_justify="left")
        table.add_column("Center")
        for key in keys:
            table.add_column(key.replace("expired_", "").replace("_", " "), justify="right")
        for code, totals in rows:
            values = totals.as_dict()
            table.add_row(
                center_label(code) if code != "Total" else "Total",
                *(str(values[key]) for key in keys),
                style="bold" if code == "Total" else None,
            )
        console.print(table)


def print_acks(console: Console, found: Sequence[Ack], *, everything: bool) -> None:
    from rich.table import Table

    table = Table(
        title=f"Acknowledgements{' (all)' if everything else ' in force'}", title_justify="left"
    )
    for title in ("#", "Case", "Kind", "Until", "By", "Reason", "Lifted"):
        table.add_column(title)
    for entry in found:
        table.add_row(
            str(entry.id),
            entry.case_number,
            entry.kind,
            entry.until.isoformat(),
            entry.by,
            entry.reason,
            entry.lifted_at.strftime("%Y-%m-%d") if entry.lifted_at else "",
        )
    console.print(table)


@contextmanager
def import_progress() -> Iterator[tuple[Callable[[str, int, int], None], Callable[[int], None]]]:
    """Progress bars on standard error while an import reads its files and computes dates
    (none when standard error is not a terminal): the import's two progress callbacks."""
    from rich.console import Console
    from rich.progress import BarColumn, Progress, TaskID, TextColumn, TransferSpeedColumn

    err = Console(stderr=True)
    with Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        TransferSpeedColumn(),
        console=err,
        transient=True,
        disable=not err.is_terminal,
    ) as bar:
        tasks: dict[str, TaskID] = {}

        def progress(label: str, done: int, total: int) -> None:
            if label not in tasks:
                tasks[label] = bar.add_task(f"reading {label}", total=total)
            bar.update(tasks[label], completed=done)

        computing = bar.add_task("computing limitation dates", total=None, visible=False)
        yield progress, lambda n: bar.update(computing, advance=n, visible=True)


def print_import(report: ImportReport) -> None:
    """Every problem and every ignored column on standard error, then each file's counts, with
    the stored values its blank cells keep (or, with --blank-clears, clear)."""
    from solwatch.core.triage import CONFIRMED, CONFLICT, PENDING

    for error in report.errors:
        click.echo(str(error), err=True)
    for warning in report.warnings:
        click.echo(
            f"{warning.path}:{warning.line}: warning: {warning.column}: {warning.reason}", err=True
        )
    for file in report.files:
        blank = ""
        if file.blank and report.blank_clears:
            blank = f"; {file.blank} stored values cleared by blank cells"
        elif file.blank:
            blank = (
                f"; {file.blank} stored values kept where cells are blank "
                f"(--blank-clears would clear them)"
            )
        click.echo(
            f"{file.path}: {file.rows} rows: {file.new} new, {file.changed} changed, "
            f"{file.unchanged} unchanged, {file.rejected} rejected{blank}"
        )
    pending = [c.case_number for c in report.corrections if c.outcome == PENDING]
    if pending:
        click.echo(
            f"Status corrections still to be made in the source ({len(pending)}, flagged "
            f"status-correction-pending): {', '.join(pending)}"
        )
    for correction in report.corrections:
        what = f"{correction.status} on {correction.resolved_on.isoformat()}"
        if correction.outcome == CONFIRMED:
            click.echo(
                f"{correction.case_number}: correction to {what} confirmed: {correction.reason}"
            )
        elif correction.outcome == CONFLICT:
            click.echo(
                f"{correction.case_number}: CONFLICT with the correction to {what}: "
                f"{correction.reason}; kept: check the case, then `solwatch unresolve` it or "
                f"have the source corrected"
            )


def print_daily(report: DailyReport) -> None:
    """The run's summary; for a dry run, each digest that would be sent."""
    click.echo(report.summary())
    for digest in report.digests if report.dry_run else ():
        copies = f" (cc {', '.join(digest.cc)})" if digest.cc else ""
        click.echo(
            f"  would send: {digest.audience.name} -> {', '.join(digest.audience.to)}"
            f"{copies}: {digest.case_count} cases, {len(digest.new_reasons)} new"
        )


def _when(stamp: str | None, timezone: str) -> str:
    """An ISO UTC stamp from the status document, shown in the configured time zone."""
    if stamp is None:
        return "-"
    from datetime import datetime
    from zoneinfo import ZoneInfo

    local = datetime.fromisoformat(stamp).astimezone(ZoneInfo(timezone))
    return local.strftime("%Y-%m-%d %H:%M %Z")


def _run_line(job: str, run: dict[str, Any] | None, timezone: str) -> str:
    if run is None:
        return f"Last {job} run: none recorded"
    counts = ", ".join(
        f"{key.replace('_', ' ')} {run[key]}"
        for key in ("digests", "files", "recorded", "sent", "failed", "not_tried", "undelivered")
        if key in run
    )
    outcome = {
        "finished": f"finished {_when(run['finished_at'], timezone)}",
        "failed": f"FAILED: {run['error']}",
        "unfinished": "not finished (running, or stopped without a word)",
    }[run["result"]]
    label = run["day"][:7] if job == "monthly" else run["day"]
    return (
        f"Last {job} run: for {label}, started {_when(run['started_at'], timezone)}, "
        f"{outcome}" + (f"; {counts}" if counts else "")
    )


def print_status(found: ServiceStatus, timezone: str, redact: Callable[[str], str]) -> None:
    """`solwatch status` as text: the verdict and its reasons first, then each part."""
    lines = [f"solwatch status: {'healthy' if found.healthy else 'NOT HEALTHY'}"]
    lines += [f"  - {problem}" for problem in found.problems]
    store = found.store
    schema = (
        f"schema {store.get('schema_revision') or 'none'}"
        + ("" if store.get("schema_current") else f" (current: {store.get('schema_head', '?')})")
        if "schema_head" in store
        else "schema unknown"
    )
    lines.append(f"Store: {store['url']} ({schema})")
    for job in ("daily", "monthly"):
        if job in found.runs:
            lines.append(_run_line(job, found.runs[job], timezone))
    for job, upcoming in found.next_runs.items():
        owed = f"; owed now: {upcoming['owed']}" if upcoming["owed"] else ""
        lines.append(f"Next {job} run: {_when(upcoming['next_at'], timezone)}{owed}")
    scheduler = found.scheduler
    if scheduler.get("holder"):
        age = scheduler["heartbeat_age_seconds"]
        state = "STALE: stopped without releasing the lock" if scheduler["stale"] else "running"
        pid = scheduler.get("advisory_lock_pid")
        held = f"; advisory lock held by server process {pid}" if pid is not None else ""
        lines.append(f"Scheduler: {scheduler['holder']}, heartbeat {age} s ago ({state}){held}")
    elif scheduler:
        lines.append(
            "Scheduler: none holds the lock"
            + (" (one is expected)" if scheduler["expected"] else " (run-daily by cron?)")
        )
    notices = found.notices
    if notices:
        lines.append(
            f"Notices undelivered: {notices['undelivered']} ({notices['failed']} failed, "
            f"{notices['pending']} pending, {notices['sending']} sending)"
        )
        for notice in notices["list"]:
            error = f": {notice['last_error']}" if notice["last_error"] else ""
            lines.append(
                f"  {notice['day']} {notice['address']} ({notice['audience']}): "
                f"{notice['state']}, {notice['attempts']} attempts{error}; next attempt "
                f"{_when(notice['next_attempt_at'], timezone)}"
            )
        if notices["undelivered"] > len(notices["list"]):
            lines.append("  ... the rest: `solwatch notices --state undelivered`")
    imported = found.last_import
    if imported is not None:
        files = ", ".join(f"{file['path']} ({file['rows']} rows)" for file in imported["files"])
        lines.append(
            f"Last import: {_when(imported['started_at'], timezone)}, as of "
            f"{imported['as_of']}: {imported['rows']} rows: {files}"
        )
    elif found.store.get("schema_current"):
        lines.append("Last import: none")
    click.echo(redact("\n".join(lines)))


def print_notices(console: Console, found: Sequence[dict[str, Any]]) -> None:
    """The audit as a table; the cases a notice carried are abbreviated past a few."""
    from rich.table import Table

    table = Table(title=f"Notices: {len(found)}", title_justify="left")
    for title in ("#", "Day", "Job", "To", "Audience", "State", "Tries", "Sent", "Cases", "Error"):
        table.add_column(title, overflow="fold")
    for notice in found:
        cases = notice["cases"]
        shown = ", ".join(cases[:5]) + (f" (+{len(cases) - 5})" if len(cases) > 5 else "")
        table.add_row(
            str(notice["id"]),
            notice["day"],
            notice["job"],
            notice["address"] + (" (cc)" if notice["role"] == "cc" else ""),
            notice["audience"],
            notice["state"],
            str(notice["attempts"]),
            notice["sent_at"] or "",
            shown,
            notice["last_error"] or "",
            style="bold red" if notice["state"] == "failed" else None,
        )
    console.print(table)
