"""The last resort: an exception no command expected becomes one line naming what failed, with
a hint to rerun with --debug (which shows the traceback), exit 1, and never a secret."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tests.conftest import Cli

SECRET = "hunter2-in-the-environment"


class Boom(RuntimeError):
    pass


@pytest.fixture
def broken(cli: Cli, monkeypatch: pytest.MonkeyPatch) -> Cli:
    """A store whose at-risk query fails in a way no command handles, saying the SMTP
    password (as a driver's message might)."""
    cli.config.write_text(
        cli.config.read_text() + '[mail.smtp]\npassword_env = "SOLWATCH_TEST_PASSWORD"\n'
    )
    monkeypatch.setenv("SOLWATCH_TEST_PASSWORD", SECRET)

    def fail(*args: Any, **kwargs: Any) -> Any:
        raise Boom(f"lost the connection (login {SECRET} refused)\nsecond line")

    monkeypatch.setattr("solwatch.store.assessments.iter_at_risk", fail)
    return cli


def test_an_unexpected_failure_is_one_line_with_a_hint(broken: Cli) -> None:
    """What failed, the exception's first line, and how to see more; exit 1."""
    result = broken("at-risk", code=1)
    assert result.stderr.splitlines() == [
        "solwatch: at-risk failed unexpectedly (Boom: lost the connection (login *** "
        "refused)); rerun with --debug for the traceback"
    ]
    assert SECRET not in result.output + result.stderr


def test_debug_shows_the_traceback_without_the_secret(broken: Cli) -> None:
    """`--debug` prints the traceback instead, secrets masked; exit 1."""
    result = broken("--debug", "at-risk", code=1)
    assert result.stderr.startswith("Traceback (most recent call last):")
    assert "tests.faults.test_guard.Boom: lost the connection (login *** refused)" in (
        result.stderr
    )
    assert SECRET not in result.output + result.stderr


def test_bad_usage_is_not_caught_by_the_guard(cli: Cli, tmp_path: Path) -> None:
    """Errors a command reports itself keep their message and exit code."""
    result = cli("show", "no-such-case", code=2)
    assert result.stderr.splitlines() == ["solwatch: no case 'no-such-case'"]
