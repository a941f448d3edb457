"""A failing machine and a careless setup: read-only and full disks (real tmpfs mounts), a full
standard output (/dev/full), unreadable configuration, unusable database URLs and extreme
option values. Each ends in one line naming what is wrong, never a traceback or a secret."""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
from collections.abc import Iterator
from datetime import date
from pathlib import Path

import pytest

from solwatch.demo import write_sample
from tests.conftest import Cli

SMALL = Path(__file__).parent.parent / "data" / "small"
AS_OF = ("--as-of", "2026-11-24")
SOLWATCH = Path(sys.executable).parent / "solwatch"


def solwatch(
    *args: str,
    env: dict[str, str] | None = None,
    stdout: int | None = subprocess.PIPE,
    **kw: object,
) -> subprocess.CompletedProcess[str]:
    """The installed command, as a user runs it."""
    return subprocess.run(
        [str(SOLWATCH), *args],
        stdout=stdout,
        stderr=subprocess.PIPE,
        text=True,
        check=False,
        env={**os.environ, **(env or {})},
        timeout=120,
        **kw,  # type: ignore[arg-type]
    )


@pytest.fixture
def tmpfs(tmp_path: Path) -> Iterator[Path]:
    """A real 2 MiB tmpfs mounted in the test's folder (root only)."""
    mount = tmp_path / "disk"
    mount.mkdir()
    done = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=2m", "tmpfs", str(mount)],
        capture_output=True,
        check=False,
    )
    if done.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {done.stderr.decode().strip()}")
    yield mount
    subprocess.run(["umount", "-l", str(mount)], check=True)


def _store_on(folder: Path, tmp_path: Path, extra: str = "") -> Path:
    """A configuration for a store in `folder`, filled by separate processes (so that no file
    of it stays open here)."""
    config = tmp_path / "solwatch.toml"
    config.write_text(f'[database]\nurl = "sqlite:///{folder / "cases.db"}"\n{extra}')
    for command in (("init",), ("import", str(SMALL), *AS_OF)):
        assert solwatch("--config", str(config), *command).returncode == 0
    return config


def _fill(folder: Path, leave: int) -> None:
    """Fill the file system holding `folder` until `leave` bytes are free."""
    stats = os.statvfs(folder)
    free = stats.f_bavail * stats.f_frsize
    (folder / "filler").write_bytes(b"\0" * max(free - leave, 0))


@pytest.mark.integration
def test_a_store_on_a_read_only_file_system_is_one_line(tmpfs: Path, tmp_path: Path) -> None:
    """An import into a store whose disk is read-only says so in one line, exit 2."""
    config = _store_on(tmpfs, tmp_path)
    subprocess.run(["mount", "-o", "remount,ro", str(tmpfs)], check=True)
    result = solwatch("--config", str(config), "import", str(SMALL), *AS_OF)
    assert result.returncode == 2
    assert result.stderr.splitlines() == [
        f"solwatch: cannot open the SQLite database {tmpfs / 'cases.db'}: the store's folder "
        f"{tmpfs} is on a read-only file system (unable to open database file)"
    ]


@pytest.mark.integration
def test_a_full_disk_under_the_store_is_one_line_and_keeps_the_store(
    tmpfs: Path, tmp_path: Path
) -> None:
    """An import that fills the store's disk stops in one line, exit 2, and the store keeps
    exactly what it held, intact."""
    config = _store_on(tmpfs, tmp_path)
    write_sample(tmp_path / "sample", today=date(2026, 11, 24), count=3000)
    _fill(tmpfs, 400 * 1024)
    result = solwatch("--config", str(config), "import", str(tmp_path / "sample"), *AS_OF)
    assert result.returncode == 2
    assert result.stderr.splitlines() == [
        f"solwatch: cannot use the SQLite database {tmpfs / 'cases.db'}: the disk holding "
        f"the store is full (database or disk is full)"
    ]
    (tmpfs / "filler").unlink()
    with sqlite3.connect(tmpfs / "cases.db") as connection:
        assert connection.execute("pragma integrity_check").fetchall() == [("ok",)]
        assert connection.execute("select count(*) from cases").fetchall() == [(5,)]


@pytest.mark.integration
def test_a_full_outbox_fails_the_notices_not_the_job(tmpfs: Path, tmp_path: Path) -> None:
    """A digest that cannot be written to a full outbox is a failed notice with its reason;
    the run stops there, leaves the others pending for the next attempt and exits 3; no
    traceback, no notice left `sending`."""
    config = _store_on(tmp_path, tmp_path, f'[mail]\noutbox_dir = "{tmpfs / "outbox"}"\n')
    (tmpfs / "outbox").mkdir()
    _fill(tmpfs, 0)
    result = solwatch("--config", str(config), "run-daily", *AS_OF)
    assert result.returncode == 3
    assert "Traceback" not in result.stderr
    failures = [line for line in result.stdout.splitlines() if line.startswith("  failed: ")]
    assert failures
    assert all(
        f"cannot write to the outbox {tmpfs / 'outbox'}: No space left on device" in line
        for line in failures
    )
    with sqlite3.connect(tmp_path / "cases.db") as connection:
        states = {state for (state,) in connection.execute("select state from notices")}
    # The first failure stops the run (a full outbox fails every message alike): the rest wait,
    # pending, for the next attempt, and the summary says so.
    assert "failed" in states
    assert states <= {"failed", "pending"}
    assert "stopped sending after a transport failure" in result.stdout


@pytest.mark.integration
@pytest.mark.parametrize(
    "command",
    [
        pytest.param(("export", "cases", *AS_OF), id="export-cases"),
        pytest.param(("at-risk", *AS_OF, "--format", "json"), id="at-risk-json"),
        pytest.param(("show", "C-1", *AS_OF), id="show"),
    ],
)
def test_a_full_standard_output_is_one_line(cli: Cli, command: tuple[str, ...]) -> None:
    """Output to /dev/full is one line on standard error, exit 2, not "Exception ignored"."""
    cli("import", str(SMALL), *AS_OF)
    with open("/dev/full", "w") as full:
        result = solwatch("--config", str(cli.config), *command, stdout=full)  # type: ignore[arg-type]
    assert result.returncode == 2
    assert result.stderr.splitlines() == [
        "solwatch: cannot write standard output: No space left on device"
    ]


@pytest.mark.integration
def test_a_closed_pipe_ends_quietly(cli: Cli, tmp_path: Path) -> None:
    """`solwatch export cases | head -c 10` on more cases than a pipe holds ends without a
    word on standard error: the guard leaves a closed pipe to click, which ends quietly."""
    write_sample(tmp_path / "sample", today=date(2026, 11, 24), count=2000)
    cli("import", str(tmp_path / "sample"), *AS_OF)
    result = subprocess.run(
        f"'{SOLWATCH}' --config '{cli.config}' export cases --as-of 2026-11-24 | head -c 10",
        shell=True,
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.stdout == "case_numbe"
    assert result.stderr == ""


def test_a_config_file_that_is_not_utf8_is_one_line(tmp_path: Path) -> None:
    """A Latin-1 configuration file is named, with why, exit 2."""
    config = tmp_path / "latin1.toml"
    config.write_bytes('[routing]\nfallback = ["bücher@example.gov"]\n'.encode("latin-1"))
    result = Cli(tmp_path)("--config", str(config), "at-risk", code=2)
    assert result.stderr.splitlines() == [
        f"solwatch: {config}: not UTF-8 text (invalid start byte at byte 24)"
    ]


def test_solwatch_config_naming_a_folder_is_one_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """$SOLWATCH_CONFIG pointing at a folder says so, exit 2."""
    monkeypatch.setenv("SOLWATCH_CONFIG", str(tmp_path))
    from click.testing import CliRunner

    from solwatch.cli import main

    result = CliRunner().invoke(main, ["at-risk"], catch_exceptions=False)
    assert result.exit_code == 2
    assert result.stderr.splitlines() == [
        f"solwatch: {tmp_path}: a folder, not a configuration file"
    ]


SECRET = "s3cr3t-Hunter2"
URLS = [
    pytest.param(
        f"sqlite:/x.db?password={SECRET}:",
        "not a database URL (expected e.g. sqlite:///solwatch.db)",
        id="unparsable",
    ),
    pytest.param(
        "nosuchdb://u:" + SECRET + "@h/db",
        "unknown kind of database 'nosuchdb'",
        id="unknown-dialect",
    ),
    pytest.param(
        f"mysql+mysqldb://u:{SECRET}@localhost/db?ssl_key={SECRET}",
        "the mysql+mysqldb driver (MySQLdb) is not installed",
        id="missing-driver",
    ),
]


@pytest.mark.integration
@pytest.mark.parametrize(("url", "message"), URLS)
def test_an_unusable_database_url_is_one_line_without_its_secret(
    tmp_path: Path, url: str, message: str
) -> None:
    """A URL solwatch cannot use is named by where it came from, with why; its password and
    secret query values never appear."""
    result = solwatch("init", env={"SOLWATCH_DATABASE_URL": url}, cwd=tmp_path)
    assert result.returncode == 2
    assert result.stderr.splitlines() == [f"solwatch: $SOLWATCH_DATABASE_URL: {message}"]
    assert SECRET not in result.stdout + result.stderr


@pytest.mark.integration
def test_a_secret_in_a_query_string_is_never_printed(tmp_path: Path) -> None:
    """A store URL with a secret in its query string: neither `init`'s report nor a failure
    to open the store prints it."""
    good = f"sqlite:///{tmp_path / 'a.db'}?mode=rwc&uri=true&token={SECRET}"
    bad = f"sqlite:///{tmp_path / 'missing' / 'a.db'}?uri=true&sslpassword={SECRET}"
    ready = solwatch("init", env={"SOLWATCH_DATABASE_URL": good}, cwd=tmp_path)
    failed = solwatch("at-risk", env={"SOLWATCH_DATABASE_URL": bad}, cwd=tmp_path)
    assert ready.returncode == 0, ready.stderr
    assert "token=***" in ready.stdout
    assert failed.returncode == 2
    assert f"cannot open the SQLite database {tmp_path / 'missing' / 'a.db'}:" in failed.stderr
    for result in (ready, failed):
        assert SECRET not in result.stdout + result.stderr
        assert "Traceback" not in result.stderr


EXTREMES = [
    pytest.param(
        ("at-risk", "--within", "3000000"),
        "'--within': 3000000 is not in the range 0<=x<=36500",
        id="within",
    ),
    pytest.param(
        ("export", "ics", "--within", "3000000"),
        "'--within': 3000000 is not in the range",
        id="ics-within",
    ),
    pytest.param(
        ("at-risk", "--as-of", "9999-12-31"),
        "--as-of: 9999-12-31 is not a day from 1950-01-01 to 2199-12-31",
        id="at-risk-as-of",
    ),
    pytest.param(
        ("show", "C-1", "--as-of", "9999-12-31"),
        "--as-of: 9999-12-31 is not a day",
        id="show-as-of",
    ),
    pytest.param(
        ("run-daily", "--as-of", "9999-12-31"),
        "--as-of: 9999-12-31 is not a day",
        id="run-daily-as-of",
    ),
    pytest.param(
        ("run-monthly", "--month", "9999-12"),
        "--month: 9999-12 has not started yet",
        id="run-monthly-month",
    ),
    pytest.param(
        ("run-monthly", "--month", "9999-12", "--as-of", "9999-12-31"),
        "--as-of: 9999-12-31 is not a day",
        id="run-monthly-as-of",
    ),
    pytest.param(
        ("unack", "99999999999999999999999"),
        "'ACK_ID': 99999999999999999999999 is not in the range",
        id="unack",
    ),
]


@pytest.mark.parametrize(("command", "message"), EXTREMES)
def test_extreme_option_values_are_bad_usage(
    cli: Cli, command: tuple[str, ...], message: str
) -> None:
    """Option values beyond any sensible range are refused with exit 2, naming the option,
    before any date arithmetic overflows."""
    cli("import", str(SMALL), *AS_OF)
    result = cli(*command, code=2)
    assert message in result.stderr


def test_a_far_month_still_gets_its_workbooks(cli: Cli, tmp_path: Path) -> None:
    """The latest --as-of allowed runs the monthly package: the workbooks' zip dates stop at
    2107, the last day a zip entry can carry."""
    cli("import", str(SMALL), *AS_OF)
    result = cli("run-monthly", "--month", "2199-12", "--as-of", "2199-12-31")
    assert "failed: 0" in result.output
    assert list((tmp_path / "cear" / "2199-12").glob("*.xlsx"))
