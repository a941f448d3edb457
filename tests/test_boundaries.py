"""The functional core imports nothing from the shell's frameworks."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parent.parent / "solwatch"
CORE = (
    "core/dates",
    "core/facts",
    "core/steps",
    "core/tolling",
    "core/waivers",
    "core/limitations",
    "core/alerts",
    "core/explain",
    "reports/rows",
    "reports/stats",
    "core/centers",
    "core/assessment",
    "core/money",
    "store/extract",
)
SHELL = (
    "sqlmodel",
    "sqlalchemy",
    "jinja2",
    "aiosmtplib",
    "apscheduler",
    "click",
    "rich",
    "alembic",
    "solwatch.store",
    "solwatch.cli",
    "solwatch.config",
    "solwatch.store.importer",
)


@pytest.mark.parametrize("module", CORE)
def test_core_modules_stay_pure(module: str) -> None:
    """Rules, alerts and reports can be tested and reused without a database or a CLI."""
    tree = ast.parse((PACKAGE / f"{module}.py").read_text())
    imported = {
        alias.name
        for node in ast.walk(tree)
        if isinstance(node, ast.Import)
        for alias in node.names
    }
    imported |= {node.module or "" for node in ast.walk(tree) if isinstance(node, ast.ImportFrom)}
    leaks = {
        name
        for name in imported
        for shell in SHELL
        if name == shell or name.startswith(shell + ".")
    }
    assert not leaks
