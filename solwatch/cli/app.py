"""What every command shares: the settings, the store and the clock, read once at the edge;
the options several commands take; and how bad usage or bad input is reported."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path
from typing import IO, Any

import click
from rich.console import Console
from sqlalchemy import Engine
from sqlmodel import Session

from solwatch.cli.printing import stdout_console
from solwatch.config import ConfigError, Settings, load_settings
from solwatch.core.centers import normalize_center
from solwatch.core.dates import parse_date
from solwatch.notify.mailer import Mailer, make_mailer
from solwatch.store import schema
from solwatch.store.cases import make_engine
from solwatch.store.locks import StoreBusy, wait_for_writers, waiting_message

EXIT_BAD_INPUT = 2
EXIT_JOB_FAILED = 3


def utc_now() -> datetime:
    return datetime.now(UTC)


def today_in(timezone: str) -> date:
    """Today's date in `timezone` (an IANA name); the one place the clock is read for dates."""
    from zoneinfo import ZoneInfo

    return datetime.now(ZoneInfo(timezone)).date()


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
    out: Console = field(default_factory=lambda: stdout_console())

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
            self._engine = make_engine(self.settings.database.url)
        return self._engine

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
        except Exception as error:  # any driver error: say which database it was
            raise Failure(f"cannot open the database {self.safe_url}: {error}") from None
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
        return self.engine.url.render_as_string(hide_password=True)

    def wait_for_writers(self) -> None:
        """Before a job writes: wait, saying so, while another import holds the store."""
        wait = self.settings.database.lock_wait_seconds
        try:
            wait_for_writers(
                self.engine,
                wait_seconds=wait,
                waiting=lambda: click.echo(f"solwatch: {waiting_message(wait)}", err=True),
            )
        except StoreBusy as error:
            raise Failure(f"nothing was recorded or sent: {error}") from None

    def mailer(self) -> Mailer:
        """The configured mailer; a missing SMTP password stops with the variable's name."""
        try:
            return make_mailer(self.settings.mail)
        except ConfigError as error:
            raise Failure(str(error)) from None

    @property
    def offices(self) -> dict[str, str]:
        return {code: route.office for code, route in self.settings.routing.ports.items()}


pass_app = click.make_pass_decorator(App)
CENTER = click.option("--center", help="Only this Center (CEE007, 007 or 7).")
AS_OF = click.option(
    "--as-of",
    metavar="YYYY-MM-DD",
    help="The day to assess on (default: today in the configured time zone).",
)


def center_option(value: str | None) -> str | None:
    if value is None:
        return None
    try:
        return normalize_center(value)
    except ValueError as error:
        raise Failure(f"--center: {error}") from None


def centers_option(value: str | None) -> tuple[str | None, ...]:
    """`--center` as the Centers to keep: every one (no Center named) when it is not given."""
    return () if value is None else (center_option(value),)


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
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
