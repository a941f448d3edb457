"""Status corrections: `resolve` records that a case coded open was closed or in suit, and
`unresolve` undoes it."""

from __future__ import annotations

import os

import click

from solwatch.cli.app import AS_OF, App, Failure, pass_app, utc_now
from solwatch.core.dates import parse_date
from solwatch.core.facts import Status
from solwatch.core.triage import CORRECTED


def _who(name: str | None) -> str:
    return name or os.environ.get("USER") or "unknown"


@click.command()
@click.argument("case_number")
@click.option(
    "--status",
    required=True,
    type=click.Choice([status.value for status in CORRECTED], case_sensitive=False),
    help="What staff found: the case was closed, or suit was filed.",
)
@click.option(
    "--date", "date_text", required=True, metavar="YYYY-MM-DD", help="When it was closed or sued."
)
@click.option("--reason", required=True, help="How it was found: kept in the case's history.")
@click.option("--by", "who", default=None, help="Who records it (default: $USER).")
@AS_OF
@pass_app
def resolve(
    app: App,
    case_number: str,
    status: str,
    date_text: str,
    reason: str,
    who: str | None,
    as_of: str | None,
) -> None:
    """Record that a case the extract codes open was in fact closed or in suit: it leaves the
    open lists, and stays flagged status-correction-pending until the extract says so too."""
    from solwatch.core.refusals import Refused
    from solwatch.store.resolutions import resolve as record

    today = app.today(as_of)
    try:
        on = parse_date(date_text)
    except ValueError as error:
        raise Failure(f"--date: {error}") from None
    with app.session() as session:
        try:
            found = record(
                case_number,
                Status(status.upper()),
                on,
                reason,
                _who(who),
                today=today,
                now=utc_now(),
                session=session,
            )
        except Refused as refused:
            raise Failure(f"--{refused.field}: {refused.reason}") from None
        if found is None:
            raise Failure(f"no case {case_number!r}")
        click.echo(
            f"Resolved {case_number}: {found.status} on {found.resolved_on} by {found.by}: "
            f"{found.reason}. It is off the open lists; until the extract codes it "
            f"{found.status}, it is flagged status-correction-pending."
        )


@click.command()
@click.argument("case_number")
@click.option("--reason", default="", help="Why the correction is undone: kept in the history.")
@click.option("--by", "who", default=None, help="Who undoes it (default: $USER).")
@pass_app
def unresolve(app: App, case_number: str, reason: str, who: str | None) -> None:
    """Undo a case's status correction: it is watched again as the extract codes it."""
    from solwatch.core.refusals import Refused
    from solwatch.store.resolutions import unresolve as undo

    with app.session() as session:
        try:
            found = undo(case_number, reason, _who(who), now=utc_now(), session=session)
        except Refused as refused:
            raise Failure(refused.reason) from None
        if found is None:
            raise Failure(f"no case {case_number!r}")
        click.echo(
            f"Unresolved {case_number}: the correction to {found.status} on {found.resolved_on} "
            f"is undone; the case is watched again as the extract codes it."
        )
