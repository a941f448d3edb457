"""The code stays formatted, lint-clean and type-checked (strict), as pyproject says."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


@pytest.mark.parametrize(
    "command",
    [
        pytest.param(["ruff", "check", "solwatch", "tests", "bench"], id="ruff-check"),
        pytest.param(["ruff", "format", "--check", "solwatch", "tests", "bench"], id="ruff-format"),
        pytest.param(["mypy"], id="mypy-strict"),
    ],
)
def test_the_code_passes_its_checks(command: list[str]) -> None:
    """ruff and mypy report nothing."""
    result = subprocess.run(
        [sys.executable, "-m", *command], cwd=ROOT, capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, result.stdout + result.stderr
