"""The mail jobs: `run-daily` and `run-monthly` once, or `serve` them on schedule.

A run started by hand retries every undelivered notice at once (the backoff paces only
`serve`), names what is still undelivered, and exits 3 while any notice of its day is.
"""

from __future__ import annotations

import sys

import click

from solwatch.cli.app import (
    AS_OF,
    EXIT_JOB_FAILED,
    App,
    Failure,
    JobFailed,
    pass_app,
    utc_now,
)
from solwatch.cli.printing import print_daily


@click.command(name="run-daily")
@AS_OF
@click.option("--dry-run", is_flag=True, help="Plan and print; record and send nothing.")
@pass_app
def run_daily_command(app: App, as_of: str | None, dry_run: bool) -> None:
    """The daily alert job, once: digests to every Center and FP&F office with news, and
    every undelivered notice tried again now. Exits 3 while any notice of the day is
    undelivered."""
    from sqlalchemy.exc import SQLAlchemyError

    from solwatch.notify.jobs import run_daily
    from solwatch.notify.render import TemplateProblem

    today = app.today(as_of)
    app.require_schema()
    if not dry_run:
        app.wait_for_imports()
    mailer = app.mailer()
    try:
        report = run_daily(
            app.engine,
            app.settings,
            today,
            mailer=mailer,
            now=utc_now,
            dry_run=dry_run,
            retry_now=True,
        )
    except TemplateProblem as error:
        raise Failure(f"mail template: {error}") from None
    except SQLAlchemyError as error:
        raise JobFailed(f"the daily job failed: {app.store_failure(error)}") from None
    print_daily(report)
    if not report.delivered:
        sys.exit(EXIT_JOB_FAILED)


@click.command(name="run-monthly")
@click.option("--month", metavar="YYYY-MM", help="The month to report (default: last month).")
@AS_OF
@pass_app
def run_monthly_command(app: App, month: str | None, as_of: str | None) -> None:
    """The monthly CEAR package, once: files kept under [cear] folder, each Center mailed,
    every undelivered notice tried again now. Exits 3 while any of the month's messages is
    undelivered."""
    from sqlalchemy.exc import SQLAlchemyError

    from solwatch.notify.jobs import run_monthly
    from solwatch.notify.monthly import previous_month
    from solwatch.notify.render import TemplateProblem
    from solwatch.reports.cear import month_as_of

    today = app.today(as_of)
    month = month or previous_month(today)
    try:
        month_as_of(month, today)
    except ValueError as error:
        raise Failure(f"--month: {error}") from None
    app.require_schema()
    app.wait_for_imports()
    mailer = app.mailer()
    try:
        report = run_monthly(
            app.engine,
            app.settings,
            month,
            today,
            mailer=mailer,
            now=utc_now,
            retry_now=True,
        )
    except TemplateProblem as error:
        raise Failure(f"mail template: {error}") from None
    except SQLAlchemyError as error:
        raise JobFailed(f"the monthly package failed: {app.store_failure(error)}") from None
    except OSError as error:
        where = error.filename or app.settings.cear.folder
        raise JobFailed(
            f"the monthly package failed: cannot write {where}: {error.strerror or error}"
        ) from None
    click.echo(report.summary())
    if not report.delivered:
        sys.exit(EXIT_JOB_FAILED)


@click.command()
@click.option(
    "--standby",
    is_flag=True,
    help="If another serve holds the database, wait and take over when it stops.",
)
@click.option(
    "--log-format",
    type=click.Choice(["text", "json"]),
    default="text",
    show_default=True,
    help="One line per event on standard error: text, or one JSON object per line.",
)
@pass_app
def serve(app: App, standby: bool, log_format: str) -> None:
    """Run the daily job, and the monthly CEAR package on cear_day, until stopped (SIGTERM
    finishes the current run). A failed or missed run is tried again every retry_minutes."""
    from solwatch.notify.events import EventLog
    from solwatch.notify.scheduler import SchedulerBusy, run_jobs

    app.require_schema()
    log = EventLog(sys.stderr, json_lines=log_format == "json", redact=app.redact)
    try:
        run_jobs(
            app.engine,
            app.settings,
            mailer=app.mailer(),
            now=utc_now,
            log=log,
            standby=standby,
        )
    except SchedulerBusy as error:
        raise Failure(str(error)) from None
