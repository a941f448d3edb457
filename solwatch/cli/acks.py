"""Acknowledgements: `ack` mutes one alert of one case for a while, `acks` lists them, `unack`
lifts one."""

from __future__ import annotations

import os

import click

from solwatch.cli.app import AS_OF, App, Failure, pass_app, utc_now
from solwatch.cli.printing import print_acks
from solwatch.core.alerts import AlertKind
from solwatch.core.dates import parse_date


@click.command()
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
    from solwatch.core.refusals import Refused
    from solwatch.notify.acks import acknowledge, check

    today = app.today(as_of)
    try:
        until = parse_date(until_text)
    except ValueError as error:
        raise Failure(f"--until: {error}") from None
    try:
        check(
            kind, until, reason, today, repeat_expired_days=app.settings.alerts.repeat_expired_days
        )
    except Refused as refused:
        raise Failure(f"--{refused.field}: {refused.reason}") from None
    with app.session() as session:
        entry = acknowledge(
            case_number,
            kind,
            until,
            reason,
            who or os.environ.get("USER") or "unknown",
            now=utc_now(),
            session=session,
        )
        if entry is None:
            raise Failure(f"no case {case_number!r}")
        click.echo(
            f"Acknowledged #{entry.id}: {kind} on {case_number} muted through {until} "
            f"by {entry.by}: {entry.reason}"
        )


@click.command()
@click.option("--all", "show_all", is_flag=True, help="Include lifted and lapsed ones.")
@AS_OF
@pass_app
def acks(app: App, show_all: bool, as_of: str | None) -> None:
    """List acknowledgements (muted alerts)."""
    from solwatch.notify.acks import listed

    today = app.today(as_of)
    with app.session() as session:
        found = listed(today, everything=show_all, session=session)
    print_acks(app.out, found, everything=show_all)


@click.command()
@click.argument("ack_id", type=click.IntRange(min=1, max=2**63 - 1))
@pass_app
def unack(app: App, ack_id: int) -> None:
    """Lift an acknowledgement: the alert is reported again from the next run."""
    from solwatch.notify.acks import lift

    with app.session() as session:
        entry = lift(ack_id, now=utc_now(), session=session)
        if entry is None:
            raise Failure(f"no acknowledgement #{ack_id} in force")
        click.echo(f"Lifted #{ack_id}: {entry.kind} on {entry.case_number} will be reported again.")
