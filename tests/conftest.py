"""Shared fixtures: real SQLite files in a temporary folder and the CLI's entry point."""

from __future__ import annotations

import os
from datetime import date
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from solwatch.cli import main

AS_OF = date(2026, 11, 24)


@pytest.fixture(autouse=True)
def _isolated(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Every test runs in its own folder, with no ambient configuration."""
    monkeypatch.chdir(tmp_path)
    for name in ("SOLWATCH_CONFIG", "SOLWATCH_DATABASE_URL"):
        monkeypatch.delenv(name, raising=False)


class Cli:
    """Runs `solwatch` commands against one database file."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.config = folder / "solwatch.toml"
        self.config.write_text(
            f'[database]\nurl = "sqlite:///{folder / "cases.db"}"\n'
            '[routing.ports."2704"]\noffice = "Los Angeles FP&F"\n'
            'to = ["fpf-la@example.gov"]\n'
        )

    def __call__(self, *args: str, code: int = 0) -> Result:
        result = CliRunner().invoke(
            main, ["--config", str(self.config), *args], catch_exceptions=False
        )
        assert result.exit_code == code, (result.output, result.stderr)
        return result


@pytest.fixture
def cli(tmp_path: Path) -> Cli:
    runner = Cli(tmp_path)
    runner("init")
    return runner


def write(path: Path, text: str) -> Path:
    """Write a CSV fixture, dedenting it and dropping the leading newline."""
    import textwrap

    path.write_text(textwrap.dedent(text).lstrip("\n"), encoding="utf-8")
    return path


if os.environ.get("CI"):
    from hypothesis import settings

    settings.register_profile("ci", deadline=None)
    settings.load_profile("ci")
