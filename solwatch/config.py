"""Settings: one frozen, typed object loaded from TOML at the program's edge.

Unknown keys and bad values stop the program with a message naming the key. Secrets are never
read from the file: `[mail.smtp] password_env` names the environment variable that holds one.
"""

from __future__ import annotations

import os
import re
import tomllib
from pathlib import Path
from typing import Annotated, Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, ValidationError, field_validator

from solwatch.core.alerts import Thresholds
from solwatch.core.centers import CENTERS, PUBLISHED_MAILBOXES, SPECIAL
from solwatch.core.dates import MAX_DAYS
from solwatch.core.facts import Status

CONFIG_ENV = "SOLWATCH_CONFIG"
DATABASE_ENV = "SOLWATCH_DATABASE_URL"
DEFAULT_CONFIG_FILE = "solwatch.toml"

_ADDRESS = re.compile(r"[^@\s<>,;]+@[^@\s<>,;]+")


class ConfigError(Exception):
    """A configuration file or value that cannot be used; the message names the key."""


def _as_list(value: Any) -> Any:
    return [value] if isinstance(value, str) else value


def _check_address(value: str) -> str:
    if not _ADDRESS.fullmatch(value):
        raise ValueError(f"not an email address: {value!r}")
    return value


Address = Annotated[str, BeforeValidator(lambda v: _check_address(v) if isinstance(v, str) else v)]
Addresses = Annotated[tuple[Address, ...], BeforeValidator(_as_list)]


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)


class DatabaseSettings(_Section):
    url: str = "sqlite:///solwatch.db"
    # How long an import, or a job, waits for another import to finish writing.
    lock_wait_seconds: float = Field(900.0, gt=0, le=86400)

    @field_validator("url")
    @classmethod
    def _usable(cls, value: str) -> str:
        from solwatch.store.connection import check_database_url

        problem = check_database_url(value)
        if problem:
            raise ValueError(problem)
        return value


class SmtpSettings(_Section):
    host: str = "localhost"
    port: int = Field(587, ge=1, le=65535)
    security: Literal["starttls", "tls", "none"] = "starttls"
    username: str | None = None
    password_env: str | None = None
    timeout_seconds: float = Field(30.0, gt=0)

    def password(self) -> str | None:
        """The SMTP password from the environment variable `password_env`, if set."""
        if self.password_env is None:
            return None
        value = os.environ.get(self.password_env)
        if value is None:
            raise ConfigError(
                f"mail.smtp.password_env: environment variable {self.password_env} is not set"
            )
        return value


class MailSettings(_Section):
    transport: Literal["file", "smtp"] = "file"
    sender: Address = Field("solwatch@localhost", alias="from")
    outbox_dir: Path = Path("outbox")
    # An agency's own versions of any of the mail templates; the packaged ones fill in the rest.
    templates_dir: Path | None = None
    smtp: SmtpSettings = SmtpSettings()

    @field_validator("templates_dir")
    @classmethod
    def _a_folder(cls, value: Path | None) -> Path | None:
        if value is not None and not value.is_dir():
            raise ValueError(f"not a folder: {str(value)!r}")
        return value


class ScheduleSettings(_Section):
    timezone: str = "America/New_York"
    daily_at: str = "06:00"
    cear_day: int = Field(1, ge=1, le=28)
    # How often `serve` retries: a run that failed or was missed, and notices due for retry.
    retry_minutes: float = Field(5.0, gt=0, le=24 * 60)

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"unknown time zone {value!r}") from None
        return value

    @field_validator("daily_at")
    @classmethod
    def _clock_time(cls, value: str) -> str:
        match = re.fullmatch(r"(\d{1,2}):(\d{2})", value)
        if not match or int(match.group(1)) > 23 or int(match.group(2)) > 59:
            raise ValueError(f"expected HH:MM (24-hour), got {value!r}")
        return value


class CearSettings(_Section):
    folder: Path = Path("cear")
    xlsx: bool = True


class AlertSettings(_Section):
    ladder: tuple[int, ...] = (730, 365, 180, 90, 60, 30, 14, 7, 1)
    escalate_within_days: int = Field(30, ge=0, le=MAX_DAYS)
    repeat_expired_days: int = Field(7, ge=1, le=MAX_DAYS)
    request_waiver_days: int = Field(730, ge=0, le=MAX_DAYS)
    prepenalty_short_days: int = Field(365, ge=0, le=MAX_DAYS)
    cear_referral_days: int = Field(90, ge=1, le=MAX_DAYS)

    @field_validator("ladder")
    @classmethod
    def _rungs(cls, value: tuple[int, ...]) -> tuple[int, ...]:
        if not value or any(not 0 <= rung <= MAX_DAYS for rung in value):
            raise ValueError(f"needs at least one rung, each a day count from 0 to {MAX_DAYS}")
        return tuple(sorted(set(value), reverse=True))

    @property
    def thresholds(self) -> Thresholds:
        return Thresholds(
            ladder=self.ladder,
            request_waiver_days=self.request_waiver_days,
            prepenalty_short_days=self.prepenalty_short_days,
            cear_referral_days=self.cear_referral_days,
        )


class CenterRoute(_Section):
    to: Addresses


class PortRoute(_Section):
    office: str
    to: Addresses = ()


def _published() -> dict[str, CenterRoute]:
    return {code: CenterRoute(to=boxes) for code, boxes in PUBLISHED_MAILBOXES.items()}


class RoutingSettings(_Section):
    fallback: Addresses = ("solwatch-unrouted@localhost",)
    escalation: Addresses = ()
    centers: dict[str, CenterRoute] = Field(default_factory=_published)
    ports: dict[str, PortRoute] = Field(default_factory=dict)

    @field_validator("fallback")
    @classmethod
    def _someone(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        if not value:
            raise ValueError("needs at least one address: unrouted cases must reach someone")
        return value

    @field_validator("centers")
    @classmethod
    def _center_codes(cls, value: dict[str, CenterRoute]) -> dict[str, CenterRoute]:
        for code in value:
            if code not in CENTERS and code not in SPECIAL:
                raise ValueError(
                    f"unknown Center {code!r} (expected CEE001 to CEE010, NOTELG or PNDING)"
                )
        return {**_published(), **value}

    @field_validator("ports")
    @classmethod
    def _port_codes(cls, value: dict[str, PortRoute]) -> dict[str, PortRoute]:
        for code in value:
            if not re.fullmatch(r"\d{4}", code):
                raise ValueError(f"port code {code!r} is not four digits")
        return value


class ImportSettings(_Section):
    status_map: dict[str, Status] = Field(default_factory=dict)
    columns: dict[str, str] = Field(default_factory=dict)


class Settings(_Section):
    database: DatabaseSettings = DatabaseSettings()
    mail: MailSettings = MailSettings()
    schedule: ScheduleSettings = ScheduleSettings()
    alerts: AlertSettings = AlertSettings()
    routing: RoutingSettings = RoutingSettings()
    cear: CearSettings = CearSettings()
    import_: ImportSettings = Field(ImportSettings(), alias="import")

    def with_database(self, url: str) -> Settings:
        """These settings on another database URL, checked as the file's is (ValidationError)."""
        database = DatabaseSettings.model_validate({**self.database.model_dump(), "url": url})
        return self.model_copy(update={"database": database})


def _describe(error: ValidationError, origin: str, *, keys: bool = True) -> str:
    lines = []
    for problem in error.errors():
        key = ".".join(str(part) for part in problem["loc"]) or "(top level)"
        reason = problem["msg"].removeprefix("Value error, ")
        if problem["type"] == "extra_forbidden":
            reason = "unknown key"
        lines.append(f"{origin}: {key}: {reason}" if keys else f"{origin}: {reason}")
    return "\n".join(lines)


def parse_settings(data: dict[str, Any], origin: str = "config") -> Settings:
    from solwatch.store.extract import check_column_mapping

    try:
        settings = Settings.model_validate(data)
    except ValidationError as error:
        raise ConfigError(_describe(error, origin)) from None
    problem = check_column_mapping(settings.import_.columns)
    if problem:
        raise ConfigError(f"{origin}: import.columns: {problem}")
    return settings


def load_settings(path: Path | None, environ: dict[str, str] | None = None) -> Settings:
    """Settings from `path`, else $SOLWATCH_CONFIG, else ./solwatch.toml, else the defaults.

    $SOLWATCH_DATABASE_URL overrides the configured database URL.
    """
    env = os.environ if environ is None else environ
    if path is None and env.get(CONFIG_ENV):
        path = Path(env[CONFIG_ENV])
    if path is None and Path(DEFAULT_CONFIG_FILE).is_file():
        path = Path(DEFAULT_CONFIG_FILE)
    data: dict[str, Any] = {}
    if path is not None:
        data = _read_toml(path)
    settings = parse_settings(data, str(path) if path else "built-in defaults")
    if env.get(DATABASE_ENV):
        try:
            settings = settings.with_database(env[DATABASE_ENV])
        except ValidationError as error:
            raise ConfigError(_describe(error, f"${DATABASE_ENV}", keys=False)) from None
    return settings


def _read_toml(path: Path) -> dict[str, Any]:
    """The TOML document at `path`; ConfigError naming the file for anything else."""
    try:
        with path.open("rb") as handle:
            return tomllib.load(handle)
    except FileNotFoundError:
        raise ConfigError(f"{path}: no such configuration file") from None
    except IsADirectoryError:
        raise ConfigError(f"{path}: a folder, not a configuration file") from None
    except OSError as error:
        raise ConfigError(f"{path}: cannot read it: {error.strerror or error}") from None
    except UnicodeDecodeError as error:
        raise ConfigError(
            f"{path}: not UTF-8 text ({error.reason} at byte {error.start})"
        ) from None
    except tomllib.TOMLDecodeError as error:
        raise ConfigError(f"{path}: not valid TOML: {error}") from None
