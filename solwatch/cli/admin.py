"""Looking after the store: `init` or upgrade it, `recompute` every case, load the `demo`."""

from __future__ import annotations

from pathlib import Path

import click

from solwatch.cli.app import AS_OF, App, Failure, pass_app, utc_now


@click.command()
@pass_app
def init(app: App) -> None:
    """Create or upgrade the database schema and compute any cases not yet computed."""
    from sqlalchemy.exc import SQLAlchemyError

    from solwatch.store import schema

    try:
        schema.upgrade(app.engine)
    except SQLAlchemyError as error:
        raise Failure(app.store_failure(error)) from None
    app.require_schema()
    computed = schema.recompute(app.engine, now=utc_now())
    click.echo(
        f"Database ready: {app.safe_url}" + (f" ({computed} cases recomputed)" if computed else "")
    )


@click.command()
@pass_app
def recompute(app: App) -> None:
    """Recompute every case's limitation fields (after a rules or holiday change)."""
    from solwatch.store import schema

    app.require_schema()
    computed = schema.recompute(app.engine, now=utc_now(), everything=True)
    click.echo(f"Recomputed {computed} cases.")


@click.command()
@click.option(
    "--dir",
    "folder",
    type=click.Path(path_type=Path, file_okay=False),
    default=Path("solwatch-demo"),
    show_default=True,
    help="Where to write the sample extract, and the day's digests (in outbox/).",
)
@click.option("--cases", "count", type=click.IntRange(min=20), default=300, show_default=True)
@click.option(
    "--force",
    is_flag=True,
    help="Load the sample even into a store that holds other data (sample cases may replace "
    "real ones with the same number).",
)
@AS_OF
@pass_app
def demo(app: App, folder: Path, count: int, as_of: str | None, force: bool) -> None:
    """Sample data on the configured database (default: ./solwatch.db), then the at-risk
    table, the stats, and the day's digests as .eml files beside the sample; never on a store
    that holds other data (unless --force), never into the mail ledger."""
    from solwatch.cli.printing import print_at_risk
    from solwatch.core.money import dollars
    from solwatch.demo import demo_day, import_sample, other_data, write_sample
    from solwatch.reports.rows import case_row

    today = app.today(as_of)
    held = other_data(app.engine)
    if held and not force:
        raise Failure(
            f"the database {app.safe_url} holds {held}: the demo would mix its sample with "
            f"them and may replace cases with the same number. Point it at another database "
            f"(--config, or $SOLWATCH_DATABASE_URL), or pass --force"
        )
    try:
        corrections = write_sample(folder, today=today, count=count)
    except OSError as error:
        raise Failure(f"cannot write the sample in {folder}: {error.strerror or error}") from None
    click.echo(f"Sample extract of {count} cases written to {folder}/")
    report = import_sample(app.engine, folder, today=today, now=utc_now(), corrections=corrections)
    if not report.committed:
        for problem in report.errors[:20]:
            click.echo(str(problem), err=True)
        raise Failure("the sample extract did not import")
    click.echo(f"Imported into {app.safe_url}.")
    day = demo_day(app.engine, app.settings, today, folder, now=utc_now)
    print_at_risk(app.out, [case_row(a, app.offices) for a in day.at_risk[:25]], today)
    click.echo(
        f"(first 25 of {len(day.at_risk)} cases due within 90 days or needing attention; "
        f"see `solwatch at-risk`)"
    )
    click.echo(
        f"{day.daily.sent} digests for {len(day.daily.digests)} audiences written to "
        f"{day.outbox}/ (open the .eml files in a mail client). Nothing was recorded or sent: "
        f"`solwatch run-daily` still sends today's digests."
    )
    total = day.total
    click.echo(
        f"Open: {total.open}; expired: {total.expired} "
        f"(${dollars(total.expired_uncollected_cents)} uncollected); blank SOL: "
        f"{total.blank_sol}; due within 90 days: {total.due_90}, within 365: "
        f"{total.due_365}. Per Center: `solwatch stats`."
    )
    split = total.triage
    click.echo(
        f"Past the limit, by triage: {split.likely_lost} likely lost "
        f"(${dollars(split.likely_lost_cents)}), {split.likely_miscoded} likely mis-coded "
        f"(${dollars(split.likely_miscoded_cents)}), {split.unknown} unknown; "
        f"{split.status_correction_pending} corrected by staff and still coded open in the "
        f"extract (status-correction-pending). See `solwatch show CASE`."
    )
