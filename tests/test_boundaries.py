"""The layers stay apart: the core is pure, and no package imports one above it."""

from __future__ import annotations

import ast
import sys
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parent.parent / "solwatch"
CORE = sorted(path.stem for path in (PACKAGE / "core").glob("*.py") if path.stem != "__init__")
# Pure outside the core: values in, values (or text, or bytes) out; `extract` reads only the
# file it is given.
PURE = (
    *(f"core/{name}" for name in CORE),
    "store/extract",
    "reports/rows",
    "reports/alert_codes",
    "reports/stats",
    "reports/cear",
    "reports/calendar_export",
    "notify/digests",
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
    "openpyxl",
    "psycopg",
)
# Calendar data and arithmetic: the only libraries the core uses besides the standard library.
CORE_LIBRARIES = frozenset({"holidays", "dateutil"})
# Standard modules that reach files, processes, the network or the time zone database.
IO_MODULES = frozenset(
    {
        "asyncio",
        "csv",
        "email",
        "glob",
        "http",
        "io",
        "os",
        "pathlib",
        "shutil",
        "signal",
        "smtplib",
        "socket",
        "sqlite3",
        "subprocess",
        "tempfile",
        "urllib",
        "zoneinfo",
    }
)
# What each layer may import from solwatch (besides itself): lower layers only.
LAYERS = {
    "core": frozenset(),
    "store": frozenset({"core"}),
    "reports": frozenset({"core", "store"}),
    "config": frozenset({"core", "store"}),
    "notify": frozenset({"core", "store", "reports", "config"}),
    "demo": frozenset({"core", "store", "reports", "config", "notify"}),
    "cli": frozenset({"core", "store", "reports", "config", "notify", "demo"}),
}
# Alembic's environment registers every table, the ledger's included, on the metadata.
UNLAYERED = frozenset({"store/migrations/env"})
MODULES = sorted(
    path.relative_to(PACKAGE).with_suffix("").as_posix()
    for path in PACKAGE.rglob("*.py")
    if "versions" not in path.parts and path != PACKAGE / "__init__.py"
)


def _tree(module: str) -> ast.Module:
    return ast.parse((PACKAGE / f"{module}.py").read_text())


def _imports(module: str) -> set[str]:
    tree = _tree(module)
    imported = {
        alias.name
        for node in ast.walk(tree)
        if isinstance(node, ast.Import)
        for alias in node.names
    }
    imported |= {node.module or "" for node in ast.walk(tree) if isinstance(node, ast.ImportFrom)}
    return imported


def _layer(module: str) -> str:
    return module.split("/")[0]


@pytest.mark.parametrize("module", PURE)
def test_core_modules_stay_pure(module: str) -> None:
    """Rules, alerts and reports can be tested and reused without a database or a CLI."""
    pure = {"solwatch." + name.replace("/", ".") for name in PURE}
    leaks = {
        name
        for name in _imports(module)
        if any(name == shell or name.startswith(shell + ".") for shell in SHELL)
        or (name.startswith("solwatch.") and name not in pure)
    }
    assert not leaks


@pytest.mark.parametrize("module", CORE)
def test_the_core_imports_only_the_core_and_the_standard_library(module: str) -> None:
    """A core module imports other core modules, pure standard modules and calendar data."""
    outside = {
        name
        for name in _imports(f"core/{module}")
        if not name.startswith("solwatch.core.") and name != "__future__"
        if name.split(".")[0] not in CORE_LIBRARIES
        if name.split(".")[0] not in sys.stdlib_module_names or name.split(".")[0] in IO_MODULES
    }
    assert not outside


@pytest.mark.parametrize("module", CORE)
def test_the_core_reads_no_clock_and_no_file(module: str) -> None:
    """`today` is always passed in, and nothing is opened: no now(), today() or open()."""
    calls = {
        node.func.attr if isinstance(node.func, ast.Attribute) else node.func.id
        for node in ast.walk(_tree(f"core/{module}"))
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute | ast.Name)
    }
    assert not calls & {"now", "today", "utcnow", "time", "open", "read_text", "read_bytes"}


@pytest.mark.parametrize("module", sorted(set(MODULES) - UNLAYERED))
def test_no_module_imports_a_higher_layer(module: str) -> None:
    """core < store < reports < notify < cli (config and demo in between): imports go down."""
    allowed = LAYERS[_layer(module)] | {_layer(module)}
    found = {name.split(".")[1] for name in _imports(module) if name.startswith("solwatch.")}
    assert found <= allowed
