"""Commands on cases: `import` an extract, `show` one case, list those `at-risk`."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from solwatch.cli.app import AS_OF, CENTER, App, Failure, center_option, pass_app, utc_now
from solwatch.core.alerts import AlertKind
from solwatch.core.dates import MAX_DAYS
from solwatch.store.extract import KINDS

if TYPE_CHECKING:
    from solwatch.store.resolutions import Resolution


@click.command(name="import")
@click.argument("paths", nargs=-1, required=True, type=click.Path(path_type=Path))
@click.option(
    "--kind", type=click.Choice(KINDS), help="The kind of a single file whose name does not say it."
)
@click.option("--dry-run", is_flag=True, help="Check everything, write nothing.")
@click.option("--skip-invalid", is_flag=True, help="Load the valid rows; needs --rejects.")
@click.option(
    "--rejects",
    type=click.Path(path_type=Path, dir_okay=False),
    help="Where --skip-invalid writes rejected rows (the extract's header plus a reason).",
)
@click.option(
    "--blank-clears",
    is_flag=True,
    help="A blank cell clears the stored value (by default it keeps it).",
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
    blank_clears: bool,
    as_of: str | None,
) -> None:
    """Load extract CSV files or folders: all of it, or (with errors) none of it."""
    from solwatch.cli.printing import import_progress, print_import
    from solwatch.reports.exports import OutputError, RejectFiles
    from solwatch.store.extract import extract_files
    from solwatch.store.importer import import_extracts, ordered
    from solwatch.store.locks import StoreBusy

    if skip_invalid and rejects is None:
        raise Failure("--skip-invalid needs --rejects FILE, so that no rejected row is lost")
    try:
        files = ordered(extract_files(paths, kind))
    except ValueError as error:
        raise Failure(str(error)) from None
    today = app.today(as_of)
    keeper = None
    if rejects is not None and skip_invalid and not dry_run:
        try:
            keeper = RejectFiles(rejects, [path for path, _ in files])
        except OutputError as error:
            raise Failure(f"--rejects {error}") from None
        except OSError as error:
            raise Failure(f"--rejects {rejects}: cannot write there: {error.strerror}") from None
    try:
        with app.session() as session, import_progress() as (progress, computing):
            report, _ = import_extracts(
                files,
                session=session,
                as_of=today,
                now=utc_now(),
                columns=app.settings.import_.columns,
                status_map=app.settings.import_.status_map,
                dry_run=dry_run,
                skip_invalid=skip_invalid,
                blank_clears=blank_clears,
                progress=progress,
                computing=computing,
                lock_wait_seconds=app.settings.database.lock_wait_seconds,
                waiting=app.waiting,
                keep_rejects=keeper.write if keeper else None,
            )
    except StoreBusy as error:
        raise Failure(f"nothing was imported: {error}") from None
    except OutputError as error:
        if keeper is not None:
            keeper.discard()
        raise Failure(f"nothing was imported: --rejects {error}") from None
    except BaseException:
        if keeper is not None:
            keeper.discard()
        raise
    if keeper is not None:
        keeper.commit()
    print_import(report)
    for path, count in keeper.written if keeper else ():
        click.echo(f"{count} rejected row{'s' if count != 1 else ''} written to {path}")
    if report.committed:
        click.echo(f"Imported; limitation dates computed for {report.computed} cases.")
    elif dry_run and not report.errors:
        click.echo("Dry run: everything is valid; nothing was written.")
    else:
        count = len(report.errors)
        reason = "dry run" if dry_run else f"{count} problem{'s' if count != 1 else ''}"
        raise Failure(f"nothing was imported ({reason})")


@click.command()
@click.argument("case_number")
@AS_OF
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text")
@pass_app
def show(app: App, case_number: str, as_of: str | None, fmt: str) -> None:
    """One case, its limitation date and how it was derived."""
    from solwatch.cli.printing import print_case
    from solwatch.reports.rows import case_row, step_rows
    from solwatch.store.assessments import explain_case

    today = app.today(as_of)
    with app.session() as session:
        found = explain_case(case_number, today, app.settings.alerts.thresholds, session=session)
    if found is None:
        raise Failure(f"no case {case_number!r}")
    row = case_row(found.assessment, app.offices)
    if fmt == "json":
        row["explanation"] = step_rows(found.steps)
        row["triage_facts"] = step_rows(found.triage.steps if found.triage else ())
        row["events"] = [{"date": e.event_date.isoformat(), "kind": e.kind} for e in found.events]
        row["corrections"] = [_correction(c) for c in found.corrections]
        click.echo(json.dumps(row, indent=2))
        return
    print_case(row, found, today)


def _correction(resolution: Resolution) -> dict[str, Any]:
    """A status correction in `show --format json`: what, when, who, why, and how it ended."""
    ended = resolution.ended_at
    return {
        "status": resolution.status,
        "date": resolution.resolved_on.isoformat(),
        "reason": resolution.reason,
        "by": resolution.by,
        "recorded_at": resolution.created_at.isoformat(),
        "in_force": ended is None,
        "conflict": resolution.conflict,
        "ended_at": ended.isoformat() if ended else None,
        "ended_how": resolution.ended_how,
        "ended_by": resolution.ended_by,
        "end_reason": resolution.end_reason,
    }


@click.command(name="at-risk")
@click.option(
    "--within",
    type=click.IntRange(min=0, max=MAX_DAYS),
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
    from solwatch.cli.printing import print_at_risk
    from solwatch.reports.rows import CASE_FIELDS, case_row, write_csv, write_json_list
    from solwatch.store.assessments import iter_at_risk

    today = app.today(as_of)
    wanted = frozenset(AlertKind(k) for k in kinds) or None
    with app.session() as session:
        found = iter_at_risk(
            today,
            app.settings.alerts.thresholds,
            session=session,
            within=within,
            center=center_option(center),
            port=port,
            kinds=wanted,
        )
        rows = (case_row(assessment, app.offices) for assessment in found)
        if fmt == "json":
            write_json_list(sys.stdout, rows)
        elif fmt == "csv":
            write_csv(sys.stdout, CASE_FIELDS, rows)
        else:
            print_at_risk(app.out, list(rows), today)
