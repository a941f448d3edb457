"""Watching the service: `status` for monitoring (exit 0 healthy, 3 not), `notices` for the
audit of what was mailed, to whom, when, for which cases, and why it failed."""

from __future__ import annotations

import json
import sys

import click

from solwatch.cli.app import EXIT_JOB_FAILED, App, Failure, pass_app, utc_now
from solwatch.core.dates import parse_date

STATES = {
    "sent": ("sent",),
    "failed": ("failed",),
    "pending": ("pending",),
    "sending": ("sending",),
    "superseded": ("superseded",),
    "undelivered": ("pending", "sending", "failed"),
}


@click.command()
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text")
@click.option(
    "--expect-serve",
    is_flag=True,
    help="A `solwatch serve` should be running: unhealthy when none holds the lock.",
)
@pass_app
def status(app: App, fmt: str, expect_serve: bool) -> None:
    """Is the service healthy? The schema, the last and next runs, the scheduler's heartbeat,
    undelivered notices, the last import. Exits 0 when healthy, 3 when not."""
    from solwatch.cli.printing import print_status
    from solwatch.notify.status import service_status

    found = service_status(lambda: app.engine, app.settings, utc_now(), expect_serve=expect_serve)
    if fmt == "json":
        from solwatch.notify.events import redact_values

        click.echo(json.dumps(redact_values(found.document(), app.redact), indent=2))
    else:
        print_status(found, app.settings.schedule.timezone, app.redact)
    if not found.healthy:
        sys.exit(EXIT_JOB_FAILED)


@click.command()
@click.option("--date", "on", metavar="YYYY-MM-DD", help="Only the notices of this day.")
@click.option("--from", "from_text", metavar="YYYY-MM-DD", help="From this day on.")
@click.option(
    "--to",
    "to_values",
    multiple=True,
    metavar="YYYY-MM-DD|ADDRESS",
    help="A day: up to this day. An address (with @): only notices to it. May be given twice.",
)
@click.option(
    "--state",
    type=click.Choice(list(STATES)),
    help="Only notices in this state (undelivered: pending, sending or failed).",
)
@click.option("--address", metavar="ADDRESS", help="Only notices to this address (as --to).")
@click.option("--case", "case_number", metavar="CASE", help="Only notices that carried this case.")
@click.option("--format", "fmt", type=click.Choice(["table", "csv", "json"]), default="table")
@pass_app
def notices(
    app: App,
    on: str | None,
    from_text: str | None,
    to_values: tuple[str, ...],
    state: str | None,
    address: str | None,
    case_number: str | None,
    fmt: str,
) -> None:
    """The audit of what was mailed: to whom, when, which cases, why it failed. A monthly
    package's day is the first day of its month."""
    from solwatch.cli.printing import print_notices
    from solwatch.notify.ledger import NOTICE_FIELDS, find_notices
    from solwatch.reports.rows import write_csv, write_json_list

    addresses = {value for value in to_values if "@" in value}
    days = [value for value in to_values if "@" not in value]
    if address is not None:
        addresses.add(address)
    if len(addresses) > 1 or len(days) > 1:
        raise Failure("--to: give at most one day and one address")
    to_text = days[0] if days else None
    address = addresses.pop() if addresses else None
    if on is not None and (from_text or to_text):
        raise Failure("--date cannot be combined with --from or --to")
    start, end = on or from_text, on or to_text
    try:
        first = parse_date(start) if start else None
        last = parse_date(end) if end else None
    except ValueError as error:
        raise Failure(f"--date/--from/--to: {error}") from None
    if first and last and first > last:
        raise Failure(f"--from {first} is after --to {last}")
    with app.session() as session:
        found = find_notices(
            session=session,
            first=first,
            last=last,
            states=STATES[state] if state else (),
            address=address,
            case_number=case_number,
        )
    if fmt == "json":
        write_json_list(sys.stdout, found)
    elif fmt == "csv":
        write_csv(sys.stdout, NOTICE_FIELDS, found)
    else:
        print_notices(app.out, found)
