"""The `solwatch` command: each command parses its options, calls the library, prints."""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import IO, Any

import click
from rich.console import Console
from rich.progress import BarColumn, Progress, TaskID, TextColumn, TransferSpeedColumn
from rich.table import Table
from sqlalchemy import Engine
from sqlalchemy.exc import ArgumentError, NoSuchModuleError, SQLAlchemyError
from sqlmodel import Session, col

from solwatch import schema
from solwatch.alerts import AlertKind
from solwatch.assessments import assess_cases, at_risk, iter_at_risk
from solwatch.centers import center_label, normalize_center
from solwatch.config import ConfigError, Settings, load_settings
from solwatch.connection import reason, safe_url, store_failure
from solwatch.dates import parse_date, today_in, weekday_name
from solwatch.explain import explain
from solwatch.exports import write_bytes_file, write_cear_files, write_csv_file
from solwatch.extract import KINDS, ExtractError, kind_of
from solwatch.importer import import_extracts
from solwatch.limitations import compute_limitation
from solwatch.locks import StoreBusy
from solwatch.mailer import Mailer, make_mailer
from solwatch.reports import (
    CASE_FIELDS,
    Assessment,
    assess,
    case_row,
    dollars,
    write_csv,
    write_json_list,
)
from solwatch.stats import STAT_KEYS, tally
from solwatch.store import (
    Case,
    find_record,
    load_facts,
    make_engine,
    mark_all_pending,
    recompute_pending,
)

EXIT_BAD_INPUT = 2
EXIT_JOB_FAILED = 3


def _utc_now() -> datetime:
    return datetime.now(UTC)


class Failure(click.ClickException):
    """Bad usage or bad input: the message goes to stderr and the exit code is 2."""

    exit_code = EXIT_BAD_INPUT

    def show(self, file: IO[Any] | None = None) -> None:
        click.echo(f"solwatch: {self.format_message()}", err=True)


@dataclass
class App:
    config_path: Path | None
    _settings: Settings | None = None
    _engine: Engine | None = None
    out: Console = field(default_factory=lambda: _console())

    @property
    def settings(self) -> Settings:
        if self._settings is None:
            try:
                self._settings = load_settings(self.config_path)
            except ConfigError as error:
                raise Failure(str(error)) from None
        return self._settings

    @property
    def engine(self) -> Engine:
        if self._engine is None:
            url = self.settings.database.url
            try:
                self._engine = make_engine(url)
            except NoSuchModuleError:
                raise Failure(
                    f"{safe_url(url)}: no driver for this database is installed (for "
                    f"PostgreSQL: pip install 'solwatch[postgres]')"
                ) from None
            except (ArgumentError, ValueError):
                raise Failure(f"{safe_url(url)}: not a valid database URL") from None
        return self._engine

    def store_failure(self, error: BaseException) -> str:
        """One line naming the store and the driver's reason: no password, no data."""
        return store_failure(error, self.settings.database.url)

    def close(self) -> None:
        """Close the store's connections: a command leaves none open behind it."""
        if self._engine is not None:
            self._engine.dispose()
            self._engine = None

    def today(self, as_of: str | None) -> date:
        if as_of is None:
            return today_in(self.settings.schedule.timezone)
        try:
            return parse_date(as_of)
        except ValueError as error:
            raise Failure(f"--as-of: {error}") from None

    def require_schema(self) -> None:
        """Stop with a clear message unless the database exists at the current schema."""
        try:
            current = schema.is_current(self.engine)
        except SQLAlchemyError as error:  # any driver error: say which database it was
            raise Failure(self.store_failure(error)) from None
        if not current:
            raise Failure(
                f"the database {self.safe_url} is not initialized or is out of "
                f"date: run `solwatch init` first"
            )

    @contextmanager
    def session(self) -> Iterator[Session]:
        """A session on a database that exists at the current schema."""
        self.require_schema()
        with Session(self.engine) as session:
            yield session

    @property
    def safe_url(self) -> str:
        return safe_url(self.engine.url)

    def mailer(self) -> Mailer:
        """The configured mailer; a missing SMTP password stops with the variable's name."""
        try:
            return make_mailer(self.settings.mail)
        except ConfigError as error:
            raise Failure(str(error)) from None

    @property
    def offices(self) -> dict[str, str]:
        return {code: route.office for code, route in self.settings.routing.ports.items()}


def _console() -> Console:
    """Standard output; wide when it is a file or pipe, so no case number is ever cut."""
    console = Console(highlight=False)
    if not console.is_terminal:
        console = Console(highlight=False, width=200)
    return console


pass_app = click.make_pass_decorator(App)
CENTER = click.option("--center", help="Only this Center (CEE007, 007 or 7).")
AS_OF = click.option(
    "--as-of",
    metavar="YYYY-MM-DD",
    help="The day to assess on (default: today in the configured time zone).",
)


class _Commands(click.Group):
    """solwatch's commands: a store that fails mid-command (a server restart, a lost network)
    ends the command with one line naming the store, exit 2: no traceback, which could carry
    the rows being written."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except StoreBusy as error:
            raise Failure(str(error)) from None
        except SQLAlchemyError as error:
            app = ctx.find_object(App)
            message = (
                app.store_failure(error)
                if app is not None
                else f"the database failed: {reason(error)}"
            )
            raise Failure(message) from None


@click.group(cls=_Commands, context_settings={"help_option_names": ["-h", "--help"]})
@click.option(
    "--config",
    "config_path",
    type=click.Path(path_type=Path, dir_okay=False),
    help="Configuration file (default: $SOLWATCH_CONFIG, else ./solwatch.toml).",
)
@click.version_option(package_name="solwatch")
@click.pass_context
def main(ctx: click.Context, config_path: Path | None) -> None:
    """solwatch: statute-of-limitations watch over CBP penalty cases."""
    ctx.obj = App(config_path)
    ctx.call_on_close(ctx.obj.close)


@main.command()
@pass_app
def init(app: App) -> None:
    """Create or upgrade the database schema and compute any cases not yet computed."""
    try:
        schema.upgrade(app.engine)
    except SQLAlchemyError as error:
        raise Failure(app.store_failure(error)) from None
    with app.session() as session:
        computed = recompute_pending(session=session)
        session.commit()
    click.echo(
        f"Database ready: {app.safe_url}" + (f" ({computed} cases recomputed)" if computed else "")
    )


@main.command()
@pass_app
def recompute(app: App) -> None:
    """Recompute every case's limitation fields (after a rules or holiday change)."""
    with app.session() as session:
        mark_all_pending(session=session)
        computed = recompute_pending(session=session)
        session.commit()
    click.echo(f"Recomputed {computed} cases.")


def _extract_files(paths: tuple[Path, ...], kind: str | None) -> list[tuple[Path, str]]:
    files: list[tuple[Path, str]] = []
    for path in paths:
        if path.is_dir():
            found = [
                (path / f"{name}.csv", name) for name in KINDS if (path / f"{name}.csv").is_file()
            ]
            if not found:
                raise Failure(
                    f"{path}: no cases.csv, entries.csv, waivers.csv, tolling.csv or "
                    f"events.csv in this folder"
                )
            files += found
        elif not path.is_file():
            raise Failure(f"{path}: no such file or folder")
        else:
            try:
                files.append((path, kind or kind_of(path)))
            except ExtractError as error:
                raise Failure(str(error)) from None
    return files


@main.command(name="import")
@click.argument("paths", nargs=-1, required=True, type=click.Path(path_type=Path))
@click.option(
    "--kind", type=click.Choice(KINDS), help="The kind of a single file whose name does not say it."
)
@click.option("--dry-run", is_flag=True, help="Check everything, write nothing.")
@click.option("--skip-invalid", is_flag=True, help="Load the valid rows; needs --rejects.")
@click.option(
    "--rejects",
    type=click.Path(path_type=Path, dir_okay=False),
    help="Where --skip-invalid writes rejected rows, with their reasons.",
)
@AS_OF
@pass_app
def import_(
    app: App,
    paths: tuple[Path, ...],
    kind: str | None,
    dry_run: bool,
    skip_invalid: bool,
    rejects: Path | None,
    as_of: str | None,
) -> None:
    """Load extract CSV files or folders: all of it, or (with errors) none of it."""
    if skip_invalid and rejects is None:
        raise Failure("--skip-invalid needs --rejects FILE, so that no rejected row is lost")
    files = _extract_files(paths, kind)
    today = app.today(as_of)
    err = Console(stderr=True)
    with (
        app.session() as session,
        Progress(
            TextColumn("{task.description}"),
            BarColumn(),
            TransferSpeedColumn(),
            console=err,
            transient=True,
            disable=not err.is_terminal,
        ) as bar,
    ):
        tasks: dict[str, TaskID] = {}

        def progress(label: str, done: int, total: int) -> None:
            if label not in tasks:
                tasks[label] = bar.add_task(f"reading {label}", total=total)
            bar.update(tasks[label], completed=done)

        computing = bar.add_task("computing limitation dates", total=None, visible=False)
        report, rejected = import_extracts(
            files,
            session=session,
            as_of=today,
            now=_utc_now(),
            columns=app.settings.import_.columns,
            status_map=app.settings.import_.status_map,
            dry_run=dry_run,
            skip_invalid=skip_invalid,
            progress=progress,
            computing=lambda n: bar.update(computing, advance=n, visible=True),
            waiting=lambda: click.echo(
                "another import is running on this database: waiting for it to finish", err=True
            ),
        )
    for error in report.errors:
        click.echo(str(error), err=True)
    for file in report.files:
        click.echo(
            f"{file.path}: {file.rows} rows: {file.new} new, {file.changed} changed, "
            f"{file.unchanged} unchanged, {file.rejected} rejected"
        )
    if rejects is not None and skip_invalid and rejected:
        with rejects.open("w", encoding="utf-8-sig", newline="") as handle:
            write_csv(
                handle,
                ("file", "line", "column", "reason", "row"),
                (
                    {
                        "file": error.path,
                        "line": error.line,
                        "column": error.column,
                        "reason": error.reason,
                        "row": ",".join(row.cells),
                    }
                    for error, row in rejected
                ),
            )
        click.echo(f"{len(rejected)} rejected rows written to {rejects}")
    if report.committed:
        click.echo(f"Imported; limitation dates computed for {report.computed} cases.")
    elif dry_run and not report.errors:
        click.echo("Dry run: everything is valid; nothing was written.")
    else:
        count = len(report.errors)
        reason = "dry run" if dry_run else f"{count} problem{'s' if count != 1 else ''}"
        raise Failure(f"nothing was imported ({reason})")


def _center_option(value: str | None) -> str | None:
    if value is None:
        return None
    try:
        return normalize_center(value)
    except ValueError as error:
        raise Failure(f"--center: {error}") from None


@main.command()
@click.argument("case_number")
@AS_OF
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text")
@pass_app
def show(app: App, case_number: str, as_of: str | None, fmt: str) -> None:
    """One case, its limitation date and how it was derived."""
    today = app.today(as_of)
    with app.session() as session:
        found = find_record(case_number, session=session)
        if found is None:
            raise Failure(f"no case {case_number!r}")
        case_id, record = found
        facts = load_facts([case_id], session=session)[case_id]
    limitation = compute_limitation(facts)

    assessment = assess(record, today, app.settings.alerts.thresholds, limitation)
    steps = explain(limitation, assessment.standing, today, assessment.fallback)
    row = case_row(assessment, app.offices)
    if fmt == "json":
        row["explanation"] = [
            {"text": s.text, "source": s.source, "date": s.result.isoformat() if s.result else None}
            for s in steps
        ]
        click.echo(json.dumps(row, indent=2))
        return
    _print_case(row, assessment, today, steps)


def _print_case(row: dict[str, Any], assessment: Assessment, today: date, steps: list[Any]) -> None:
    def show_value(value: Any) -> str:
        return "blank" if value in (None, "") else str(value)

    limit = assessment.standing.limitation_date
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
        echo(f"Fallback if fraud is not proven: {row['fallback_limitation_date']}")
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
    echo("")
    echo("How the date was derived:")
    for number, step in enumerate(steps, 1):
        echo(f"  {number}. {step.text}")
        echo(f"     [{step.source}]")


@main.command(name="at-risk")
@click.option(
    "--within",
    type=click.IntRange(min=0),
    default=365,
    show_default=True,
    help="Days ahead that count as due.",
)
@CENTER
@click.option("--port", help="Only this port code.")
@click.option(
    "--kind",
    "kinds",
    multiple=True,
    type=click.Choice([k.value for k in AlertKind]),
    help="Only cases with this alert (repeatable).",
)
@AS_OF
@click.option("--format", "fmt", type=click.Choice(["table", "csv", "json"]), default="table")
@pass_app
def at_risk_command(
    app: App,
    within: int,
    center: str | None,
    port: str | None,
    kinds: tuple[str, ...],
    as_of: str | None,
    fmt: str,
) -> None:
    """Open cases with any alert, most urgent first."""
    today = app.today(as_of)
    wanted = frozenset(AlertKind(k) for k in kinds) or None
    with app.session() as session:
        found = iter_at_risk(
            today,
            app.settings.alerts.thresholds,
            session=session,
            within=within,
            center=_center_option(center),
            port=port,
            kinds=wanted,
        )
        rows = (case_row(assessment, app.offices) for assessment in found)
        if fmt == "json":
            write_json_list(sys.stdout, rows)
        elif fmt == "csv":
            write_csv(sys.stdout, CASE_FIELDS, rows)
        else:
            _print_table(app.out, list(rows), today)


def _print_table(console: Console, rows: list[dict[str, Any]], today: date) -> None:
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
            row["uncollected_amount"] or "",
            style="bold red" if "expired" in row["alerts"] else None,
        )
    console.print(table)


@main.command()
@AS_OF
@click.option(
    "--from",
    "from_text",
    metavar="YYYY-MM-DD",
    help="Start of the period for lost cases (default: a year before --as-of).",
)
@click.option(
    "--to",
    "to_text",
    metavar="YYYY-MM-DD",
    help="End of the period for lost cases (default: --as-of).",
)
@click.option("--format", "fmt", type=click.Choice(["table", "json"]), default="table")
@pass_app
def stats(
    app: App, as_of: str | None, from_text: str | None, to_text: str | None, fmt: str
) -> None:
    """Per-Center review: open, expired and their dollars, blank and wrong SOL dates, waivers
    on file, due soon, and cases lost (closed after their limit without suit) in a period."""
    from solwatch.dates import add_years

    today = app.today(as_of)
    try:
        end = parse_date(to_text) if to_text else today
        start = parse_date(from_text) if from_text else add_years(end, -1) + timedelta(days=1)
    except ValueError as error:
        raise Failure(f"--from/--to: {error}") from None
    if start > end:
        raise Failure(f"--from {start} is after --to {end}")
    with app.session() as session:
        centers, total = tally(
            assess_cases(today, app.settings.alerts.thresholds, session=session), (start, end)
        )
    if fmt == "json":
        click.echo(
            json.dumps(
                {
                    "as_of": today.isoformat(),
                    "from": start.isoformat(),
                    "to": end.isoformat(),
                    "centers": [
                        {"center": code, **totals.as_dict()} for code, totals in centers.items()
                    ],
                    "total": total.as_dict(),
                },
                indent=2,
            )
        )
        return
    table = Table(title=f"Open cases by Center as of {today.isoformat()}", title_justify="left")
    table.add_column("Center")
    for key in STAT_KEYS:
        table.add_column(key.replace("_", " "), justify="right")
    for code, totals in [*centers.items(), ("Total", total)]:
        values = totals.as_dict()
        table.add_row(
            center_label(code) if code != "Total" else "Total",
            *(str(values[key]) for key in STAT_KEYS),
            style="bold" if code == "Total" else None,
        )
    app.out.print(table)


@main.group()
def export() -> None:
    """Exports for spreadsheets and meetings."""


@export.command(name="cases")
@AS_OF
@click.option(
    "--out",
    type=click.Path(path_type=Path, dir_okay=False),
    help="CSV file to write (default: standard output).",
)
@pass_app
def export_cases(app: App, as_of: str | None, out: Path | None) -> None:
    """Every case with its computed fields, as CSV."""
    today = app.today(as_of)
    with app.session() as session:
        rows = (
            case_row(a, app.offices)
            for a in assess_cases(today, app.settings.alerts.thresholds, session=session)
        )
        if out is None:
            write_csv(sys.stdout, CASE_FIELDS, rows)
            return
        _, count = write_csv_file(out, CASE_FIELDS, rows)
    click.echo(f"{count} cases written to {out}", err=True)


@export.command(name="cear")
@click.option("--month", required=True, metavar="YYYY-MM", help="The month to report.")
@CENTER
@click.option(
    "--out",
    "folder",
    type=click.Path(path_type=Path, file_okay=False),
    default=Path("."),
    show_default=True,
    help="Folder for the CSV files.",
)
@click.option("--xlsx", is_flag=True, help="Also write a typed .xlsx twin of each CSV.")
@AS_OF
@pass_app
def export_cear(
    app: App, month: str, center: str | None, folder: Path, xlsx: bool, as_of: str | None
) -> None:
    """The monthly CEAR files: one CSV per Center with open cases, and a summary."""
    from solwatch.assessments import iter_by_urgency
    from solwatch.cear import month_as_of, month_bounds
    from solwatch.store import waivers_signed_between

    try:
        day = month_as_of(month, app.today(as_of))
        first, last = month_bounds(month)
    except ValueError as error:
        raise Failure(f"--month: {error}") from None
    conditions: list[Any] = [col(Case.is_open).is_(True)]
    code = _center_option(center)
    if center is not None:
        conditions.append(Case.center == code)
    with app.session() as session:
        written, _ = write_cear_files(
            folder,
            month,
            day,
            iter_by_urgency(day, app.settings.alerts.thresholds, session=session, where=conditions),
            offices=app.offices,
            waivers_in_month=waivers_signed_between(first, last, session=session),
            xlsx=xlsx,
        )
    click.echo(f"CEAR files for {month} as of {day.isoformat()}:")
    for path, count in written:
        click.echo(f"  {path} ({count} rows)")


@export.command(name="ics")
@CENTER
@click.option(
    "--within",
    type=click.IntRange(min=0),
    default=365,
    show_default=True,
    help="Limitation dates from today to this many days ahead.",
)
@click.option(
    "--out",
    type=click.Path(path_type=Path, dir_okay=False),
    help="The .ics file to write (default: standard output).",
)
@AS_OF
@pass_app
def export_ics(
    app: App, center: str | None, within: int, out: Path | None, as_of: str | None
) -> None:
    """Open cases' limitation dates as an iCalendar file, with reminders."""
    from solwatch.calendar_export import build_calendar, deadline_of

    today = app.today(as_of)
    horizon = today + timedelta(days=within)
    conditions: list[Any] = [
        col(Case.is_open).is_(True),
        col(Case.last_limitation_date) >= today,
        col(Case.limitation_date) <= horizon,
    ]
    if center is not None:
        conditions.append(Case.center == _center_option(center))
    with app.session() as session:
        assessments = [
            a
            for a in assess_cases(
                today, app.settings.alerts.thresholds, session=session, where=conditions
            )
            if a.standing.limitation_date is not None
            and today <= a.standing.limitation_date <= horizon
        ]
    data = build_calendar(filter(None, map(deadline_of, assessments)), today)
    if out is None:
        sys.stdout.buffer.write(data)
        return
    write_bytes_file(out, data)
    click.echo(f"{len(assessments)} cases written to {out}", err=True)


@main.command(name="run-daily")
@AS_OF
@click.option("--dry-run", is_flag=True, help="Plan and print; record and send nothing.")
@pass_app
def run_daily_command(app: App, as_of: str | None, dry_run: bool) -> None:
    """The daily alert job, once: digests to every Center and FP&F office with news."""
    from solwatch.daily import run_daily

    today = app.today(as_of)
    app.require_schema()
    report = run_daily(
        app.engine, app.settings, today, mailer=app.mailer(), now=_utc_now, dry_run=dry_run
    )
    click.echo(report.summary())
    for digest in report.digests if dry_run else ():
        copies = f" (cc {', '.join(digest.cc)})" if digest.cc else ""
        click.echo(
            f"  would send: {digest.audience.name} -> {', '.join(digest.audience.to)}"
            f"{copies}: {digest.case_count} cases, {len(digest.new_reasons)} new"
        )
    if report.failed:
        sys.exit(EXIT_JOB_FAILED)


@main.command(name="run-monthly")
@click.option("--month", metavar="YYYY-MM", help="The month to report (default: last month).")
@AS_OF
@pass_app
def run_monthly_command(app: App, month: str | None, as_of: str | None) -> None:
    """The monthly CEAR package, once: files kept under [cear] folder, each Center mailed."""
    from solwatch.cear import month_as_of
    from solwatch.monthly import previous_month, run_monthly

    today = app.today(as_of)
    month = month or previous_month(today)
    try:
        month_as_of(month, today)
    except ValueError as error:
        raise Failure(f"--month: {error}") from None
    app.require_schema()
    report = run_monthly(app.engine, app.settings, month, today, mailer=app.mailer(), now=_utc_now)
    click.echo(report.summary())
    if report.failed:
        sys.exit(EXIT_JOB_FAILED)


@main.command()
@click.argument("case_number")
@click.option(
    "--kind",
    required=True,
    type=click.Choice([k.value for k in AlertKind]),
    help="The alert to mute.",
)
@click.option(
    "--until", "until_text", required=True, metavar="YYYY-MM-DD", help="Muted through this day."
)
@click.option("--reason", required=True, help="Why: kept with the acknowledgement.")
@click.option("--by", "who", default=None, help="Who acknowledges (default: $USER).")
@AS_OF
@pass_app
def ack(
    app: App,
    case_number: str,
    kind: str,
    until_text: str,
    reason: str,
    who: str | None,
    as_of: str | None,
) -> None:
    """Mute one alert kind for one case until a day, recording who and why."""
    import os

    from solwatch.ledger import Ack

    today = app.today(as_of)
    try:
        until = parse_date(until_text)
    except ValueError as error:
        raise Failure(f"--until: {error}") from None
    if until < today:
        raise Failure(f"--until: {until} is already past")
    if not reason.strip():
        raise Failure("--reason: say why the alert is muted")
    limit = app.settings.alerts.repeat_expired_days
    if kind == AlertKind.EXPIRED and (until - today).days >= limit:
        raise Failure(
            f"--until: an expired case may be muted for fewer than {limit} days "
            f"(alerts.repeat_expired_days): it must never go silent for longer"
        )
    with app.session() as session:
        if find_record(case_number, session=session) is None:
            raise Failure(f"no case {case_number!r}")
        entry = Ack(
            case_number=case_number,
            kind=kind,
            until=until,
            reason=reason.strip(),
            by=who or os.environ.get("USER") or "unknown",
            created_at=_utc_now(),
        )
        session.add(entry)
        session.commit()
        click.echo(
            f"Acknowledged #{entry.id}: {kind} on {case_number} muted through {until} "
            f"by {entry.by}: {entry.reason}"
        )


@main.command()
@click.option("--all", "show_all", is_flag=True, help="Include lifted and lapsed ones.")
@AS_OF
@pass_app
def acks(app: App, show_all: bool, as_of: str | None) -> None:
    """List acknowledgements (muted alerts)."""
    from sqlmodel import select

    from solwatch.ledger import Ack, active_acks

    today = app.today(as_of)
    with app.session() as session:
        found = (
            list(session.exec(select(Ack).order_by(col(Ack.id))))
            if show_all
            else active_acks(today, session=session)
        )
    table = Table(
        title=f"Acknowledgements{' (all)' if show_all else ' in force'}", title_justify="left"
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
    app.out.print(table)


@main.command()
@click.argument("ack_id", type=int)
@pass_app
def unack(app: App, ack_id: int) -> None:
    """Lift an acknowledgement: the alert is reported again from the next run."""
    from solwatch.ledger import Ack

    with app.session() as session:
        entry = session.get(Ack, ack_id)
        if entry is None or entry.lifted_at is not None:
            raise Failure(f"no acknowledgement #{ack_id} in force")
        entry.lifted_at = _utc_now()
        session.add(entry)
        session.commit()
        click.echo(f"Lifted #{ack_id}: {entry.kind} on {entry.case_number} will be reported again.")


@main.command()
@click.option(
    "--standby",
    is_flag=True,
    help="If another serve holds the database, wait and take over when it stops.",
)
@pass_app
def serve(app: App, standby: bool) -> None:
    """Run the daily job, and the monthly CEAR package on cear_day, until stopped (SIGTERM
    finishes the current run)."""
    from solwatch.daily import retry_due, run_daily
    from solwatch.scheduler import SchedulerBusy
    from solwatch.scheduler import serve as run_scheduler

    settings = app.settings
    app.require_schema()
    mailer = app.mailer()

    def daily() -> None:
        today = today_in(settings.schedule.timezone)
        report = run_daily(app.engine, settings, today, mailer=mailer, now=_utc_now)
        click.echo(report.summary(), err=True)

    def monthly() -> None:
        from solwatch.monthly import previous_month, run_monthly

        today = today_in(settings.schedule.timezone)
        report = run_monthly(
            app.engine, settings, previous_month(today), today, mailer=mailer, now=_utc_now
        )
        click.echo(report.summary(), err=True)

    def retry() -> None:
        sent, failed = retry_due(app.engine, settings, mailer=mailer, now=_utc_now)
        if sent or failed:
            click.echo(f"retried: sent {sent}, failed {len(failed)}", err=True)

    try:
        run_scheduler(
            app.engine,
            daily_at=settings.schedule.daily_at,
            timezone=settings.schedule.timezone,
            run_daily=daily,
            run_monthly=monthly,
            cear_day=settings.schedule.cear_day,
            retry=retry,
            now=_utc_now,
            log=lambda text: click.echo(text, err=True),
            standby=standby,
        )
    except SchedulerBusy as error:
        raise Failure(str(error)) from None


@main.command()
@click.option(
    "--dir",
    "folder",
    type=click.Path(path_type=Path, file_okay=False),
    default=Path("solwatch-demo"),
    show_default=True,
    help="Where to write the sample extract.",
)
@click.option("--cases", "count", type=click.IntRange(min=20), default=300, show_default=True)
@AS_OF
@pass_app
def demo(app: App, folder: Path, count: int, as_of: str | None) -> None:
    """Sample data on the configured database (default: ./solwatch.db), then the at-risk
    table and the stats."""
    from solwatch.demo import write_sample

    today = app.today(as_of)
    write_sample(folder, today=today, count=count)
    click.echo(f"Sample extract of {count} cases written to {folder}/")
    schema.upgrade(app.engine)
    with app.session() as session:
        report, _ = import_extracts(
            _extract_files((folder,), None),
            session=session,
            as_of=today,
            now=_utc_now(),
        )
    if not report.committed:
        for error in report.errors[:20]:
            click.echo(str(error), err=True)
        raise Failure("the sample extract did not import")
    click.echo(f"Imported into {app.safe_url}.")
    with app.session() as session:
        found = at_risk(today, app.settings.alerts.thresholds, session=session, within=90)
        _, total = tally(
            assess_cases(today, app.settings.alerts.thresholds, session=session), (today, today)
        )
    _print_table(app.out, [case_row(a, app.offices) for a in found[:25]], today)
    click.echo(
        f"(first 25 of {len(found)} cases due within 90 days or needing attention; "
        f"see `solwatch at-risk`)"
    )
    from solwatch.daily import run_daily
    from solwatch.mailer import FileMailer

    outbox = app.settings.mail.outbox_dir
    daily = run_daily(app.engine, app.settings, today, mailer=FileMailer(outbox), now=_utc_now)
    click.echo(daily.summary())
    click.echo(f"Digests written to {outbox}/ (open the .eml files in a mail client).")
    click.echo(
        f"Open: {total.open}; expired: {total.expired} "
        f"(${dollars(total.expired_uncollected_cents)} uncollected); blank SOL: "
        f"{total.blank_sol}; due within 90 days: {total.due_90}, within 365: "
        f"{total.due_365}. Per Center: `solwatch stats`."
    )


if __name__ == "__main__":  # pragma: no cover
    main(prog_name="solwatch")
