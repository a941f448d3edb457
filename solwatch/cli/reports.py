"""Commands that report: `stats` per Center, and the `export` files (cases, CEAR, calendar)."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import click

from solwatch.cli.app import AS_OF, CENTER, App, Failure, centers_option, pass_app
from solwatch.core.dates import MAX_DAYS, parse_date


@click.command()
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
    from solwatch.cli.printing import print_stats
    from solwatch.reports.stats import lost_period, stats_document, tally
    from solwatch.store.assessments import assess_cases

    today = app.today(as_of)
    try:
        end = parse_date(to_text) if to_text else None
        start = parse_date(from_text) if from_text else None
    except ValueError as error:
        raise Failure(f"--from/--to: {error}") from None
    start, end = lost_period(today, start, end)
    if start > end:
        raise Failure(f"--from {start} is after --to {end}")
    with app.session() as session:
        centers, total = tally(
            assess_cases(today, app.settings.alerts.thresholds, session=session), (start, end)
        )
    if fmt == "json":
        click.echo(json.dumps(stats_document(today, (start, end), centers, total), indent=2))
        return
    print_stats(app.out, today, centers, total)


@click.group()
def export() -> None:
    """Exports for spreadsheets and meetings."""


def output_option(out: Path | None) -> Path | None:
    """`--out` as a file to write, checked before any work; None for standard output (no
    `--out`, or `-`)."""
    from solwatch.reports.exports import OutputError, output_path

    if out is None or str(out) == "-":
        return None
    try:
        output_path(out)
    except OutputError as error:
        raise Failure(f"--out {error}") from None
    return out


def written_to(out: Path, error: OSError) -> Failure:
    return Failure(f"cannot write {out}: {error.strerror or error}; nothing was written")


@export.command(name="cases")
@AS_OF
@click.option(
    "--out",
    type=click.Path(path_type=Path, dir_okay=False, allow_dash=True),
    help="CSV file to write (default, or -: standard output).",
)
@pass_app
def export_cases(app: App, as_of: str | None, out: Path | None) -> None:
    """Every case with its computed fields, as CSV."""
    from solwatch.reports import exports
    from solwatch.reports.case_lines import write_case_lines

    today = app.today(as_of)
    out = output_option(out)
    thresholds = app.settings.alerts.thresholds
    with app.session() as session:
        if out is None:
            write_case_lines(sys.stdout, today, thresholds, session=session, offices=app.offices)
            return
        try:
            count = exports.export_cases(
                out, today, thresholds, session=session, offices=app.offices
            )
        except OSError as error:
            raise written_to(out, error) from None
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
@click.option(
    "--fpf",
    is_flag=True,
    help="Also each FP&F office's SOL report (fpf-YYYY-MM-<office>.csv), as run-monthly mails.",
)
@AS_OF
@pass_app
def export_cear_command(
    app: App,
    month: str,
    center: str | None,
    folder: Path,
    xlsx: bool,
    fpf: bool,
    as_of: str | None,
) -> None:
    """The monthly CEAR files: one CSV per Center with open cases, and a summary; with --fpf,
    each FP&F office's SOL report too."""
    from solwatch.notify.monthly import fpf_offices_of
    from solwatch.reports.cear import month_as_of
    from solwatch.reports.exports import OutputError, export_cear, output_folder

    try:
        day = month_as_of(month, app.today(as_of))
    except ValueError as error:
        raise Failure(f"--month: {error}") from None
    if fpf and center is not None:
        raise Failure("--fpf reports cover every Center: it cannot be combined with --center")
    centers = centers_option(center)
    try:
        output_folder(folder)
    except OutputError as error:
        raise Failure(f"--out {error}") from None
    with app.session() as session:
        try:
            written = export_cear(
                folder,
                month,
                day,
                app.settings.alerts.thresholds,
                session=session,
                offices=app.offices,
                centers=centers,
                xlsx=xlsx,
                fpf=fpf_offices_of(app.settings) if fpf else (),
            )
        except OutputError as error:
            raise Failure(f"--out {error}") from None
        except OSError as error:
            raise Failure(
                f"cannot write in {folder}: {error.strerror or error}; each file there is whole "
                f"or was not written"
            ) from None
    click.echo(f"CEAR files for {month} as of {day.isoformat()}:")
    for path, count in written.written:
        click.echo(f"  {path} ({count} rows)")


@export.command(name="ics")
@CENTER
@click.option(
    "--within",
    type=click.IntRange(min=0, max=MAX_DAYS),
    default=365,
    show_default=True,
    help="Limitation dates from today to this many days ahead.",
)
@click.option(
    "--out",
    type=click.Path(path_type=Path, dir_okay=False, allow_dash=True),
    help="The .ics file to write (default, or -: standard output).",
)
@AS_OF
@pass_app
def export_ics(
    app: App, center: str | None, within: int, out: Path | None, as_of: str | None
) -> None:
    """Open cases' limitation dates as an iCalendar file, with reminders."""
    from solwatch.reports.calendar_export import calendar_of
    from solwatch.reports.exports import write_bytes_file
    from solwatch.store.assessments import limits_within

    today = app.today(as_of)
    centers = centers_option(center)
    out = output_option(out)
    with app.session() as session:
        assessments = limits_within(
            today, within, app.settings.alerts.thresholds, session=session, centers=centers
        )
    data = calendar_of(assessments, today)
    if out is None:
        sys.stdout.buffer.write(data)
        return
    try:
        write_bytes_file(out, data)
    except OSError as error:
        raise written_to(out, error) from None
    click.echo(f"{len(assessments)} cases written to {out}", err=True)
