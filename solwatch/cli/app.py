"""What every command shares: the settings, the store and the clock, read once at the edge;
the options several commands take; and how bad usage or bad input is reported.

The command modules import the heavy libraries (the ORM, templates, spreadsheets, mail, the
scheduler, rich) inside the commands that use them, so `solwatch --help` and the quick
commands start fast (bench/startup.py measures it; tests/cli/test_startup.py keeps it so).
"""

from __future__ import annotations

import errno
import os
import sys
import traceback
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any

import click

from solwatch.core.centers import normalize_center
from solwatch.core.dates import parse_date

if TYPE_CHECKING:
    from rich.console import Console
    from sqlalchemy import Engine
    from sqlmodel import Session

    from solwatch.config import Settings
    from solwatch.notify.mailer import Mailer

EXIT_UNEXPECTED = 1
EXIT_BAD_INPUT = 2
EXIT_JOB_FAILED = 3
# The days `--as-of` may name: the earliest date an extract may hold, and far enough ahead for
# any "what if" while every date computed from it stays inside the calendar.
AS_OF_RANGE = (date(1950, 1, 1), date(2199, 12, 31))


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


class JobFailed(Failure):
    """A job that started and could not finish: exit code 3."""

    exit_code = EXIT_JOB_FAILED


class Unexpected(Failure):
    """The last resort: what failed, in one line (no traceback without --debug), exit 1."""

    exit_code = EXIT_UNEXPECTED


class Silent(Failure):
    """An exit that has nothing more to say (standard output closed, a traceback shown)."""

    exit_code = EXIT_UNEXPECTED

    def show(self, file: IO[Any] | None = None) -> None:
        pass


@dataclass
class App:
    config_path: Path | None
    debug: bool = False
    _settings: Settings | None = None
    _engine: Engine | None = None
    _out: Console | None = None

    @property
    def settings(self) -> Settings:
        if self._settings is None:
            from solwatch.config import ConfigError, load_settings

            try:
                self._settings = load_settings(self.config_path)
            except ConfigError as error:
                raise Failure(str(error)) from None
        return self._settings

    @property
    def engine(self) -> Engine:
        if self._engine is None:
            from sqlalchemy.exc import ArgumentError, NoSuchModuleError

            from solwatch.store.cases import make_engine
            from solwatch.store.connection import check_database_url, safe_url

            url = self.settings.database.url
            try:
                self._engine = make_engine(url)
            except (ArgumentError, NoSuchModuleError, ValueError):  # checked in config already
                problem = check_database_url(url) or "not a database URL"
                raise Failure(f"{safe_url(url)}: {problem}") from None
        return self._engine

    def store_failure(self, error: BaseException, doing: str = "cannot use") -> str:
        """One line naming the store and the driver's reason: no secret, no data."""
        from solwatch.store.connection import store_failure

        return store_failure(error, self.settings.database.url, doing)

    def close(self) -> None:
        """Close the store's connections: a command leaves none open behind it."""
        if self._engine is not None:
            self._engine.dispose()
            self._engine = None

    @property
    def out(self) -> Console:
        """Standard output for tables (rich)."""
        if self._out is None:
            from solwatch.cli.printing import stdout_console

            self._out = stdout_console()
        return self._out

    def today(self, as_of: str | None) -> date:
        if as_of is None:
            return today_in(self.settings.schedule.timezone)
        try:
            day = parse_date(as_of)
        except ValueError as error:
            raise Failure(f"--as-of: {error}") from None
        first, last = AS_OF_RANGE
        if not first <= day <= last:
            raise Failure(f"--as-of: {as_of} is not a day from {first} to {last}")
        return day

    def require_schema(self) -> None:
        """Stop with a clear message unless the database exists at the current schema."""
        from sqlalchemy.exc import SQLAlchemyError

        from solwatch.store import schema

        try:
            current = schema.is_current(self.engine)
        except SQLAlchemyError as error:  # any driver error: say which database it was
            raise Failure(self.store_failure(error, "cannot open")) from None
        if not current:
            raise Failure(
                f"the database {self.safe_url} is not initialized or is out of "
                f"date: run `solwatch init` first"
            )

    @contextmanager
    def session(self) -> Iterator[Session]:
        """A session on a database that exists at the current schema."""
        from sqlmodel import Session

        self.require_schema()
        with Session(self.engine) as session:
            yield session

    @property
    def safe_url(self) -> str:
        """The database URL with its password and any secret query parameter masked."""
        from solwatch.store.connection import database_url, safe_url

        return safe_url(database_url(self.settings.database.url))

    def redact(self, text: str) -> str:
        """`text` with every secret solwatch knows (the SMTP password, the database URL's
        password or secret parameters) masked."""
        from solwatch.config import ConfigError
        from solwatch.notify.events import Redactor
        from solwatch.store.connection import url_secrets

        try:
            password = self.settings.mail.smtp.password()
        except ConfigError:
            password = None
        return Redactor([password, *url_secrets(self.settings.database.url)])(text)

    def waiting(self) -> None:
        """Say, once, that another import holds the store and for how long solwatch waits."""
        from solwatch.store.locks import waiting_message

        wait = self.settings.database.lock_wait_seconds
        click.echo(f"solwatch: {waiting_message(wait)}", err=True)

    def wait_for_imports(self) -> None:
        """Before a job writes: wait, saying so, while an import holds the store."""
        from solwatch.store.locks import StoreBusy, wait_for_imports

        wait = self.settings.database.lock_wait_seconds
        try:
            wait_for_imports(self.engine, wait_seconds=wait, waiting=self.waiting)
        except StoreBusy as error:
            raise Failure(f"nothing was recorded or sent: {error}") from None

    def mailer(self) -> Mailer:
        """The configured mailer; a missing SMTP password stops with the variable's name."""
        from solwatch.config import ConfigError
        from solwatch.notify.mailer import make_mailer

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


# Failures of the machine rather than of solwatch: said in one line, exit 2.
ENVIRONMENT_ERRORS = frozenset(
    {errno.ENOSPC, errno.EDQUOT, errno.EROFS, errno.EACCES, errno.EPERM, errno.EIO, errno.EFBIG}
)


def _silence_stdout() -> None:
    """Point standard output at /dev/null, so that the interpreter's last flush of what could
    not be written raises nothing more."""
    try:
        descriptor = sys.stdout.fileno()
    except (OSError, ValueError):  # not a file (a test's capture): nothing will be flushed
        return
    null = os.open(os.devnull, os.O_WRONLY)
    os.dup2(null, descriptor)
    os.close(null)


def explain(ctx: click.Context, error: Exception) -> Failure:
    """What to say for an exception a command let through: a store or machine failure in one
    line (exit 2), naming the store (a server restart, a lost network: no traceback, which
    could carry the rows being written); anything else, the last resort: one line naming what
    failed, or with --debug the traceback (exit 1). Never a secret."""
    app = ctx.find_object(App) or App(None)
    command = ctx.invoked_subcommand or "the command"
    store = _store_failure(ctx, error)
    if store is not None:
        return Failure(store)
    if isinstance(error, OSError) and error.errno in ENVIRONMENT_ERRORS:
        where = error.filename
        if where is None:
            where = "standard output"
            _silence_stdout()
        return Failure(app.redact(f"cannot write {where}: {error.strerror}"))
    if app.debug:
        click.echo(app.redact("".join(traceback.format_exception(error))), err=True, nl=False)
        return Silent("")
    what = f"{type(error).__name__}: {error}".splitlines()[0]
    return Unexpected(
        app.redact(f"{command} failed unexpectedly ({what}); rerun with --debug for the traceback")
    )


class Guarded(click.Group):
    """The command group, with a guard around every command: any exception it lets through
    becomes one line (see explain). It is the last resort, not how commands report problems:
    they raise Failure themselves."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            result = super().invoke(ctx)
            sys.stdout.flush()  # a full disk or a closed pipe, while solwatch can still say so
            return result
        except (click.ClickException, click.exceptions.Exit, click.exceptions.Abort):
            raise
        except BrokenPipeError:  # the reader has gone (`| head`): click ends quietly, exit 1
            raise
        except Exception as error:
            raise explain(ctx, error) from None


def _store_failure(ctx: click.Context, error: Exception) -> str | None:
    """The one line for a store that failed, or None if `error` is not the store's. The store
    modules are imported here, on failure, so that a command that never touches the store
    does not load them; if it never loaded them, the error cannot be the store's."""
    if "sqlalchemy" not in sys.modules:
        return None
    from sqlalchemy.exc import SQLAlchemyError

    from solwatch.store.connection import reason
    from solwatch.store.locks import StoreBusy

    if isinstance(error, StoreBusy):
        return str(error)
    if not isinstance(error, SQLAlchemyError):
        return None
    app = ctx.find_object(App)
    if app is None or app._settings is None:
        return f"the database failed: {reason(error)}"
    return app.redact(app.store_failure(error))


@click.group(cls=Guarded, context_settings={"help_option_names": ["-h", "--help"]})
@click.option(
    "--config",
    "config_path",
    type=click.Path(path_type=Path, dir_okay=False),
    help="Configuration file (default: $SOLWATCH_CONFIG, else ./solwatch.toml).",
)
@click.option("--debug", is_flag=True, help="Show the traceback of an unexpected failure.")
@click.version_option(package_name="solwatch")
@click.pass_context
def main(ctx: click.Context, config_path: Path | None, debug: bool) -> None:
    """solwatch: statute-of-limitations watch over CBP penalty cases."""
    ctx.obj = App(config_path, debug=debug)
    ctx.call_on_close(ctx.obj.close)
