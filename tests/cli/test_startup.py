"""Quick commands stay quick: they import only what they use (bench/startup.py times them)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import Cli

SMALL = Path(__file__).parent.parent / "data" / "small"
HEAVY = (
    "sqlalchemy",
    "sqlmodel",
    "alembic",
    "jinja2",
    "openpyxl",
    "aiosmtplib",
    "apscheduler",
    "psycopg",
)
PROBE = (
    "import sys\n"
    "from solwatch.cli import main\n"
    "try:\n"
    "    main(sys.argv[1:], prog_name='solwatch')\n"
    "except SystemExit as stop:\n"
    "    assert stop.code in (0, None), stop.code\n"
    "print(','.join(sorted(name.split('.')[0] for name in sys.modules)))\n"
)


def imported(*args: str, cwd: Path) -> set[str]:
    """The top-level modules a fresh interpreter has loaded after running the command."""
    result = subprocess.run(
        [sys.executable, "-c", PROBE, *args],
        capture_output=True,
        text=True,
        cwd=cwd,
        check=True,
    )
    return set(result.stdout.strip().splitlines()[-1].split(","))


@pytest.mark.parametrize(
    "args",
    [
        pytest.param(("--help",), id="help"),
        pytest.param(("--version",), id="version"),
        pytest.param(("show", "--help"), id="show-help"),
        pytest.param(("run-daily", "--help"), id="run-daily-help"),
    ],
)
def test_help_loads_no_heavy_library(args: tuple[str, ...], tmp_path: Path) -> None:
    """Help and the version need neither the store, nor mail, nor rich, nor pydantic."""
    assert imported(*args, cwd=tmp_path) & {*HEAVY, "rich", "pydantic", "holidays"} == set()


def test_show_loads_the_store_but_not_mail_or_spreadsheets(cli: Cli, tmp_path: Path) -> None:
    """`show` reads the store; templates, workbooks, SMTP, the scheduler, alembic and rich
    stay unloaded."""
    cli("import", str(SMALL), "--as-of", "2026-11-24")
    loaded = imported(
        "--config", str(cli.config), "show", "C-5", "--as-of", "2026-11-24", cwd=tmp_path
    )
    assert {"sqlalchemy", "sqlmodel"} <= loaded
    assert loaded & {"alembic", "jinja2", "openpyxl", "aiosmtplib", "apscheduler", "rich"} == set()


def test_status_loads_the_store_but_not_the_jobs(cli: Cli, tmp_path: Path) -> None:
    """`status` reads the ledger and the schedule; templates, workbooks and SMTP stay unloaded."""
    loaded = imported("--config", str(cli.config), "status", "--format", "json", cwd=tmp_path)
    assert {"sqlalchemy", "apscheduler"} <= loaded
    assert loaded & {"alembic", "jinja2", "openpyxl", "aiosmtplib", "icalendar"} == set()
